# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cognito_user_pool against an in-memory Cognito that behaves like AWS where it matters (update calls reset what
they are not sent; MFA cannot be switched on at creation without SMS; a pool with a domain cannot be deleted):
create, no-op re-run, client/group/domain/pool/tag/MFA updates, absent, check mode, diff, and the errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import itertools
import json
from unittest import mock

import botocore.session
import pytest
from botocore.exceptions import ClientError

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.modules import cognito_user_pool as M
from module_harness import AnsibleExitJson, AnsibleFailJson, exit_json, fail_json

REGION = "us-east-1"
ACCOUNT = "123456789012"
SERVICE_MODEL = botocore.session.get_session().get_service_model("cognito-idp")
HUB = "https://hub.example.org/hub/oauth_callback"
ARGS = {"name": "dandi-hub", "domain_prefix": "dandi-123456789012", "callback_urls": [HUB],
        "logout_urls": ["https://hub.example.org/hub/logout"],
        "groups": [{"name": "neuro", "description": "Neuroscience", "precedence": 10}, {"name": "astro"}],
        "tags": {"hubops:deployment": "dandi"}, "region": REGION, "access_key": "testing", "secret_key": "testing"}
READ_PREFIXES = ("describe_", "list_", "get_")


def error(code, message, operation):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


class Paginator(object):
    def __init__(self, answer):
        self.answer = answer

    def paginate(self, **kwargs):
        self.kwargs = kwargs
        return self

    def build_full_result(self):
        return self.answer(**self.kwargs)


