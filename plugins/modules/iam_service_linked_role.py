#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: iam_service_linked_role
short_description: Make sure an AWS service's default service-linked role exists
version_added: 0.1.0
description:
  - Reads the default service-linked role of O(aws_service_name) (C(GetRole) on
    C(/aws-service-role/<service>/<role name>)) and creates it (C(CreateServiceLinkedRole)) when the account has none
    yet. A re-run changes nothing.
  - AWS makes these roles itself the first time a service needs one, but a KMS key policy can only name a role that
    exists (C(PutKeyPolicy) refuses an unknown principal with C(MalformedPolicyDocumentException)); the foundations
    role names EC2 Auto Scaling's before any Auto Scaling group exists.
  - There is no C(state=absent) on purpose. The role is account-wide, other deployments and services use it, and AWS
    refuses to delete it while any resource needs it.
  - Exists because no Ansible module creates service-linked roles.
author:
  - hubops.eks contributors (@hubops)
options:
  aws_service_name:
    description: The service principal, for example C(autoscaling.amazonaws.com).
    type: str
    required: true
  role_name:
    description: The name AWS gives the service's default service-linked role, for example C(AWSServiceRoleForAutoScaling).
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: EC2 Auto Scaling's role, named in the KMS key policy
  hubops.eks.iam_service_linked_role:
    aws_service_name: autoscaling.amazonaws.com
    role_name: AWSServiceRoleForAutoScaling
  register: autoscaling_role
"""

RETURN = r"""
arn:
  description: The role's ARN (in check mode, when it would be created, the ARN it will have is not known and this is empty).
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling
created:
  description: Whether the role was created (in check mode, would be).
  returned: always
  type: bool
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule

# What CreateServiceLinkedRole answers when the role exists ("Service role name ... has been taken in this account").
TAKEN = ("InvalidInput", "EntityAlreadyExists")


def existing_role(client, role_name):
    """The role ({Arn, Path, ...}) or None."""
    try:
        return client.get_role(RoleName=role_name)["Role"]
    except botocore.exceptions.ClientError as exc:
        if (exc.response.get("Error") or {}).get("Code") == "NoSuchEntity":
            return None
        raise


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            aws_service_name=dict(type="str", required=True),
            role_name=dict(type="str", required=True),
        ),
        supports_check_mode=True,
    )
    service, name = module.params["aws_service_name"], module.params["role_name"]
    client = module.client("iam")
    try:
        role = existing_role(client, name)
        if role is not None:
            if role.get("Path") != "/aws-service-role/%s/" % service:
                module.fail_json(msg="IAM role %s exists but is not the service-linked role of %s (its path is %s). Rename "
                                     "or delete that role, then run again." % (name, service, role.get("Path")))
            module.exit_json(changed=False, created=False, arn=role["Arn"])
        if module.check_mode:
            module.exit_json(changed=True, created=True, arn="")
        try:
            role = client.create_service_linked_role(AWSServiceName=service)["Role"]
        except botocore.exceptions.ClientError as exc:
            # made meanwhile (another run, or the service itself): AWS says the name is taken
            raced = existing_role(client, name) if (exc.response.get("Error") or {}).get("Code") in TAKEN else None
            if raced is None:
                raise
            module.exit_json(changed=False, created=False, arn=raced["Arn"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot read or create the service-linked role %s of %s (the caller needs "
                                      "iam:GetRole and iam:CreateServiceLinkedRole)" % (name, service))
    module.exit_json(changed=True, created=True, arn=role["Arn"])


if __name__ == "__main__":
    main()
