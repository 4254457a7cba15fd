#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cognito_user_pool
short_description: The Cognito user pool, hosted UI domain, app client and groups of a JupyterHub login
version_added: 0.1.0
description:
  - Converges one Amazon Cognito user pool for a hub whose authenticator is C(cognito) - the pool, its hosted UI
    domain C(<domain_prefix>.auth.<region>.amazoncognito.com), one OAuth app client (authorization-code flow with a
    client secret) and the Cognito groups the hub maps to its groups through the C(cognito:groups) claim - and returns
    the endpoints and credentials the hub's OAuthenticator needs.
  - The pool is found by listing the pools of the region and matching O(name); two pools with that name are an error
    (the module cannot tell which one is the hub's).
  - Reads first and changes only what differs, so a re-run makes no change and no write call.
  - A new pool gets case-insensitive user names (no e-mail or phone aliases), e-mail auto-verification, the default
    attribute schema, a password policy of at least 12 characters with upper case, lower case, digits and symbols,
    optional TOTP (authenticator app) MFA and no SMS, and B(deletion protection INACTIVE), so that O(state=absent) (the
    teardown) can delete it. The password policy, e-mail verification, O(self_signup), MFA and O(tags) are kept
    converged afterwards; the user name settings cannot change after creation. Deletion protection is not managed; if
    someone activates it, O(state=absent) fails and says how to deactivate it.
  - Cognito's update calls reset every setting they are not given, so updates of the pool and the app client send the
    current settings back with only the managed ones changed (Lambda triggers, e-mail configuration, token lifetimes
    and the like survive).
  - The app client is found by O(client_name). Its secret never appears in the module's actions, diff or error
    messages, but it is in the result - register the result only in tasks with C(no_log) set to V(true).
  - A domain prefix change replaces the hosted UI domain (the old one is deleted first; a pool has one). Users
    see the new login URL; the hub's configuration must follow.
  - O(state=absent) deletes the domain(s) and then the pool, which deletes its app clients, groups and B(users).
  - Exists because no Ansible module manages Cognito user pools.
  - Cost - Cognito bills per monthly active user above a free allowance (10,000 a month per account for the Lite and
    Essentials tiers when this was written); the pool gets the tier Cognito gives new pools by default.
author:
  - hubops.eks contributors (@hubops)
options:
  name:
    description: User pool name, C(<deployment>-hub) by convention; unique in the region (checked).
    type: str
    required: true
  state:
    description: C(present) converges the pool; C(absent) deletes its domain and then the pool (users included).
    type: str
    choices: [present, absent]
    default: present
  domain_prefix:
    description:
      - Hosted UI domain prefix, C(<domain_prefix>.auth.<region>.amazoncognito.com). Lower-case letters, digits and
        hyphens, 1-63 characters, not starting or ending with a hyphen, and not containing C(aws), C(amazon) or C(cognito).
      - Prefixes are global to the region across all AWS accounts, hence C(<deployment>-<account id>) in the inventory.
      - Required when O(state=present). A different prefix replaces the pool's domain.
    type: str
  client_name:
    description:
      - Name of the app client. It is created with a generated secret, the C(code) OAuth flow, scopes C(openid),
        C(email) and C(profile), the Cognito user directory as its only identity provider, refresh-token auth only and
        user-existence errors hidden; those settings and the URLs are put back when they drift.
    type: str
    default: jupyterhub
  callback_urls:
    description:
      - Allowed OAuth redirect URLs, for a hub C(https://<host>/hub/oauth_callback). HTTPS, or C(http://localhost) for tests.
      - Required (at least one) when O(state=present).
    type: list
    elements: str
  logout_urls:
    description: Allowed sign-out redirect URLs (HTTPS, or C(http://localhost)).
    type: list
    elements: str
    default: []
  groups:
    description:
      - The Cognito groups; the hub reads a user's groups from the C(cognito:groups) claim of the ID token.
      - Missing groups are created; a changed description or precedence is updated in place (members are kept).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Group name.
        type: str
        required: true
      description:
        description: Group description (none when omitted).
        type: str
      precedence:
        description: Precedence, 0 or more (lower wins when a user is in several groups); left as it is when omitted.
        type: int
  prune_groups:
    description: Delete the groups of the pool that are not in O(groups). Users stay; they only lose that membership.
    type: bool
    default: true
  self_signup:
    description: Let users sign themselves up in the hosted UI. When false only an administrator can create users.
    type: bool
    default: false
  tags:
    description:
      - Tags of the user pool. When given they are the complete set (other keys are removed); when omitted the tags
        are left as they are.
    type: dict
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports C(--check) (no write call; a pool that does not exist yet is reported with placeholder ids) and C(--diff).
  - Deleting the pool deletes its users and their passwords and MFA devices; there is no undo. Export the users first
    if they must survive a teardown.
"""

EXAMPLES = r"""
- name: The hub's Cognito login
  hubops.eks.cognito_user_pool:
    name: dandi-hub
    domain_prefix: dandi-123456789012
    callback_urls: [https://hub.dandiarchive.org/hub/oauth_callback]
    logout_urls: [https://hub.dandiarchive.org/hub/logout]
    groups:
      - {name: neuro, description: Neuroscience group, precedence: 10}
      - {name: astro}
    tags: {"hubops:deployment": dandi}
  register: cognito
  no_log: true  # the result carries the client secret

- name: Remove it (users included)
  hubops.eks.cognito_user_pool:
    name: dandi-hub
    state: absent
"""

RETURN = r"""
user_pool_id:
  description: Id of the pool (a placeholder in check mode when the pool does not exist yet).
  returned: when the pool exists, would be created, or was deleted
  type: str
  sample: us-east-1_AbCdEf123
user_pool_arn:
  description: ARN of the pool (a placeholder in check mode when the pool does not exist yet).
  returned: when state=present
  type: str
  sample: arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123
domain:
  description: Host name of the hosted UI.
  returned: when state=present
  type: str
  sample: dandi-123456789012.auth.us-east-1.amazoncognito.com
issuer:
  description: OpenID Connect issuer of the pool's tokens.
  returned: when state=present
  type: str
  sample: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123
authorize_url:
  description: OAuth authorization endpoint (the hub's C(authorize_url)).
  returned: when state=present
  type: str
  sample: https://dandi-123456789012.auth.us-east-1.amazoncognito.com/oauth2/authorize
token_url:
  description: OAuth token endpoint.
  returned: when state=present
  type: str
  sample: https://dandi-123456789012.auth.us-east-1.amazoncognito.com/oauth2/token
userdata_url:
  description: OpenID Connect user info endpoint.
  returned: when state=present
  type: str
  sample: https://dandi-123456789012.auth.us-east-1.amazoncognito.com/oauth2/userInfo
logout_url:
  description: Hosted UI sign-out endpoint.
  returned: when state=present
  type: str
  sample: https://dandi-123456789012.auth.us-east-1.amazoncognito.com/logout
client_id:
  description: Id of the app client (a placeholder in check mode when it does not exist yet).
  returned: when state=present
  type: str
client_secret:
  description:
    - Secret of the app client (a placeholder in check mode when it does not exist yet).
    - B(A secret.) Tasks that register this result must set C(no_log) to V(true).
  returned: when state=present
  type: str
groups:
  description: Names of the wanted Cognito groups, in the order given.
  returned: when state=present
  type: list
  elements: str
  sample: [neuro, astro]
actions:
  description: The changes made (in check mode, that would be made); never contains the secret.
  returned: always
  type: list
  elements: str
  sample: ["create user pool dandi-hub", "create domain dandi-123456789012"]
"""

import copy
import re

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule

PLACEHOLDER = "check-mode-placeholder"
DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_IN_DOMAIN = ("aws", "amazon", "cognito")
PASSWORD_POLICY = {"MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True,
                   "RequireSymbols": True}
AUTO_VERIFIED = ["email"]
MFA = {"MfaConfiguration": "OPTIONAL", "SoftwareTokenMfaConfiguration": {"Enabled": True}}
CLIENT_SETTINGS = {
    "AllowedOAuthFlows": ["code"],
    "AllowedOAuthFlowsUserPoolClient": True,
    "AllowedOAuthScopes": ["openid", "email", "profile"],
    "SupportedIdentityProviders": ["COGNITO"],
    "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
    "PreventUserExistenceErrors": "ENABLED",
}
# Lists Cognito may hand back in another order; compared sorted.
UNORDERED = ("AllowedOAuthFlows", "AllowedOAuthScopes", "SupportedIdentityProviders", "ExplicitAuthFlows", "CallbackURLs",
             "LogoutURLs")
# Deprecated duplicates of VerificationMessageTemplate: sending both can be refused, the template alone is enough.
POOL_NOT_CARRIED = ("SmsVerificationMessage", "EmailVerificationMessage", "EmailVerificationSubject")
# Never copied from the current client: the ids are sent apart, and DefaultRedirectURI only while it is still a callback URL.
CLIENT_NOT_CARRIED = ("ClientId", "ClientSecret", "UserPoolId", "DefaultRedirectURI")


def hosted_domain(prefix, region):
    return "%s.auth.%s.amazoncognito.com" % (prefix, region)


def endpoints(region, pool_id, prefix):
    host = hosted_domain(prefix, region)
    return {
        "domain": host,
        "issuer": "https://cognito-idp.%s.amazonaws.com/%s" % (region, pool_id),
        "authorize_url": "https://%s/oauth2/authorize" % host,
        "token_url": "https://%s/oauth2/token" % host,
        "userdata_url": "https://%s/oauth2/userInfo" % host,
        "logout_url": "https://%s/logout" % host,
    }


def _allowed_url(url):
    return url.startswith("https://") or url == "http://localhost" or url.startswith(("http://localhost:", "http://localhost/"))


def validate(params):
    """Every problem of the parameters, before any AWS call (one message per problem)."""
    errors = []
    if params["state"] != "present":
        return errors
    prefix = params["domain_prefix"] or ""
    if not DOMAIN_RE.match(prefix):
        errors.append("domain_prefix %r: use 1-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen."
                      % prefix)
    bad_words = [w for w in RESERVED_IN_DOMAIN if w in prefix]
    if bad_words:
        errors.append("domain_prefix %r contains %s, which Cognito reserves; choose another prefix." % (prefix, ", ".join(bad_words)))
    if not params["callback_urls"]:
        errors.append("callback_urls: give at least one (the hub's https://<host>/hub/oauth_callback).")
    for field in ("callback_urls", "logout_urls"):
        for url in params[field] or []:
            if not _allowed_url(url):
                errors.append("%s: %s is not allowed; Cognito wants https:// (or http://localhost for tests)." % (field, url))
    names = [g["name"] for g in params["groups"]]
    doubles = sorted(set(n for n in names if names.count(n) > 1))
    if doubles:
        errors.append("groups: %s listed more than once." % ", ".join(doubles))
    for group in params["groups"]:
        if group.get("precedence") is not None and group["precedence"] < 0:
            errors.append("groups: precedence of %s must be 0 or more." % group["name"])
    return errors


def pool_differences(pool, self_signup):
    """The managed pool settings (besides MFA and tags) that differ from what the hub wants."""
    found = []
    policy = (pool.get("Policies") or {}).get("PasswordPolicy") or {}
    if any(policy.get(key) != value for key, value in PASSWORD_POLICY.items()):
        found.append("password policy")
    if sorted(pool.get("AutoVerifiedAttributes") or []) != AUTO_VERIFIED:
        found.append("auto-verified attributes")
    if bool((pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly", False)) != (not self_signup):
        found.append("self_signup")
    return found


def pool_update_request(pool, self_signup, tags, members):
    """UpdateUserPool resets whatever it is not sent: send the current settings with the managed ones replaced."""
    request = dict((k, copy.deepcopy(v)) for k, v in pool.items() if k in members and k not in POOL_NOT_CARRIED and v is not None)
    request["UserPoolId"] = pool["Id"]
    policies = request.setdefault("Policies", {})
    password = dict(policies.get("PasswordPolicy") or {})
    password.update(PASSWORD_POLICY)
    policies["PasswordPolicy"] = password
    request["AutoVerifiedAttributes"] = list(AUTO_VERIFIED)
    admin = dict(request.get("AdminCreateUserConfig") or {})
    admin.pop("UnusedAccountValidityDays", None)  # superseded by TemporaryPasswordValidityDays; both are refused
    admin["AllowAdminCreateUserOnly"] = not self_signup
    request["AdminCreateUserConfig"] = admin
    if tags is not None:
        request["UserPoolTags"] = dict(tags)
    return request


def mfa_differs(config):
    return (config.get("MfaConfiguration") != MFA["MfaConfiguration"]
            or not (config.get("SoftwareTokenMfaConfiguration") or {}).get("Enabled"))


def wanted_client(params):
    wanted = copy.deepcopy(CLIENT_SETTINGS)
    wanted.update({"ClientName": params["client_name"], "CallbackURLs": list(params["callback_urls"]),
                   "LogoutURLs": list(params["logout_urls"] or [])})
    return wanted


def _normal(key, value):
    if key in UNORDERED:
        return sorted(value or [])
    return value


def client_differences(current, wanted):
    return [key for key in sorted(wanted) if _normal(key, current.get(key)) != _normal(key, wanted[key])]


def client_update_request(current, wanted, members):
    """UpdateUserPoolClient resets whatever it is not sent: the current settings, the managed ones replaced."""
    request = dict((k, copy.deepcopy(v)) for k, v in current.items()
                   if k in members and k not in CLIENT_NOT_CARRIED and v is not None)
    request.update(copy.deepcopy(wanted))
    if current.get("DefaultRedirectURI") in wanted["CallbackURLs"]:
        request["DefaultRedirectURI"] = current["DefaultRedirectURI"]
    request.update({"UserPoolId": current["UserPoolId"], "ClientId": current["ClientId"]})
    return request


def tag_changes(current, wanted):
    current = current or {}
    add = dict((k, v) for k, v in sorted(wanted.items()) if current.get(k) != v)
    remove = sorted(set(current) - set(wanted))
    return add, remove


def group_view(group):
    view = {"description": group.get("Description") or ""}
    if group.get("Precedence") is not None:
        view["precedence"] = group["Precedence"]
    return view


def groups_after(wanted, current, prune):
    """The groups as they will be: the wanted ones (an omitted precedence keeps the current one), plus the others
    unless they are pruned."""
    after = {} if prune else dict((name, group_view(group)) for name, group in current.items())
    for group in wanted:
        view = {"description": group.get("description") or ""}
        precedence = group["precedence"] if group.get("precedence") is not None else (current.get(group["name"]) or {}).get("Precedence")
        if precedence is not None:
            view["precedence"] = precedence
        after[group["name"]] = view
    return after


class CognitoUserPool(object):
    def __init__(self, module, client, region):
        self.module = module
        self.client = client
        self.region = region
        self.params = module.params
        self.actions = []
        self.before = None
        self.after = None

    def act(self, what, method, **kwargs):
        """Record a change and, outside check mode, make it. `what` never carries a secret."""
        self.actions.append(what)
        if self.module.check_mode:
            return {}
        return getattr(self.client, method)(**kwargs)

    def _members(self, operation):
        return set(self.client.meta.service_model.operation_model(operation).input_shape.members)

    def _all(self, operation, key, **kwargs):
        return self.client.get_paginator(operation).paginate(**kwargs).build_full_result().get(key) or []

    # ---- reads ----------------------------------------------------------------------------------------------------

    def find(self):
        name = self.params["name"]
        pools = [p for p in self._all("list_user_pools", "UserPools", MaxResults=60) if p.get("Name") == name]
        if len(pools) > 1:
            self.module.fail_json(msg="%d Cognito user pools in %s are named %s (%s); the module cannot tell which is the hub's. "
                                      "Delete or rename the extra ones in the Cognito console and run again."
                                  % (len(pools), self.region, name, ", ".join(sorted(p["Id"] for p in pools))))
        if not pools:
            return None
        return self.client.describe_user_pool(UserPoolId=pools[0]["Id"])["UserPool"]

    def find_client(self, pool_id):
        name = self.params["client_name"]
        clients = [c for c in self._all("list_user_pool_clients", "UserPoolClients", UserPoolId=pool_id, MaxResults=60)
                   if c.get("ClientName") == name]
        if len(clients) > 1:
            self.module.fail_json(msg="User pool %s has %d app clients named %s (%s); delete the extra ones in the Cognito console "
                                      "and run again." % (pool_id, len(clients), name, ", ".join(sorted(c["ClientId"] for c in clients))))
        if not clients:
            return None
        return self.client.describe_user_pool_client(UserPoolId=pool_id, ClientId=clients[0]["ClientId"])["UserPoolClient"]

    def check_domain_free(self, prefix, pool_id):
        owner = (self.client.describe_user_pool_domain(Domain=prefix).get("DomainDescription") or {}).get("UserPoolId")
        if owner and owner != pool_id:
            self.module.fail_json(msg="domain_prefix %s is already the domain of user pool %s; Cognito domain prefixes are unique "
                                      "across all accounts of a region. Choose another prefix (hubops_hub.auth.cognito_domain)."
                                  % (prefix, owner))

    # ---- state views for --diff (never the secret) ------------------------------------------------------------------

    def wanted_view(self, tags, groups):
        params = self.params
        return {
            "user_pool": params["name"],
            "domain": params["domain_prefix"],
            "self_signup": params["self_signup"],
            "mfa": "OPTIONAL, TOTP",
            "password_policy": dict(PASSWORD_POLICY),
            "tags": tags,
            "client": {"name": params["client_name"], "callback_urls": list(params["callback_urls"]),
                       "logout_urls": list(params["logout_urls"] or [])},
            "groups": groups,
        }

    def current_view(self, pool, mfa, client, groups):
        policy = (pool.get("Policies") or {}).get("PasswordPolicy") or {}
        totp = (mfa.get("SoftwareTokenMfaConfiguration") or {}).get("Enabled")
        return {
            "user_pool": pool.get("Name"),
            "domain": pool.get("Domain"),
            "self_signup": not (pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly", False),
            "mfa": "%s%s" % (mfa.get("MfaConfiguration"), ", TOTP" if totp else ""),
            "password_policy": dict((k, policy.get(k)) for k in PASSWORD_POLICY),
            "tags": dict(pool.get("UserPoolTags") or {}),
            "client": None if client is None else {"name": client.get("ClientName"), "callback_urls": list(client.get("CallbackURLs") or []),
                                                   "logout_urls": list(client.get("LogoutURLs") or [])},
            "groups": dict((name, group_view(group)) for name, group in groups.items()),
        }

    # ---- present ----------------------------------------------------------------------------------------------------

    def present(self, pool):
        params = self.params
        name, prefix = params["name"], params["domain_prefix"]
        tags = None if params["tags"] is None else dict((str(k), str(v)) for k, v in params["tags"].items())
        pool_id = pool["Id"] if pool else None
        if pool is None or pool.get("Domain") != prefix:
            self.check_domain_free(prefix, pool_id)  # before creating anything, so a taken prefix leaves nothing behind

        if pool is None:
            request = {"PoolName": name, "Policies": {"PasswordPolicy": dict(PASSWORD_POLICY)}, "AutoVerifiedAttributes": list(AUTO_VERIFIED),
                       "UsernameConfiguration": {"CaseSensitive": False},
                       "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": not params["self_signup"]},
                       "DeletionProtection": "INACTIVE"}
            if tags:
                request["UserPoolTags"] = tags
            created = self.act("create user pool %s" % name, "create_user_pool", **request).get("UserPool") or {}
            pool_id, arn = created.get("Id", PLACEHOLDER), created.get("Arn", PLACEHOLDER)
            # CreateUserPool refuses MFA without SMS; TOTP-only MFA can only be switched on afterwards.
            self.act("enable optional TOTP MFA", "set_user_pool_mfa_config", UserPoolId=pool_id, **copy.deepcopy(MFA))
            self.act("create domain %s" % prefix, "create_user_pool_domain", Domain=prefix, UserPoolId=pool_id)
            client = self.create_client(pool_id)
            for group in params["groups"]:
                self.create_group(pool_id, group)
            self.before = None
            self.after = self.wanted_view(tags or {}, groups_after(params["groups"], {}, True))
            return self.result(pool_id, arn, client)

        arn = pool["Arn"]
        mfa = self.client.get_user_pool_mfa_config(UserPoolId=pool_id)
        client_before = self.find_client(pool_id)
        groups_before = dict((g["GroupName"], g) for g in self._all("list_groups", "Groups", UserPoolId=pool_id))
        self.before = self.current_view(pool, mfa, client_before, groups_before)
        after_tags = dict(pool.get("UserPoolTags") or {}) if tags is None else tags
        self.after = self.wanted_view(after_tags, groups_after(params["groups"], groups_before, params["prune_groups"]))

        self.converge_pool(pool, mfa, tags, after_tags)
        self.converge_domain(pool_id, pool.get("Domain"), prefix)
        client = self.create_client(pool_id) if client_before is None else self.converge_client(client_before)
        self.converge_groups(pool_id, groups_before)
        return self.result(pool_id, arn, client)

    def converge_pool(self, pool, mfa, tags, after_tags):
        name, pool_id, self_signup = self.params["name"], pool["Id"], self.params["self_signup"]
        if tags is not None:
            add, remove = tag_changes(pool.get("UserPoolTags"), tags)
            if add:
                self.act("tag user pool %s (%s)" % (name, ", ".join(sorted(add))), "tag_resource", ResourceArn=pool["Arn"], Tags=add)
            if remove:
                self.act("untag user pool %s (%s)" % (name, ", ".join(remove)), "untag_resource", ResourceArn=pool["Arn"], TagKeys=remove)
        differences = pool_differences(pool, self_signup)
        if differences:
            request = pool_update_request(pool, self_signup, after_tags, self._members("UpdateUserPool"))
            self.act("update user pool %s (%s)" % (name, ", ".join(differences)), "update_user_pool", **request)
        if mfa_differs(mfa):  # after UpdateUserPool, which was sent the MFA setting as it was
            request = dict((k, v) for k, v in mfa.items() if k in self._members("SetUserPoolMfaConfig") and v is not None)
            request.update(copy.deepcopy(MFA), UserPoolId=pool_id)
            self.act("enable optional TOTP MFA", "set_user_pool_mfa_config", **request)

    def converge_domain(self, pool_id, current, prefix):
        if current == prefix:
            return
        if current:  # a pool has one prefix domain: the old one goes first
            self.act("delete domain %s" % current, "delete_user_pool_domain", Domain=current, UserPoolId=pool_id)
        self.act("create domain %s" % prefix, "create_user_pool_domain", Domain=prefix, UserPoolId=pool_id)

    def converge_groups(self, pool_id, current_groups):
        for group in self.params["groups"]:
            current = current_groups.get(group["name"])
            if current is None:
                self.create_group(pool_id, group)
                continue
            changed = []
            if (current.get("Description") or "") != (group.get("description") or ""):
                changed.append("description")
            if group.get("precedence") is not None and current.get("Precedence") != group["precedence"]:
                changed.append("precedence")
            if not changed:
                continue
            # UpdateGroup resets what it is not sent: the precedence and role stay as they are unless managed.
            request = {"UserPoolId": pool_id, "GroupName": group["name"], "Description": group.get("description") or ""}
            precedence = group["precedence"] if group.get("precedence") is not None else current.get("Precedence")
            if precedence is not None:
                request["Precedence"] = precedence
            if current.get("RoleArn"):
                request["RoleArn"] = current["RoleArn"]
            self.act("update group %s (%s)" % (group["name"], ", ".join(changed)), "update_group", **request)
        if self.params["prune_groups"]:
            for name in sorted(set(current_groups) - set(g["name"] for g in self.params["groups"])):
                self.act("delete group %s" % name, "delete_group", UserPoolId=pool_id, GroupName=name)

    def create_client(self, pool_id):
        wanted = wanted_client(self.params)
        created = self.act("create app client %s" % wanted["ClientName"], "create_user_pool_client", UserPoolId=pool_id,
                           GenerateSecret=True, **wanted)
        return created.get("UserPoolClient") or {"ClientId": PLACEHOLDER, "ClientSecret": PLACEHOLDER}

    def converge_client(self, current):
        if not current.get("ClientSecret"):
            self.module.fail_json(msg="App client %s (%s) of user pool %s has no secret, and a secret cannot be added to a client. "
                                      "Delete it in the Cognito console (or set another client_name) and run again."
                                  % (current.get("ClientName"), current.get("ClientId"), current.get("UserPoolId")))
        wanted = wanted_client(self.params)
        differences = client_differences(current, wanted)
        if not differences:
            return current
        request = client_update_request(current, wanted, self._members("UpdateUserPoolClient"))
        updated = self.act("update app client %s (%s)" % (wanted["ClientName"], ", ".join(differences)), "update_user_pool_client",
                           **request)
        return dict(current, **((updated or {}).get("UserPoolClient") or {}))

    def create_group(self, pool_id, group):
        request = {"UserPoolId": pool_id, "GroupName": group["name"]}
        if group.get("description"):
            request["Description"] = group["description"]
        if group.get("precedence") is not None:
            request["Precedence"] = group["precedence"]
        self.act("create group %s" % group["name"], "create_group", **request)

    def result(self, pool_id, arn, client):
        result = dict(user_pool_id=pool_id, user_pool_arn=arn, client_id=client.get("ClientId") or PLACEHOLDER,
                      client_secret=client.get("ClientSecret") or PLACEHOLDER, groups=[g["name"] for g in self.params["groups"]])
        result.update(endpoints(self.region, pool_id, self.params["domain_prefix"]))
        return result

    # ---- absent -----------------------------------------------------------------------------------------------------

    def absent(self, pool):
        if pool is None:
            return {}
        name, pool_id = self.params["name"], pool["Id"]
        if pool.get("DeletionProtection") == "ACTIVE":
            self.module.fail_json(msg="User pool %s (%s) has deletion protection ACTIVE (this module creates pools with it INACTIVE, "
                                      "so someone turned it on). Deactivate it in the Cognito console (Settings, Deletion "
                                      "protection) if the pool and its users really must go, and run again." % (name, pool_id))
        self.before = {"user_pool": name, "domain": pool.get("Domain")}
        self.after = None
        for domain in (pool.get("Domain"), pool.get("CustomDomain")):
            if domain:
                self.act("delete domain %s" % domain, "delete_user_pool_domain", Domain=domain, UserPoolId=pool_id)
        self.act("delete user pool %s" % name, "delete_user_pool", UserPoolId=pool_id)
        return {"user_pool_id": pool_id}


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            domain_prefix=dict(type="str"),
            client_name=dict(type="str", default="jupyterhub"),
            callback_urls=dict(type="list", elements="str"),
            logout_urls=dict(type="list", elements="str", default=[]),
            groups=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                description=dict(type="str"),
                precedence=dict(type="int"),
            )),
            prune_groups=dict(type="bool", default=True),
            self_signup=dict(type="bool", default=False),
            tags=dict(type="dict"),
        ),
        required_if=[("state", "present", ["domain_prefix", "callback_urls"])],
        supports_check_mode=True,
    )
    errors = validate(module.params)
    if errors:
        module.fail_json(msg="\n".join(errors))
    region = module.region
    if not region:
        module.fail_json(msg="No AWS region: set region (hubops_region) or AWS_REGION.")
    pools = CognitoUserPool(module, module.client("cognito-idp"), region)
    try:
        pool = pools.find()
        if module.params["state"] == "present":
            result = pools.present(pool)
        else:
            result = pools.absent(pool)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot converge the Cognito user pool %s (actions so far: %s)"
                             % (module.params["name"], "; ".join(pools.actions) or "none"))
    result.update(changed=bool(pools.actions), actions=pools.actions)
    if module._diff:
        result["diff"] = {"before": pools.before or {}, "after": pools.after or {}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