class FakeCognito(object):
    """User pools keyed by id. Every call is recorded as (method, kwargs); update calls store exactly what they are
    sent (AWS resets the rest), creation-only settings excepted."""

    def __init__(self):
        self.meta = mock.Mock(service_model=SERVICE_MODEL)
        self.pools = {}
        self.domains = {}
        self.calls = []
        self.ids = itertools.count(1)

    # -- bookkeeping --------------------------------------------------------------------------------------------------

    def record(self, method, kwargs):
        self.calls.append((method, copy.deepcopy(kwargs)))

    def writes(self):
        return [c for c in self.calls if not c[0].startswith(READ_PREFIXES)]

    def pool(self, pool_id):
        if pool_id not in self.pools:
            raise error("ResourceNotFoundException", "User pool %s does not exist." % pool_id, "DescribeUserPool")
        return self.pools[pool_id]

    def only_pool(self):
        assert len(self.pools) == 1, sorted(self.pools)
        return list(self.pools.values())[0]

    def get_paginator(self, operation):
        return Paginator(getattr(self, "_page_" + operation))

    def _page_list_user_pools(self, MaxResults):
        assert 1 <= MaxResults <= 60
        self.record("list_user_pools", {})
        return {"UserPools": [{"Id": p["settings"]["Id"], "Name": p["settings"]["Name"]} for p in self.pools.values()]}

    def _page_list_user_pool_clients(self, UserPoolId, MaxResults):
        self.record("list_user_pool_clients", {"UserPoolId": UserPoolId})
        return {"UserPoolClients": [{"ClientId": c["ClientId"], "ClientName": c["ClientName"], "UserPoolId": UserPoolId}
                                    for c in self.pool(UserPoolId)["clients"].values()]}

    def _page_list_groups(self, UserPoolId):
        self.record("list_groups", {"UserPoolId": UserPoolId})
        return {"Groups": [dict(g, UserPoolId=UserPoolId) for g in self.pool(UserPoolId)["groups"].values()]}

    # -- pools --------------------------------------------------------------------------------------------------------

    def create_user_pool(self, **kwargs):
        self.record("create_user_pool", kwargs)
        if kwargs.get("MfaConfiguration") in ("ON", "OPTIONAL") and not kwargs.get("SmsConfiguration"):
            raise error("InvalidParameterException", "SMS configuration and Auto verification for phone_number are required "
                        "when MFA is required/optional", "CreateUserPool")
        pool_id = "%s_Pool%d" % (REGION, next(self.ids))
        settings = dict(kwargs, Id=pool_id, Name=kwargs.pop("PoolName"), MfaConfiguration="OFF",
                        Arn="arn:aws:cognito-idp:%s:%s:userpool/%s" % (REGION, ACCOUNT, pool_id))
        settings.pop("PoolName", None)
        settings["AdminCreateUserConfig"] = dict(settings.get("AdminCreateUserConfig") or {}, UnusedAccountValidityDays=7)
        settings["Policies"]["PasswordPolicy"].setdefault("TemporaryPasswordValidityDays", 7)
        self.pools[pool_id] = {"settings": settings, "mfa": {"MfaConfiguration": "OFF"}, "clients": {}, "groups": {}}
        return {"UserPool": copy.deepcopy(settings)}

    def describe_user_pool(self, UserPoolId):
        self.record("describe_user_pool", {"UserPoolId": UserPoolId})
        pool = self.pool(UserPoolId)
        settings = copy.deepcopy(pool["settings"])
        settings["MfaConfiguration"] = pool["mfa"]["MfaConfiguration"]
        domain = [d for d, owner in self.domains.items() if owner == UserPoolId]
        if domain:
            settings["Domain"] = domain[0]
        return {"UserPool": settings}

    def update_user_pool(self, **kwargs):
        self.record("update_user_pool", kwargs)
        pool = self.pool(kwargs["UserPoolId"])
        kept = dict((k, pool["settings"][k]) for k in ("Id", "Name", "Arn", "UsernameConfiguration") if k in pool["settings"])
        if kwargs.get("MfaConfiguration") in ("ON", "OPTIONAL") and not pool["mfa"].get("SoftwareTokenMfaConfiguration"):
            raise error("InvalidParameterException", "SMS configuration required", "UpdateUserPool")
        settings = dict((k, v) for k, v in kwargs.items() if k != "UserPoolId")
        pool["mfa"]["MfaConfiguration"] = settings.pop("MfaConfiguration", "OFF")
        settings.update(kept)
        pool["settings"] = settings

    def get_user_pool_mfa_config(self, UserPoolId):
        self.record("get_user_pool_mfa_config", {"UserPoolId": UserPoolId})
        return copy.deepcopy(self.pool(UserPoolId)["mfa"])

    def set_user_pool_mfa_config(self, **kwargs):
        self.record("set_user_pool_mfa_config", kwargs)
        pool = self.pool(kwargs.pop("UserPoolId"))
        pool["mfa"] = kwargs

    def tag_resource(self, ResourceArn, Tags):
        self.record("tag_resource", {"ResourceArn": ResourceArn, "Tags": Tags})
        pool = [p for p in self.pools.values() if p["settings"]["Arn"] == ResourceArn][0]
        pool["settings"]["UserPoolTags"] = dict(pool["settings"].get("UserPoolTags") or {}, **Tags)

    def untag_resource(self, ResourceArn, TagKeys):
        self.record("untag_resource", {"ResourceArn": ResourceArn, "TagKeys": TagKeys})
        pool = [p for p in self.pools.values() if p["settings"]["Arn"] == ResourceArn][0]
        pool["settings"]["UserPoolTags"] = dict((k, v) for k, v in pool["settings"].get("UserPoolTags", {}).items() if k not in TagKeys)

    def delete_user_pool(self, UserPoolId):
        self.record("delete_user_pool", {"UserPoolId": UserPoolId})
        if UserPoolId in self.domains.values():
            raise error("InvalidParameterException", "User pool cannot be deleted. It has a domain configured that should be "
                        "deleted first.", "DeleteUserPool")
        if self.pool(UserPoolId)["settings"].get("DeletionProtection") == "ACTIVE":
            raise error("InvalidParameterException", "deletion protection is activated", "DeleteUserPool")
        del self.pools[UserPoolId]

    # -- domains ------------------------------------------------------------------------------------------------------

    def describe_user_pool_domain(self, Domain):
        self.record("describe_user_pool_domain", {"Domain": Domain})
        if Domain not in self.domains:
            return {"DomainDescription": {}}
        return {"DomainDescription": {"Domain": Domain, "UserPoolId": self.domains[Domain], "Status": "ACTIVE"}}

    def create_user_pool_domain(self, Domain, UserPoolId):
        self.record("create_user_pool_domain", {"Domain": Domain, "UserPoolId": UserPoolId})
        self.pool(UserPoolId)
        if Domain in self.domains or UserPoolId in self.domains.values():
            raise error("InvalidParameterException", "Domain already associated with another user pool.", "CreateUserPoolDomain")
        self.domains[Domain] = UserPoolId
        return {"CloudFrontDomain": "d111111abcdef8.cloudfront.net"}

    def delete_user_pool_domain(self, Domain, UserPoolId):
        self.record("delete_user_pool_domain", {"Domain": Domain, "UserPoolId": UserPoolId})
        assert self.domains.pop(Domain) == UserPoolId

    # -- clients ------------------------------------------------------------------------------------------------------

    def create_user_pool_client(self, **kwargs):
        self.record("create_user_pool_client", kwargs)
        pool = self.pool(kwargs.pop("UserPoolId"))
        client_id = "client%d" % next(self.ids)
        client = dict(kwargs, ClientId=client_id, UserPoolId=pool["settings"]["Id"], RefreshTokenValidity=30)
        if client.pop("GenerateSecret", False):
            client["ClientSecret"] = "s3cr3t-%s" % client_id
        if not client.get("LogoutURLs"):
            client.pop("LogoutURLs", None)  # AWS leaves empty lists out
        pool["clients"][client_id] = client
        return {"UserPoolClient": copy.deepcopy(client)}

    def describe_user_pool_client(self, UserPoolId, ClientId):
        self.record("describe_user_pool_client", {"UserPoolId": UserPoolId, "ClientId": ClientId})
        return {"UserPoolClient": copy.deepcopy(self.pool(UserPoolId)["clients"][ClientId])}

    def update_user_pool_client(self, **kwargs):
        self.record("update_user_pool_client", kwargs)
        pool = self.pool(kwargs["UserPoolId"])
        current = pool["clients"][kwargs["ClientId"]]
        client = dict(kwargs)
        if current.get("ClientSecret"):
            client["ClientSecret"] = current["ClientSecret"]
        if not client.get("LogoutURLs"):
            client.pop("LogoutURLs", None)
        pool["clients"][kwargs["ClientId"]] = client
        return {"UserPoolClient": copy.deepcopy(client)}

    # -- groups -------------------------------------------------------------------------------------------------------

    def create_group(self, **kwargs):
        self.record("create_group", kwargs)
        pool = self.pool(kwargs.pop("UserPoolId"))
        assert kwargs["GroupName"] not in pool["groups"]
        pool["groups"][kwargs["GroupName"]] = kwargs
        return {"Group": kwargs}

    def update_group(self, **kwargs):
        self.record("update_group", kwargs)
        pool = self.pool(kwargs.pop("UserPoolId"))
        assert kwargs["GroupName"] in pool["groups"]
        pool["groups"][kwargs["GroupName"]] = kwargs

    def delete_group(self, UserPoolId, GroupName):
        self.record("delete_group", {"UserPoolId": UserPoolId, "GroupName": GroupName})
        del self.pool(UserPoolId)["groups"][GroupName]


