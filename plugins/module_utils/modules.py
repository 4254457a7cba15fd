# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS module base class of the collection: amazon.aws's, with our name in the user agent and
botocore's standard retry mode (throttling and 5xx are retried with backoff on every call)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

COLLECTION_NAME = "hubops.eks"
COLLECTION_VERSION = "0.1.0"
RETRY_MAX_ATTEMPTS = 10


class AnsibleHubopsModule(AnsibleAWSModule):
    """AnsibleAWSModule that stamps hubops.eks into the user agent and retries in botocore's standard mode."""

    def __init__(self, **kwargs):
        super(AnsibleHubopsModule, self).__init__(**kwargs)
        self._hubops_retries = {"mode": "standard", "max_attempts": RETRY_MAX_ATTEMPTS}

    def client(self, service, retry_decorator=None, **extra_params):
        try:
            import botocore.config
        except ImportError:  # reported by AnsibleAWSModule already
            return super(AnsibleHubopsModule, self).client(service, retry_decorator=retry_decorator, **extra_params)
        config = botocore.config.Config(
            retries=self._hubops_retries,
            user_agent_extra="%s/%s" % (COLLECTION_NAME, COLLECTION_VERSION),
        )
        if extra_params.get("config") is not None:
            config = extra_params["config"].merge(config)
        extra_params["config"] = config
        return super(AnsibleHubopsModule, self).client(service, retry_decorator=retry_decorator, **extra_params)
