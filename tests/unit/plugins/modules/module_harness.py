# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""What the module unit tests share: AnsibleModule's exit and fail turned into exceptions carrying the result, and a
paginator over a fake client's answer. Each test file keeps its own fake AWS (it is what the test is about)."""


class AnsibleExitJson(Exception):
    def __init__(self, kwargs):
        super(AnsibleExitJson, self).__init__(kwargs)
        self.result = kwargs


class AnsibleFailJson(Exception):
    def __init__(self, kwargs):
        super(AnsibleFailJson, self).__init__(kwargs.get("msg"))
        self.result = kwargs


def exit_json(self, **kwargs):  # pylint: disable=unused-argument
    raise AnsibleExitJson(kwargs)


def fail_json(self, msg, **kwargs):  # pylint: disable=unused-argument
    kwargs.update(msg=msg, failed=True)
    raise AnsibleFailJson(kwargs)