@pytest.fixture
def aws():
    fake = FakeCognito()
    with mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(AnsibleHubopsModule, "client", lambda self, service, **kw: fake):
        yield fake


def run(aws, check_mode=False, diff=False, **changes):
    args = copy.deepcopy(ARGS)
    args.update(changes)
    args = dict((k, v) for k, v in args.items() if v is not None)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    aws.calls = []
    with patch_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as exc:
            M.main()
    return exc.value.result


def created(aws, **changes):
    result = run(aws, **changes)
    assert not result.get("failed"), result
    return result


# --------------------------------------------------------------------------------------------------------------------
# create and re-run


def test_create_makes_pool_mfa_domain_client_groups_in_that_order(aws):
    result = created(aws)
    assert result["changed"] is True
    assert [c[0] for c in aws.writes()] == ["create_user_pool", "set_user_pool_mfa_config", "create_user_pool_domain",
                                            "create_user_pool_client", "create_group", "create_group"]
    pool_request = aws.writes()[0][1]
    assert pool_request == {
        "PoolName": "dandi-hub",
        "Policies": {"PasswordPolicy": {"MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True,
                                        "RequireNumbers": True, "RequireSymbols": True}},
        "AutoVerifiedAttributes": ["email"],
        "UsernameConfiguration": {"CaseSensitive": False},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        "DeletionProtection": "INACTIVE",
        "UserPoolTags": {"hubops:deployment": "dandi"},
    }
    pool = aws.only_pool()
    pool_id = pool["settings"]["Id"]
    assert aws.writes()[1][1] == {"UserPoolId": pool_id, "MfaConfiguration": "OPTIONAL", "SoftwareTokenMfaConfiguration": {"Enabled": True}}
    assert aws.domains == {"dandi-123456789012": pool_id}
    (client,) = pool["clients"].values()
    assert aws.writes()[3][1] == {
        "UserPoolId": pool_id, "ClientName": "jupyterhub", "GenerateSecret": True, "AllowedOAuthFlows": ["code"],
        "AllowedOAuthFlowsUserPoolClient": True, "AllowedOAuthScopes": ["openid", "email", "profile"],
        "SupportedIdentityProviders": ["COGNITO"], "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
        "PreventUserExistenceErrors": "ENABLED", "CallbackURLs": [HUB], "LogoutURLs": ["https://hub.example.org/hub/logout"],
    }
    assert [c[1] for c in aws.writes()[4:]] == [
        {"UserPoolId": pool_id, "GroupName": "neuro", "Description": "Neuroscience", "Precedence": 10},
        {"UserPoolId": pool_id, "GroupName": "astro"},
    ]
    host = "dandi-123456789012.auth.us-east-1.amazoncognito.com"
    assert result["user_pool_id"] == pool_id
    assert result["user_pool_arn"] == "arn:aws:cognito-idp:us-east-1:%s:userpool/%s" % (ACCOUNT, pool_id)
    assert result["domain"] == host
    assert result["issuer"] == "https://cognito-idp.us-east-1.amazonaws.com/" + pool_id
    assert result["authorize_url"] == "https://%s/oauth2/authorize" % host
    assert result["token_url"] == "https://%s/oauth2/token" % host
    assert result["userdata_url"] == "https://%s/oauth2/userInfo" % host
    assert result["logout_url"] == "https://%s/logout" % host
    assert result["client_id"] == client["ClientId"]
    assert result["client_secret"] == client["ClientSecret"]
    assert result["groups"] == ["neuro", "astro"]


