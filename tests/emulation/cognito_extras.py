# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""What moto 5.2.5's Cognito user pools lack or do differently from AWS, for hubops.eks.cognito_user_pool.
Test infrastructure only.

- TagResource, UntagResource, ListTagsForResource on user pools (moto: NotImplementedError). The tags are the pool's
  UserPoolTags, so DescribeUserPool shows them as AWS does.
- The refusals AWS makes and moto does not, so the emulator catches a module that does things in the wrong order:
  CreateUserPool with MFA ON/OPTIONAL and no SmsConfiguration; DeleteUserPool while a domain is attached or with
  deletion protection active; CreateUserPoolDomain for a prefix another pool has, or for a pool that has a domain.
- UpdateUserPool: moto rebuilds the settings from its defaults plus the request, dropping the ones that cannot be
  updated (UsernameConfiguration, UsernameAttributes, AliasAttributes); AWS keeps them. And the MFA setting that
  DescribeUserPool shows is the one SetUserPoolMfaConfig / UpdateUserPool last set (moto let a stale copy win).
"""

from __future__ import annotations

CREATION_ONLY = ("UsernameConfiguration", "UsernameAttributes", "AliasAttributes")


def install():
    from moto.core.responses import ActionResult, EmptyResult
    from moto.cognitoidp import models
    from moto.cognitoidp.exceptions import InvalidParameterException, ResourceNotFoundError
    from moto.cognitoidp.responses import CognitoIdpResponse

    backend_class = models.CognitoIdpBackend

    def _pool_by_arn(backend, arn):
        for pool in backend.user_pools.values():
            if pool.arn == arn:
                return pool
        raise ResourceNotFoundError("Resource %s does not exist." % arn)

    def _take_mfa(pool):
        # The MFA setting lives in pool.mfa_config (what GetUserPoolMfaConfig answers); a copy in the settings would
        # override it in DescribeUserPool.
        if "MfaConfiguration" in pool.extended_config:
            pool.mfa_config = pool.extended_config.pop("MfaConfiguration") or "OFF"

    # -- tagging ------------------------------------------------------------------------------------------------------

    def tag_resource(self):
        pool = _pool_by_arn(self.backend, self._get_param("ResourceArn"))
        tags = dict(pool.extended_config.get("UserPoolTags") or {})
        tags.update(self._get_param("Tags") or {})
        pool.extended_config["UserPoolTags"] = tags
        return EmptyResult()

    def untag_resource(self):
        pool = _pool_by_arn(self.backend, self._get_param("ResourceArn"))
        gone = set(self._get_param("TagKeys") or [])
        pool.extended_config["UserPoolTags"] = dict((k, v) for k, v in (pool.extended_config.get("UserPoolTags") or {}).items()
                                                    if k not in gone)
        return EmptyResult()

    def list_tags_for_resource(self):
        pool = _pool_by_arn(self.backend, self._get_param("ResourceArn"))
        return ActionResult({"Tags": dict(pool.extended_config.get("UserPoolTags") or {})})

    CognitoIdpResponse.tag_resource = tag_resource
    CognitoIdpResponse.untag_resource = untag_resource
    CognitoIdpResponse.list_tags_for_resource = list_tags_for_resource

    # -- pools --------------------------------------------------------------------------------------------------------

    original_create = backend_class.create_user_pool
    original_update = backend_class.update_user_pool
    original_delete = backend_class.delete_user_pool
    original_set_mfa = backend_class.set_user_pool_mfa_config

    def create_user_pool(self, name, extended_config):
        if (extended_config or {}).get("MfaConfiguration") in ("ON", "OPTIONAL") and not extended_config.get("SmsConfiguration"):
            raise InvalidParameterException(
                "SMS configuration and Auto verification for phone_number are required when MFA is required/optional")
        pool = original_create(self, name, extended_config)
        _take_mfa(pool)
        return pool

    def update_user_pool(self, user_pool_id, extended_config):
        pool = self.describe_user_pool(user_pool_id)
        kept = dict((k, pool.extended_config[k]) for k in CREATION_ONLY if k in pool.extended_config)
        original_update(self, user_pool_id, extended_config)
        pool.extended_config.update(kept)
        _take_mfa(pool)

    def delete_user_pool(self, user_pool_id):
        pool = self.describe_user_pool(user_pool_id)
        if pool.extended_config.get("DeletionProtection") == "ACTIVE":
            raise InvalidParameterException("The user pool cannot be deleted because deletion protection is activated. "
                                            "Deletion protection must be inactivated first.")
        if pool.domain is not None:
            raise InvalidParameterException("User pool cannot be deleted. It has a domain configured that should be deleted first.")
        return original_delete(self, user_pool_id)

    def set_user_pool_mfa_config(self, user_pool_id, sms_config, token_config, mfa_config):
        self.describe_user_pool(user_pool_id).extended_config.pop("MfaConfiguration", None)
        return original_set_mfa(self, user_pool_id, sms_config, token_config, mfa_config)

    backend_class.create_user_pool = create_user_pool
    backend_class.update_user_pool = update_user_pool
    backend_class.delete_user_pool = delete_user_pool
    backend_class.set_user_pool_mfa_config = set_user_pool_mfa_config

    # -- domains ------------------------------------------------------------------------------------------------------

    original_create_domain = backend_class.create_user_pool_domain

    def create_user_pool_domain(self, user_pool_id, domain, custom_domain_config=None):
        pool = self.describe_user_pool(user_pool_id)
        taken = self.user_pool_domains.get(domain)
        if taken is not None and taken.user_pool_id != user_pool_id:
            raise InvalidParameterException("Domain already associated with another user pool.")
        if taken is None and pool.domain is not None:
            raise InvalidParameterException("User pool %s already has a domain configured." % user_pool_id)
        return original_create_domain(self, user_pool_id, domain, custom_domain_config)

    backend_class.create_user_pool_domain = create_user_pool_domain
