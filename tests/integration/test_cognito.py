# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""hubops.eks.cognito_user_pool run by ansible-playbook against a private emulated AWS: the hub's login is created
with the settings it needs (read back with boto3), a re-run changes nothing and writes nothing, a changed callback
updates the app client in place, a dropped group is pruned, check mode writes nothing, absent removes the domain and
the pool, and a second absent changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness

REGION = "us-east-1"
NAME = "cogtest-hub"
PREFIX = "cogtest-123456789012"
CALLBACK = "https://hub.example.org/hub/oauth_callback"


ARGS = {
    "name": NAME,
    "domain_prefix": PREFIX,
    "callback_urls": [CALLBACK],
    "logout_urls": ["https://hub.example.org/hub/logout"],
    "groups": [{"name": "neuro", "description": "Neuroscience", "precedence": 10}, {"name": "astro"}, {"name": "bio"}],
    "tags": {"hubops:deployment": "cogtest"},
}


def run_module(emulator, tmp_path: Path, args: dict, *extra: str, fails: bool = False) -> dict:
    return harness.run_module(emulator, tmp_path, "hubops.eks.cognito_user_pool", args, *extra, fails=fails, no_log=True)


def with_(**changes) -> dict:
    args = json.loads(json.dumps(ARGS))
    args.update(changes)
    return args


def pools_named(idp, name: str) -> list[dict]:
    found = idp.get_paginator("list_user_pools").paginate(MaxResults=60).build_full_result()["UserPools"]
    return [p for p in found if p["Name"] == name]


def groups_of(idp, pool_id: str) -> dict:
    found = idp.get_paginator("list_groups").paginate(UserPoolId=pool_id).build_full_result()["Groups"]
    return {g["GroupName"]: (g.get("Description") or "", g.get("Precedence")) for g in found}


def mutating(emulator) -> list[str]:
    return emulator.stats()["mutating_actions"]