def test_second_run_is_unchanged_and_writes_nothing(aws):
    first = created(aws)
    again = created(aws)
    assert again["changed"] is False and again["actions"] == []
    assert aws.writes() == []
    for key in ("user_pool_id", "user_pool_arn", "domain", "issuer", "client_id", "client_secret", "token_url"):
        assert again[key] == first[key]
    # the reads of a no-op run: the pool list, the pool, its MFA, the client, the groups
    assert sorted(c[0] for c in aws.calls) == ["describe_user_pool", "describe_user_pool_client", "get_user_pool_mfa_config",
                                               "list_groups", "list_user_pool_clients", "list_user_pools"]


def test_unordered_lists_from_aws_are_not_a_change(aws):
    created(aws, callback_urls=[HUB, "http://localhost:8000/hub/oauth_callback"])
    client = list(aws.only_pool()["clients"].values())[0]
    client["AllowedOAuthScopes"] = ["profile", "openid", "email"]
    client["CallbackURLs"] = list(reversed(client["CallbackURLs"]))
    again = created(aws, callback_urls=[HUB, "http://localhost:8000/hub/oauth_callback"])
    assert again["changed"] is False and aws.writes() == []


# --------------------------------------------------------------------------------------------------------------------
# updates


def test_callback_change_updates_the_client_in_place_sending_every_setting(aws):
    first = created(aws)
    pool = aws.only_pool()
    client_id = first["client_id"]
    # settings the module does not manage, set by hand: UpdateUserPoolClient would reset them if not sent back
    pool["clients"][client_id].update(AccessTokenValidity=2, TokenValidityUnits={"AccessToken": "hours"},
                                      ReadAttributes=["email"], DefaultRedirectURI=HUB)
    new = "https://hub2.example.org/hub/oauth_callback"
    result = created(aws, callback_urls=[new])
    assert result["changed"] is True
    assert result["actions"] == ["update app client jupyterhub (CallbackURLs)"]
    ((method, request),) = aws.writes()
    assert method == "update_user_pool_client"
    assert request["CallbackURLs"] == [new]
    assert request["ClientId"] == client_id and "ClientSecret" not in request and "GenerateSecret" not in request
    assert request["AccessTokenValidity"] == 2 and request["TokenValidityUnits"] == {"AccessToken": "hours"}
    assert request["ReadAttributes"] == ["email"] and request["RefreshTokenValidity"] == 30
    assert "DefaultRedirectURI" not in request  # the old default is no longer an allowed callback
    for key, value in M.CLIENT_SETTINGS.items():
        assert request[key] == value
    assert result["client_id"] == client_id and result["client_secret"] == first["client_secret"]
    assert list(pool["clients"]) == [client_id]
    assert created(aws, callback_urls=[new])["changed"] is False


def test_drifted_oauth_settings_are_put_back(aws):
    created(aws)
    client = list(aws.only_pool()["clients"].values())[0]
    client["AllowedOAuthFlows"] = ["implicit"]
    client.pop("PreventUserExistenceErrors")
    result = created(aws)
    assert result["actions"] == ["update app client jupyterhub (AllowedOAuthFlows, PreventUserExistenceErrors)"]
    assert client["ClientId"] in aws.only_pool()["clients"]
    assert aws.only_pool()["clients"][client["ClientId"]]["AllowedOAuthFlows"] == ["code"]


def test_groups_added_updated_and_pruned(aws):
    created(aws, groups=[{"name": "neuro", "description": "Neuroscience", "precedence": 10}, {"name": "astro"}, {"name": "old"}])
    pool_id = aws.only_pool()["settings"]["Id"]
    aws.only_pool()["groups"]["astro"]["RoleArn"] = "arn:aws:iam::%s:role/astro" % ACCOUNT
    result = created(aws, groups=[{"name": "neuro", "description": "Neuro", "precedence": 5},
                                  {"name": "astro", "description": "Astronomy"}, {"name": "bio"}])
    assert result["actions"] == ["update group neuro (description, precedence)", "update group astro (description)",
                                 "create group bio", "delete group old"]
    writes = dict((c[1]["GroupName"], c) for c in aws.writes())
    assert writes["neuro"] == ("update_group", {"UserPoolId": pool_id, "GroupName": "neuro", "Description": "Neuro", "Precedence": 5})
    # UpdateGroup resets what it is not sent: the role the module does not manage is sent back
    assert writes["astro"] == ("update_group", {"UserPoolId": pool_id, "GroupName": "astro", "Description": "Astronomy",
                                                "RoleArn": "arn:aws:iam::%s:role/astro" % ACCOUNT})
    assert writes["old"] == ("delete_group", {"UserPoolId": pool_id, "GroupName": "old"})
    assert writes["bio"][0] == "create_group"
    assert sorted(aws.only_pool()["groups"]) == ["astro", "bio", "neuro"]
    assert result["groups"] == ["neuro", "astro", "bio"]