def test_cognito_login_lifecycle(emulator, tmp_path):
    idp = emulator.client("cognito-idp")

    # --- created, with the settings the hub needs --------------------------------------------------------------------
    first = run_module(emulator, tmp_path, ARGS)
    assert first["changed"] is True
    (listed,) = pools_named(idp, NAME)
    pool_id = listed["Id"]
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert first["user_pool_id"] == pool_id and first["user_pool_arn"] == pool["Arn"]
    assert pool["Policies"]["PasswordPolicy"] == {"MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True,
                                                  "RequireNumbers": True, "RequireSymbols": True}
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert "UsernameAttributes" not in pool and "AliasAttributes" not in pool
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["DeletionProtection"] == "INACTIVE"
    assert pool["UserPoolTags"] == {"hubops:deployment": "cogtest"}
    assert pool["Domain"] == PREFIX
    assert pool["MfaConfiguration"] == "OPTIONAL"
    mfa = idp.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert mfa["MfaConfiguration"] == "OPTIONAL" and mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert idp.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"]["UserPoolId"] == pool_id

    (listed_client,) = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=listed_client["ClientId"])["UserPoolClient"]
    assert client["ClientName"] == "jupyterhub"
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert sorted(client["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["CallbackURLs"] == [CALLBACK] and client["LogoutURLs"] == ["https://hub.example.org/hub/logout"]
    assert first["client_id"] == client["ClientId"] and first["client_secret"] == client["ClientSecret"]
    assert first["client_secret"] not in first["ansible_output"]  # no_log on the task; the module itself never prints it

    assert groups_of(idp, pool_id) == {"neuro": ("Neuroscience", 10), "astro": ("", None), "bio": ("", None)}
    host = "%s.auth.%s.amazoncognito.com" % (PREFIX, REGION)
    assert first["domain"] == host
    assert first["issuer"] == "https://cognito-idp.%s.amazonaws.com/%s" % (REGION, pool_id)
    assert (first["authorize_url"], first["token_url"], first["userdata_url"], first["logout_url"]) == (
        "https://%s/oauth2/authorize" % host, "https://%s/oauth2/token" % host, "https://%s/oauth2/userInfo" % host,
        "https://%s/logout" % host)
    assert first["groups"] == ["neuro", "astro", "bio"]
    assert sorted(mutating(emulator)) == sorted([
        "cognito-idp:CreateUserPool", "cognito-idp:SetUserPoolMfaConfig", "cognito-idp:CreateUserPoolDomain",
        "cognito-idp:CreateUserPoolClient", "cognito-idp:CreateGroup"])

    # --- a second identical run: nothing changes, nothing is written --------------------------------------------------
    again = run_module(emulator, tmp_path, ARGS)
    assert again["changed"] is False and again["actions"] == []
    assert emulator.stats()["mutating"] == 0, mutating(emulator)
    assert (again["client_id"], again["client_secret"]) == (first["client_id"], first["client_secret"])

    # --- check mode: a changed domain is reported, not made ---------------------------------------------------------
    preview = run_module(emulator, tmp_path, with_(domain_prefix="cogtest-other"), "--check")
    assert preview["changed"] is True
    assert preview["actions"] == ["delete domain %s" % PREFIX, "create domain cogtest-other"]
    assert emulator.stats()["mutating"] == 0, mutating(emulator)
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Domain"] == PREFIX

    # --- a new callback and a dropped group: the client is updated in place, the group pruned ------------------------
    new_callback = "https://hub2.example.org/hub/oauth_callback"
    changed = run_module(emulator, tmp_path, with_(callback_urls=[new_callback], groups=ARGS["groups"][:2]))
    assert changed["changed"] is True
    assert sorted(changed["actions"]) == ["delete group bio", "update app client jupyterhub (CallbackURLs)"]
    stats = emulator.stats()
    assert stats["calls"]["cognito-idp"]["UpdateUserPoolClient"] == 1 and stats["calls"]["cognito-idp"]["DeleteGroup"] == 1
    assert stats["mutating"] == 2, mutating(emulator)
    (listed_client,) = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    assert listed_client["ClientId"] == first["client_id"]
    client = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=first["client_id"])["UserPoolClient"]
    assert client["CallbackURLs"] == [new_callback] and client["ClientSecret"] == first["client_secret"]
    assert client["AllowedOAuthFlows"] == ["code"] and client["PreventUserExistenceErrors"] == "ENABLED"
    assert changed["client_id"] == first["client_id"]
    assert groups_of(idp, pool_id) == {"neuro": ("Neuroscience", 10), "astro": ("", None)}
    steady = run_module(emulator, tmp_path, with_(callback_urls=[new_callback], groups=ARGS["groups"][:2]))
    assert steady["changed"] is False and emulator.stats()["mutating"] == 0, mutating(emulator)

    # --- absent: the domain, then the pool; a second absent changes nothing -------------------------------------------
    gone = run_module(emulator, tmp_path, {"name": NAME, "state": "absent"})
    assert gone["changed"] is True and gone["user_pool_id"] == pool_id
    assert gone["actions"] == ["delete domain %s" % PREFIX, "delete user pool %s" % NAME]
    assert pools_named(idp, NAME) == []
    assert idp.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"] == {}
    still_gone = run_module(emulator, tmp_path, {"name": NAME, "state": "absent"})
    assert still_gone["changed"] is False and still_gone["actions"] == []
    assert emulator.stats()["mutating"] == 0, mutating(emulator)


def test_two_pools_with_the_name_are_refused(emulator, tmp_path):
    idp = emulator.client("cognito-idp")
    ids = sorted(idp.create_user_pool(PoolName=NAME)["UserPool"]["Id"] for _pool in range(2))
    with pytest.raises(AssertionError, match="2 Cognito user pools in %s are named %s" % (REGION, NAME)):
        run_module(emulator, tmp_path, ARGS)
    failed = json.loads((tmp_path / "result.json").read_text())
    assert failed["failed"] is True
    assert all(pool_id in failed["msg"] for pool_id in ids)
    assert emulator.stats()["mutating"] == 0, mutating(emulator)