def test_omitted_precedence_is_kept_and_prune_false_keeps_other_groups(aws):
    created(aws)
    aws.only_pool()["groups"]["manual"] = {"GroupName": "manual", "Description": "made by hand"}
    result = created(aws, groups=[{"name": "neuro", "description": "Neuroscience"}], prune_groups=False)
    assert result["changed"] is False and aws.writes() == []
    assert aws.only_pool()["groups"]["neuro"]["Precedence"] == 10
    result = created(aws, groups=[{"name": "neuro", "description": "Changed"}], prune_groups=False)
    assert aws.writes() == [("update_group", {"UserPoolId": aws.only_pool()["settings"]["Id"], "GroupName": "neuro",
                                              "Description": "Changed", "Precedence": 10})]


def test_removed_description_is_cleared(aws):
    created(aws)
    created(aws, groups=[{"name": "neuro", "precedence": 10}, {"name": "astro"}])
    assert aws.writes()[0][1]["Description"] == ""


def test_domain_change_deletes_the_old_domain_then_creates_the_new(aws):
    first = created(aws)
    result = created(aws, domain_prefix="dandi-hub-2")
    pool_id = first["user_pool_id"]
    assert aws.writes() == [("delete_user_pool_domain", {"Domain": "dandi-123456789012", "UserPoolId": pool_id}),
                            ("create_user_pool_domain", {"Domain": "dandi-hub-2", "UserPoolId": pool_id})]
    assert aws.domains == {"dandi-hub-2": pool_id}
    assert result["domain"] == "dandi-hub-2.auth.us-east-1.amazoncognito.com"
    assert result["authorize_url"] == "https://dandi-hub-2.auth.us-east-1.amazoncognito.com/oauth2/authorize"
    assert result["client_id"] == first["client_id"]


def test_domain_of_another_pool_fails_before_anything_is_made(aws):
    aws.domains["dandi-123456789012"] = "us-east-1_Someone"
    result = run(aws)
    assert result["failed"] is True
    assert "already the domain of user pool us-east-1_Someone" in result["msg"]
    assert aws.writes() == [] and aws.pools == {}


def test_self_signup_updates_the_pool_sending_the_current_settings_back(aws):
    created(aws)
    settings = aws.only_pool()["settings"]
    settings["LambdaConfig"] = {"PreSignUp": "arn:aws:lambda:us-east-1:%s:function:check" % ACCOUNT}
    settings["EmailVerificationMessage"] = "deprecated copy of the template"
    result = created(aws, self_signup=True)
    assert result["actions"] == ["update user pool dandi-hub (self_signup)"]
    ((method, request),) = aws.writes()
    assert method == "update_user_pool"
    assert request["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": False}  # UnusedAccountValidityDays dropped
    assert request["LambdaConfig"] == settings["LambdaConfig"]
    assert request["MfaConfiguration"] == "OPTIONAL"  # as it was: SetUserPoolMfaConfig is the call that changes it
    assert request["Policies"]["PasswordPolicy"]["TemporaryPasswordValidityDays"] == 7
    assert request["UserPoolTags"] == {"hubops:deployment": "dandi"} and request["DeletionProtection"] == "INACTIVE"
    assert "EmailVerificationMessage" not in request and "UsernameConfiguration" not in request and "Id" not in request
    assert aws.only_pool()["settings"]["UsernameConfiguration"] == {"CaseSensitive": False}
    assert created(aws, self_signup=True)["changed"] is False


def test_password_policy_and_mfa_drift_are_put_back(aws):
    created(aws)
    pool = aws.only_pool()
    pool["settings"]["Policies"]["PasswordPolicy"]["MinimumLength"] = 8
    pool["mfa"] = {"MfaConfiguration": "OFF"}
    result = created(aws)
    assert result["actions"] == ["update user pool dandi-hub (password policy)", "enable optional TOTP MFA"]
    assert [c[0] for c in aws.writes()] == ["update_user_pool", "set_user_pool_mfa_config"]
    assert aws.writes()[0][1]["MfaConfiguration"] == "OFF"
    assert pool["mfa"]["SoftwareTokenMfaConfiguration"] == {"Enabled": True} and pool["mfa"]["MfaConfiguration"] == "OPTIONAL"
    assert created(aws)["changed"] is False


def test_tags_added_changed_and_removed_and_left_alone_when_omitted(aws):
    first = created(aws)
    aws.only_pool()["settings"]["UserPoolTags"]["stray"] = "x"
    result = created(aws, tags={"hubops:deployment": "dandi", "owner": "ops"})
    arn = first["user_pool_arn"]
    assert aws.writes() == [("tag_resource", {"ResourceArn": arn, "Tags": {"owner": "ops"}}),
                            ("untag_resource", {"ResourceArn": arn, "TagKeys": ["stray"]})]
    assert result["changed"] is True
    assert created(aws, tags=None)["changed"] is False


# --------------------------------------------------------------------------------------------------------------------
# absent


def test_absent_deletes_the_domain_then_the_pool_and_then_changes_nothing(aws):
    first = created(aws)
    result = run(aws, state="absent", domain_prefix=None, callback_urls=None)
    assert result["changed"] is True and result["user_pool_id"] == first["user_pool_id"]
    assert aws.writes() == [("delete_user_pool_domain", {"Domain": "dandi-123456789012", "UserPoolId": first["user_pool_id"]}),
                            ("delete_user_pool", {"UserPoolId": first["user_pool_id"]})]
    assert aws.pools == {} and aws.domains == {}
    again = run(aws, state="absent")
    assert again["changed"] is False and again["actions"] == [] and aws.writes() == []


def test_absent_refuses_a_pool_with_deletion_protection(aws):
    created(aws)
    aws.only_pool()["settings"]["DeletionProtection"] = "ACTIVE"
    result = run(aws, state="absent")
    assert result["failed"] is True and "deletion protection ACTIVE" in result["msg"]
    assert aws.writes() == []


# --------------------------------------------------------------------------------------------------------------------
# check mode and diff


def test_check_mode_on_nothing_reports_placeholders_and_writes_nothing(aws):
    result = run(aws, check_mode=True, diff=True)
    assert result["changed"] is True
    assert aws.writes() == [] and aws.pools == {}
    assert result["actions"] == ["create user pool dandi-hub", "enable optional TOTP MFA", "create domain dandi-123456789012",
                                 "create app client jupyterhub", "create group neuro", "create group astro"]
    assert result["user_pool_id"] == M.PLACEHOLDER and result["client_id"] == M.PLACEHOLDER
    assert result["client_secret"] == M.PLACEHOLDER
    assert result["domain"] == "dandi-123456789012.auth.us-east-1.amazoncognito.com"
    assert result["diff"]["before"] == {} and result["diff"]["after"]["client"]["callback_urls"] == [HUB]


def test_check_mode_on_a_pool_reports_changes_without_making_them(aws):
    first = created(aws)
    result = run(aws, check_mode=True, diff=True, callback_urls=["https://new.example.org/cb"], domain_prefix="dandi-new",
                 groups=[{"name": "neuro", "description": "Neuroscience", "precedence": 10}])
    assert result["changed"] is True and aws.writes() == []
    assert result["actions"] == ["delete domain dandi-123456789012", "create domain dandi-new",
                                 "update app client jupyterhub (CallbackURLs)", "delete group astro"]
    assert result["client_id"] == first["client_id"]
    assert result["diff"]["before"]["domain"] == "dandi-123456789012" and result["diff"]["after"]["domain"] == "dandi-new"
    assert sorted(result["diff"]["before"]["groups"]) == ["astro", "neuro"] and list(result["diff"]["after"]["groups"]) == ["neuro"]
    assert run(aws, check_mode=True, state="absent")["changed"] is True
    assert aws.writes() == [] and len(aws.pools) == 1


def test_the_secret_is_only_in_the_result(aws):
    first = created(aws, diff=True)
    secret = first["client_secret"]
    assert secret.startswith("s3cr3t-")
    shown = dict((k, v) for k, v in first.items() if k != "client_secret")
    assert secret not in json.dumps(shown)
    changed = created(aws, diff=True, callback_urls=["https://x.example.org/cb"])
    assert secret not in json.dumps(dict((k, v) for k, v in changed.items() if k != "client_secret"))
    assert changed["diff"]["before"] != changed["diff"]["after"]
    same = created(aws, diff=True, callback_urls=["https://x.example.org/cb"])
    assert same["changed"] is False and same["diff"]["before"] == same["diff"]["after"]


# --------------------------------------------------------------------------------------------------------------------
# errors


def test_two_pools_with_the_name_fail_naming_both(aws):
    created(aws)
    aws.create_user_pool(PoolName="dandi-hub", Policies={"PasswordPolicy": {}})
    ids = sorted(aws.pools)
    result = run(aws)
    assert result["failed"] is True
    assert "2 Cognito user pools in us-east-1 are named dandi-hub" in result["msg"]
    assert all(pool_id in result["msg"] for pool_id in ids)
    assert aws.writes() == []


def test_a_client_without_secret_is_an_error_not_replaced(aws):
    first = created(aws)
    aws.only_pool()["clients"][first["client_id"]].pop("ClientSecret")
    result = run(aws)
    assert result["failed"] is True and "has no secret" in result["msg"]
    assert aws.writes() == []


@pytest.mark.parametrize("changes, message", [
    ({"domain_prefix": "Dandi_Hub"}, "domain_prefix 'Dandi_Hub': use 1-63 lower-case letters"),
    ({"domain_prefix": "my-cognito-hub"}, "contains cognito, which Cognito reserves"),
    ({"callback_urls": ["http://hub.example.org/cb"]}, "callback_urls: http://hub.example.org/cb is not allowed"),
    ({"callback_urls": []}, "callback_urls: give at least one"),
    ({"logout_urls": ["ftp://x"]}, "logout_urls: ftp://x is not allowed"),
    ({"groups": [{"name": "a"}, {"name": "a"}]}, "groups: a listed more than once."),
    ({"groups": [{"name": "a", "precedence": -1}]}, "precedence of a must be 0 or more"),
])
def test_bad_parameters_fail_before_any_call(aws, changes, message):
    result = run(aws, **changes)
    assert result["failed"] is True and message in result["msg"]
    assert aws.calls == []


def test_present_needs_the_domain_and_callbacks(aws):
    result = run(aws, domain_prefix=None)
    assert result["failed"] is True and "domain_prefix" in result["msg"] and aws.calls == []


def test_aws_errors_name_the_pool_and_what_was_done(aws):
    aws.create_group = mock.Mock(side_effect=error("LimitExceededException", "too many groups", "CreateGroup"))
    result = run(aws)
    assert result["failed"] is True
    assert result["msg"].startswith("Cannot converge the Cognito user pool dandi-hub (actions so far: create user pool dandi-hub;")
    assert "s3cr3t" not in result["msg"]


# --------------------------------------------------------------------------------------------------------------------
# pure helpers


def test_endpoints():
    assert M.endpoints("eu-west-1", "eu-west-1_X", "hub") == {
        "domain": "hub.auth.eu-west-1.amazoncognito.com",
        "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X",
        "authorize_url": "https://hub.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
        "token_url": "https://hub.auth.eu-west-1.amazoncognito.com/oauth2/token",
        "userdata_url": "https://hub.auth.eu-west-1.amazoncognito.com/oauth2/userInfo",
        "logout_url": "https://hub.auth.eu-west-1.amazoncognito.com/logout",
    }


def test_update_requests_only_carry_what_the_update_calls_accept():
    members = set(SERVICE_MODEL.operation_model("UpdateUserPool").input_shape.members)
    pool = {"Id": "p", "Name": "n", "Arn": "a", "SchemaAttributes": [], "UsernameConfiguration": {"CaseSensitive": False},
            "Policies": {"PasswordPolicy": {"MinimumLength": 8}}, "EstimatedNumberOfUsers": 3, "Domain": "d"}
    request = M.pool_update_request(pool, False, {"k": "v"}, members)
    assert set(request) <= members
    assert request["Policies"]["PasswordPolicy"] == M.PASSWORD_POLICY and request["UserPoolTags"] == {"k": "v"}
