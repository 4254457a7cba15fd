# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""hubops_hub.auth with the real OAuthenticator 17.4.0, LDAPAuthenticator 2.0.2 and JupyterHub 5.5.0: the config
configure_auth writes, instantiated as the hub does (`Authenticator(config=c)`), then logins run through the real
authenticators' own code (`get_authenticated_user`: OAuth code exchange, userinfo, teams, allow checks, managed
groups; `refresh_user`) against a fake identity provider served by tornado on 127.0.0.1 (GitHub API, Cognito /
OIDC token and userInfo endpoints) or an ldap3 MOCK_SYNC directory, and the resulting groups go through
make_profile_list to the profiles a user gets."""

import asyncio
import contextlib
import copy
import json
import logging
import socket
import ssl
import time
from urllib.parse import parse_qs, urlparse

import jwt
import ldap3
import pytest
from hubops_hub import auth as hub_auth
from hubops_hub.auth import ClaimGroups, HubopsLDAPAuthenticator, configure_auth, github_team_groups
from hubops_hub.dandi import DandiGitHubOAuthenticator
from hubops_hub.profiles import make_profile_list
from jupyterhub.auth import DummyAuthenticator
from kubespawner import KubeSpawner
from ldapauthenticator.ldapauthenticator import TlsStrategy
from oauthenticator.generic import GenericOAuthenticator
from oauthenticator.github import GitHubOAuthenticator
from oauthenticator.oauth2 import _serialize_state
from tornado import httpserver, netutil, web
from traitlets.config import Config

CLIENT_ID = "hubops-client-id"
CLIENT_SECRET = "s3cret-client-value"
LDAP_PASSWORD = "s3cret-bind-password"
DANDI_TOKEN = "s3cret-dandi-token"
SECRETS = {"HUBOPS_OAUTH_CLIENT_ID": CLIENT_ID, "HUBOPS_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
           "HUBOPS_LDAP_BIND_PASSWORD": LDAP_PASSWORD, "DANDI_API_TOKEN": DANDI_TOKEN}
# Variables the packages read on their own (OAuthenticator's client_id/secret defaults, ...): must not leak in.
FOREIGN_ENV = ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "OAUTH_CALLBACK_URL",
               "OAUTH_LOGOUT_REDIRECT_URL", "GITHUB_URL", "GITHUB_HOST", "OAUTH2_USERNAME_KEY", "OAUTH2_GROUPS_KEY")
CALLBACK = "https://hub.example.org/hub/oauth_callback"
COGNITO = "https://dandi-123456789012.auth.us-east-1.amazoncognito.com"
NEURO_DN = "cn=neuro,ou=groups,dc=example,dc=org"
VISION_DN = "cn=vision,ou=groups,dc=example,dc=org"
NO_GROUP = "You are not in any group of this hub"


@pytest.fixture
def secrets(monkeypatch):
    for name in FOREIGN_ENV + tuple(SECRETS):
        monkeypatch.delenv(name, raising=False)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return dict(SECRETS)


def run(scenario):
    return asyncio.run(scenario())


def hub_config(config, auth):
    """custom.hubops as the role renders it: the groups, plus the auth settings with all_member_groups."""
    out = copy.deepcopy(config)
    kind = auth["type"]
    key = {"github": "github_teams", "dandi": "github_teams", "cognito": "cognito_groups", "oidc": "oidc_groups",
           "ldap": "ldap_groups"}.get(kind)
    auth = dict(auth)
    if key and "all_member_groups" not in auth:
        union = []
        for group in out["groups"]:
            for name in (group.get("members") or {}).get(key) or []:
                if name not in union:
                    union.append(name)
        auth["all_member_groups"] = union
    out["auth"] = auth
    out["auth_type"] = kind
    return out


def make(config, auth):
    """configure_auth on a fresh Config, then the authenticator instance the hub would build from it."""
    c = Config()
    cls = configure_auth(c, hub_config(config, auth))
    return cls, cls(config=c), c


GITHUB_AUTH = {"type": "github", "admins": ["Admin1"], "oauth_callback_url": CALLBACK}
COGNITO_AUTH = {"type": "cognito", "admins": ["admin1"], "oauth_callback_url": CALLBACK,
                "authorize_url": COGNITO + "/oauth2/authorize", "token_url": COGNITO + "/oauth2/token",
                "userdata_url": COGNITO + "/oauth2/userInfo", "logout_url": COGNITO + "/logout",
                "username_claim": "username", "groups_claim": "cognito:groups"}
OIDC_AUTH = {"type": "oidc", "oauth_callback_url": CALLBACK, "authorize_url": "https://idp.example.org/auth",
             "token_url": "https://idp.example.org/token", "userdata_url": "https://idp.example.org/userinfo",
             "groups_claim": "realm_access.roles"}
LDAP_AUTH = {"type": "ldap", "server_address": "ldap.example.org", "bind_dn": "cn=hub,ou=svc,dc=example,dc=org",
             "user_search_base": "ou=people,dc=example,dc=org", "user_attribute": "uid"}


# --- what configure_auth sets ---------------------------------------------------------------------------------------


def test_github_settings(config, secrets):
    cls, authenticator, c = make(config, GITHUB_AUTH)
    assert cls is GitHubOAuthenticator and c.JupyterHub.authenticator_class is GitHubOAuthenticator
    assert authenticator.client_id == CLIENT_ID and authenticator.client_secret == CLIENT_SECRET
    assert authenticator.oauth_callback_url == CALLBACK
    assert authenticator.scope == ["read:org"]
    assert authenticator.populate_teams_in_auth_state is True
    assert authenticator.enable_auth_state is True and authenticator.manage_groups is True
    assert authenticator.auth_state_groups_key is github_team_groups
    assert authenticator.refresh_pre_spawn is True and authenticator.auth_refresh_age == 300
    assert authenticator.admin_users == {"admin1"}  # lower-cased as JupyterHub does
    # every group's members.users may log in; no allow_all, no "whoever is in the database"
    assert authenticator.allowed_users == {"alice", "carol", "erin"}
    assert authenticator.allow_all is False and authenticator.allow_existing_users is False
    # without allowed_organizations, the teams the groups name are the login list
    assert authenticator.allowed_groups == {"dandi:neuro"}
    assert authenticator.allowed_organizations == set()


def test_github_organizations_replace_the_team_list(config, secrets):
    _cls, authenticator, _config = make(config, dict(GITHUB_AUTH, allowed_organizations=["dandi", "other:ops"],
                                                     scope=["read:org", "read:user"]))
    assert authenticator.allowed_organizations == {"dandi", "other:ops"}
    assert authenticator.allowed_groups == set()
    assert authenticator.scope == ["read:org", "read:user"]


def test_github_team_names_are_lower_cased_for_allowed_groups(config, secrets):
    _cls, authenticator, _config = make(config, dict(GITHUB_AUTH, all_member_groups=["DandiArchive:Neuro-Team"]))
    assert authenticator.allowed_groups == {"dandiarchive:neuro-team"}


def test_github_scope_without_read_org_is_refused(config, secrets):
    with pytest.raises(ValueError, match="read:org"):
        configure_auth(Config(), hub_config(config, dict(GITHUB_AUTH, scope=["read:user"])))


def test_github_team_must_be_org_colon_team(config, secrets):
    with pytest.raises(ValueError, match="<org>:<team-slug>"):
        configure_auth(Config(), hub_config(config, dict(GITHUB_AUTH, all_member_groups=["neuro"])))


def test_dandi_settings(config, secrets):
    cls, authenticator, _config = make(config, dict(GITHUB_AUTH, type="dandi", dandi_api_url="https://api.sandbox.dandiarchive.org",
                                                    dandi_register_url="https://sandbox.dandiarchive.org"))
    assert cls is DandiGitHubOAuthenticator
    assert authenticator.dandi_api_token == DANDI_TOKEN
    assert authenticator.dandi_api_url == "https://api.sandbox.dandiarchive.org"
    assert authenticator.dandi_register_url == "https://sandbox.dandiarchive.org"
    assert authenticator.auth_state_groups_key is github_team_groups and authenticator.manage_groups is True
    assert authenticator.allowed_groups == {"dandi:neuro"} and authenticator.allow_all is False


def test_cognito_settings(config, secrets):
    cls, authenticator, _config = make(config, COGNITO_AUTH)
    assert cls is GenericOAuthenticator
    assert (authenticator.client_id, authenticator.client_secret) == (CLIENT_ID, CLIENT_SECRET)
    assert authenticator.authorize_url == COGNITO + "/oauth2/authorize"
    assert authenticator.token_url == COGNITO + "/oauth2/token"
    assert authenticator.userdata_url == COGNITO + "/oauth2/userInfo"
    assert authenticator.userdata_from_id_token is False  # see the module docstring (oauthenticator#793)
    assert authenticator.scope == ["openid", "email", "profile"]
    assert authenticator.username_claim == "username"
    assert authenticator.auth_state_groups_key == ClaimGroups("cognito:groups", audience=CLIENT_ID)
    assert authenticator.manage_groups is True and authenticator.enable_auth_state is True
    assert authenticator.allowed_groups == {"vision-lab"}
    assert authenticator.login_service == "Amazon Cognito"
    logout = urlparse(authenticator.logout_redirect_url)
    assert logout._replace(query="").geturl() == COGNITO + "/logout"
    # Cognito returns to the hub's login page (a registered LogoutURL), not to /hub/logout (a redirect loop)
    assert parse_qs(logout.query) == {"client_id": [CLIENT_ID], "logout_uri": ["https://hub.example.org/hub/login"]}


def test_cognito_defaults_and_a_full_logout_url(config, secrets):
    auth = {key: value for key, value in COGNITO_AUTH.items() if key not in ("username_claim", "groups_claim")}
    auth["logout_url"] = COGNITO + "/logout?client_id=x&logout_uri=https%3A%2F%2Fexample.org%2F"
    _cls, authenticator, _config = make(config, auth)
    assert authenticator.username_claim == "username"
    assert authenticator.auth_state_groups_key.claim == "cognito:groups"
    assert authenticator.logout_redirect_url == auth["logout_url"]


def test_oidc_settings(config, secrets):
    cls, authenticator, _config = make(config, OIDC_AUTH)
    assert cls is GenericOAuthenticator
    assert authenticator.username_claim == "preferred_username"
    assert authenticator.auth_state_groups_key == ClaimGroups("realm_access.roles", audience=CLIENT_ID)
    assert authenticator.allowed_groups == {"vision"}
    assert authenticator.logout_redirect_url == ""
    _cls, plain, _config = make(config, {key: value for key, value in OIDC_AUTH.items() if key != "groups_claim"})
    assert plain.auth_state_groups_key.claim == "groups"


@pytest.mark.parametrize("url", ["http://idp.example.org/token", "ftp://idp.example.org/token"])
def test_oidc_token_url_must_be_https(config, secrets, url):
    with pytest.raises(ValueError, match="token_url"):
        configure_auth(Config(), hub_config(config, dict(OIDC_AUTH, token_url=url)))


@pytest.mark.parametrize("missing", ["authorize_url", "token_url", "userdata_url"])
def test_oidc_urls_are_required(config, secrets, missing):
    auth = {key: value for key, value in OIDC_AUTH.items() if key != missing}
    with pytest.raises(ValueError, match=missing):
        configure_auth(Config(), hub_config(config, auth))


def test_oidc_scope_needs_openid(config, secrets):
    with pytest.raises(ValueError, match="openid"):
        configure_auth(Config(), hub_config(config, dict(OIDC_AUTH, scope=["email"])))


def test_ldap_settings(config, secrets):
    cls, authenticator, _config = make(config, dict(LDAP_AUTH, allowed_groups=["cn=staff,ou=groups,dc=example,dc=org"]))
    assert cls is HubopsLDAPAuthenticator
    assert authenticator.server_address == "ldap.example.org"
    assert authenticator.tls_strategy is TlsStrategy.before_bind and authenticator.server_port == 389
    assert authenticator.lookup_dn is True
    assert authenticator.lookup_dn_search_user == "cn=hub,ou=svc,dc=example,dc=org"
    assert authenticator.lookup_dn_search_password == LDAP_PASSWORD
    assert authenticator.user_search_base == "ou=people,dc=example,dc=org"
    assert authenticator.user_attribute == "uid" and authenticator.lookup_dn_user_dn_attribute == "uid"
    # the login list and the groups searched at login: allowed_groups plus every hubops ldap_groups DN
    assert authenticator.allowed_groups == ["cn=staff,ou=groups,dc=example,dc=org", "cn-vision"]
    assert authenticator.manage_groups is True
    assert authenticator.allowed_users == {"alice", "carol", "erin"}
    assert authenticator.allow_all is False and authenticator.allow_existing_users is False


def test_ldap_tls_choices(config, secrets):
    _cls, ldaps, _config = make(config, dict(LDAP_AUTH, use_ssl=True))
    assert ldaps.tls_strategy is TlsStrategy.on_connect and ldaps.server_port == 636
    _cls, port, _config = make(config, dict(LDAP_AUTH, use_ssl=True, server_port=3269))
    assert port.server_port == 3269
    _cls, plain, _config = make(config, dict(LDAP_AUTH, start_tls=False))
    assert plain.tls_strategy is TlsStrategy.insecure
    with pytest.raises(ValueError, match="exclude each other"):
        configure_auth(Config(), hub_config(config, dict(LDAP_AUTH, use_ssl=True, start_tls=True)))
    with pytest.raises(ValueError, match="server_port"):
        configure_auth(Config(), hub_config(config, dict(LDAP_AUTH, server_port="ldaps")))


def test_ldap_anonymous_lookup_needs_no_password(config, secrets, monkeypatch):
    monkeypatch.delenv("HUBOPS_LDAP_BIND_PASSWORD")
    _cls, authenticator, _config = make(config, {key: value for key, value in LDAP_AUTH.items() if key != "bind_dn"})
    assert authenticator.lookup_dn_search_user is None and authenticator.lookup_dn_search_password is None


@pytest.mark.parametrize("missing", ["server_address", "user_search_base"])
def test_ldap_required_settings(config, secrets, missing):
    with pytest.raises(ValueError, match=missing):
        configure_auth(Config(), hub_config(config, {key: value for key, value in LDAP_AUTH.items() if key != missing}))


def test_dummy_settings(config, secrets):
    cls, authenticator, _config = make(config, {"type": "dummy", "admins": ["alice"]})
    assert cls is DummyAuthenticator
    assert authenticator.admin_users == {"alice"} and authenticator.allow_all is True
    assert authenticator.manage_groups is False
    _cls, restricted, _config = make(config, {"type": "dummy", "allowed_users": ["bob"]})
    assert restricted.allowed_users == {"bob"} and restricted.allow_all is False


@pytest.mark.parametrize("auth, variable", [
    (GITHUB_AUTH, "HUBOPS_OAUTH_CLIENT_ID"),
    (GITHUB_AUTH, "HUBOPS_OAUTH_CLIENT_SECRET"),
    (dict(GITHUB_AUTH, type="dandi"), "DANDI_API_TOKEN"),
    (dict(GITHUB_AUTH, type="dandi"), "HUBOPS_OAUTH_CLIENT_SECRET"),
    (COGNITO_AUTH, "HUBOPS_OAUTH_CLIENT_ID"),
    (COGNITO_AUTH, "HUBOPS_OAUTH_CLIENT_SECRET"),
    (OIDC_AUTH, "HUBOPS_OAUTH_CLIENT_SECRET"),
    (LDAP_AUTH, "HUBOPS_LDAP_BIND_PASSWORD"),
])
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_a_missing_secret_stops_the_hub(config, secrets, monkeypatch, auth, variable, how):
    if how == "unset":
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, "  ")
    with pytest.raises(ValueError, match=variable) as error:
        configure_auth(Config(), hub_config(config, auth))
    for value in SECRETS.values():
        assert value not in str(error.value)


@pytest.mark.parametrize("auth", [GITHUB_AUTH, dict(GITHUB_AUTH, type="dandi"), COGNITO_AUTH, OIDC_AUTH, LDAP_AUTH])
def test_secrets_are_not_logged(config, secrets, caplog, auth):
    caplog.set_level(logging.DEBUG)
    configure_auth(Config(), hub_config(config, dict(auth, start_tls=False) if auth["type"] == "ldap" else auth))
    assert caplog.records  # it does log (a summary, a warning)
    for value in SECRETS.values():
        assert value not in caplog.text


@pytest.mark.parametrize("auth, message", [
    ({"type": "saml"}, "unknown type 'saml'"),
    ({}, "unknown type None"),
    ({"type": "github", "allowed_organisations": ["x"]}, "unknown setting.*allowed_organisations"),
    ({"type": "github", "admins": "alice"}, "admins must be a list"),
    ({"type": "github", "allowed_users": ["ok", ""]}, "allowed_users must be a list of non-empty strings"),
    ({"type": "ldap", "use_ssl": "yes", "server_address": "x", "user_search_base": "y"}, "use_ssl must be true or false"),
    ({"type": "github", "oauth_callback_url": "hub.example.org/hub/oauth_callback"}, "not an http"),
])
def test_bad_config_is_refused(config, secrets, auth, message):
    with pytest.raises(ValueError, match=message):
        configure_auth(Config(), dict(config, auth=auth))


def test_not_a_mapping_is_refused(secrets):
    with pytest.raises(ValueError, match="custom.hubops must be a mapping"):
        configure_auth(Config(), None)
    with pytest.raises(ValueError, match="custom.hubops.auth must be a mapping"):
        configure_auth(Config(), {"groups": []})


def test_settings_of_another_type_are_ignored_with_a_warning(config, secrets, caplog):
    caplog.set_level(logging.WARNING)
    _cls, authenticator, _config = make(config, dict(COGNITO_AUTH, allowed_organizations=["dandi"], bind_dn="cn=x"))
    assert "auth type cognito ignores allowed_organizations, bind_dn" in caplog.text
    assert not hasattr(authenticator, "allowed_organizations")


# --- the groups callables, through the authenticators' own get_user_groups ------------------------------------------


def gh_team(org, slug, name=None, parent=None):
    """A team as GitHub's GET /user/teams returns it (trimmed of the URLs GitHub adds)."""
    return {
        "id": abs(hash((org, slug))) % 10 ** 6, "node_id": "MDQ6VGVhbTE=", "name": name or slug.title(), "slug": slug,
        "description": "", "privacy": "closed", "notification_setting": "notifications_enabled", "permission": "pull",
        "url": "https://api.github.com/teams/1", "html_url": "https://github.com/orgs/%s/teams/%s" % (org, slug),
        "members_url": "https://api.github.com/teams/1/members{/member}", "parent": parent,
        "members_count": 3, "repos_count": 10, "created_at": "2020-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        "organization": {"login": org, "id": 4242, "node_id": "MDEyOk9yZ2FuaXphdGlvbjE=", "url": "https://api.github.com/orgs/" + org,
                         "name": org.title(), "company": None, "type": "Organization"},
    }


def test_github_team_groups():
    state = {"teams": [gh_team("DandiArchive", "neuro"), gh_team("dandi", "vision", parent={"slug": "all"}),
                       gh_team("dandi", "neuro"), {"slug": "broken"}, "junk"]}
    assert github_team_groups(state) == ["dandi:neuro", "dandi:vision", "dandiarchive:neuro"]
    assert github_team_groups({}) == [] and github_team_groups(None) == []


def test_github_groups_through_get_user_groups(config, secrets):
    _cls, authenticator, _config = make(config, GITHUB_AUTH)
    state = {"github_user": {"login": "dave"}, "teams": [gh_team("dandi", "neuro"), gh_team("dandi", "ops")]}
    assert run(lambda: authenticator.get_user_groups(state)) == {"dandi:neuro", "dandi:ops"}


def id_token(claims, key="the identity provider signing key (not checked)"):
    return jwt.encode(claims, key, algorithm="HS256")


def test_cognito_groups_from_the_id_token_through_get_user_groups(config, secrets):
    _cls, authenticator, _config = make(config, COGNITO_AUTH)
    token = id_token({"sub": "1", "aud": CLIENT_ID, "cognito:username": "dave", "cognito:groups": ["neuro"],
                      "exp": int(time.time()) - 7200})  # long expired: still the groups it was issued with
    state = {"id_token": token, "oauth_user": {"sub": "1", "username": "dave", "email": "dave@example.org"}}
    assert run(lambda: authenticator.get_user_groups(state)) == {"neuro"}
    # a token issued to another client is ignored; no token, no groups
    other = dict(state, id_token=id_token({"aud": "someone-else", "cognito:groups": ["neuro"]}))
    assert run(lambda: authenticator.get_user_groups(other)) == set()
    assert run(lambda: authenticator.get_user_groups({"oauth_user": {}, "id_token": None})) == set()
    assert run(lambda: authenticator.get_user_groups({"oauth_user": {}, "id_token": "not-a-jwt"})) == set()


def test_oidc_nested_claim_through_get_user_groups(config, secrets):
    _cls, authenticator, _config = make(config, OIDC_AUTH)
    token = id_token({"aud": [CLIENT_ID, "account"], "realm_access": {"roles": ["vision", "offline_access"]}})
    # userinfo without the claim: from the ID token
    state = {"id_token": token, "oauth_user": {"preferred_username": "dave"}}
    assert run(lambda: authenticator.get_user_groups(state)) == {"vision", "offline_access"}
    # userinfo with it wins
    state["oauth_user"]["realm_access"] = {"roles": ["neuro"]}
    assert run(lambda: authenticator.get_user_groups(state)) == {"neuro"}
    # a claim whose name holds a dot is found as is
    dotted = ClaimGroups("https://example.org/groups")
    assert dotted({"oauth_user": {"https://example.org/groups": ["a", "b"]}}) == ["a", "b"]
    assert ClaimGroups("groups")({"oauth_user": {"groups": "single"}}) == ["single"]
    assert ClaimGroups("groups")({"oauth_user": {"groups": {"not": "a list"}}}) == []


# --- a fake identity provider --------------------------------------------------------------------------------------


class FakeIdP:
    """GitHub (token endpoint, /api/v3/user, /user/teams with pagination, org/team membership) and an OAuth2/OIDC
    provider (token endpoint with code and refresh grants, userInfo answering 401 to expired tokens)."""

    page_size = 2

    def __init__(self):
        self.codes = {}          # code -> token response
        self.refreshes = {}      # refresh token -> token response
        self.users = {}          # access token -> user info
        self.teams = {}          # access token -> teams
        self.org_members = {}    # org -> logins
        self.team_members = {}   # (org, slug) -> logins
        self.expired = set()     # access tokens answered with 401
        self.requests = []

    def app(self):
        fake = self

        class Base(web.RequestHandler):
            def token(self):
                header = self.request.headers.get("Authorization", "")
                kind, _sep, value = header.partition(" ")
                return value if kind.lower() == "bearer" else None

            def prepare(self):
                fake.requests.append((self.request.method, self.request.path))

        class Token(Base):
            def post(self):
                form = {key: values[0].decode() for key, values in self.request.body_arguments.items()}
                if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                    self.set_status(401)
                    self.finish({"error": "invalid_client"})
                    return
                if form.get("grant_type") == "authorization_code" and form.get("code") in fake.codes:
                    assert form.get("code_verifier") and form.get("redirect_uri") == CALLBACK
                    self.finish(fake.codes.pop(form["code"]))
                elif form.get("grant_type") == "refresh_token" and form.get("refresh_token") in fake.refreshes:
                    self.finish(fake.refreshes[form["refresh_token"]])
                else:
                    self.set_status(400)
                    self.finish({"error": "invalid_grant"})

        class User(Base):
            def get(self):
                token = self.token()
                if token in fake.expired or token not in fake.users:
                    self.set_status(401)
                    self.finish({"error": "invalid_token"})
                    return
                self.finish(fake.users[token])

        class Teams(Base):
            def get(self):
                teams = fake.teams.get(self.token())
                if teams is None:
                    self.set_status(401)
                    self.finish({"message": "Bad credentials"})
                    return
                page = int(self.get_query_argument("page", "1"))
                chunk = teams[(page - 1) * fake.page_size:page * fake.page_size]
                if page * fake.page_size < len(teams):
                    self.set_header("Link", '<%s/api/v3/user/teams?per_page=100&page=%d>; rel="next", '
                                            '<%s/api/v3/user/teams?per_page=100&page=1>; rel="first"'
                                    % (fake.url, page + 1, fake.url))
                self.set_header("Content-Type", "application/json")
                self.finish(json.dumps(chunk))

        class OrgMember(Base):
            def get(self, org, login):
                self.set_status(204 if login.lower() in fake.org_members.get(org.lower(), ()) else 404)
                self.finish()

        class TeamMember(Base):
            def get(self, org, slug, login):
                self.set_status(204 if login.lower() in fake.team_members.get((org.lower(), slug), ()) else 404)
                self.finish()

        return web.Application([
            (r"/login/oauth/access_token", Token),
            (r"/oauth2/token", Token),
            (r"/api/v3/user", User),
            (r"/oauth2/userInfo", User),
            (r"/api/v3/user/teams", Teams),
            (r"/api/v3/orgs/([^/]+)/members/([^/]+)", OrgMember),
            (r"/api/v3/orgs/([^/]+)/teams/([^/]+)/members/([^/]+)", TeamMember),
        ])

    def github_login(self, code, login, teams):
        token = "gho_" + code
        self.codes[code] = {"access_token": token, "token_type": "bearer", "scope": "read:org"}
        self.users[token] = {"login": login, "id": 1000 + len(self.users), "email": None, "name": login.title()}
        self.teams[token] = list(teams)
        return token

    def oidc_login(self, code, user, claims, refresh_token=None):
        token = "at_" + code
        response = {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                    "id_token": id_token(dict({"aud": CLIENT_ID, "iss": self.url, "exp": int(time.time()) + 3600}, **claims))}
        if refresh_token:
            response["refresh_token"] = refresh_token
        self.codes[code] = response
        self.users[token] = user
        return token


@contextlib.asynccontextmanager
async def fake_idp():
    fake = FakeIdP()
    server = httpserver.HTTPServer(fake.app())
    sockets = netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets(sockets)
    fake.url = "http://127.0.0.1:%d" % sockets[0].getsockname()[1]
    try:
        yield fake
    finally:
        server.stop()
        await server.close_all_connections()


class CallbackHandler:
    """What OAuthenticator reads from the OAuthCallbackHandler: the code and the state cookie (PKCE verifier)."""

    def __init__(self, code):
        self.code = code

    def get_argument(self, name, default=None):
        return self.code if name == "code" else default

    def get_state_cookie(self):
        return _serialize_state({"state_id": "s1", "next_url": None, "code_verifier": "v" * 43})


class StoredUser:
    """A hub user as refresh_user sees it: a name and the stored auth_state."""

    def __init__(self, name, auth_state):
        self.name = name
        self.auth_state = auth_state

    async def get_auth_state(self):
        return copy.deepcopy(self.auth_state)


class FakeGroup:
    def __init__(self, name):
        self.name = name


class FakeUser:
    """The attributes of jupyterhub.user.User that KubeSpawner and hubops_hub.profiles read."""

    def __init__(self, name, groups=(), admin=False):
        self.name = name
        self.groups = [FakeGroup(group) for group in groups]
        self.admin = admin
        self.id = 7
        self.url = "/user/%s/" % name
        self.escaped_name = name


async def profile_slugs(config, model):
    """The profiles the hub offers the user JupyterHub makes from an auth model (groups synced by manage_groups)."""
    user = FakeUser(model["name"], model.get("groups") or [], bool(model.get("admin")))
    spawner = KubeSpawner(_mock=True, user=user)
    spawner.profile_list = make_profile_list(config)
    return [entry["slug"] for entry in await spawner.profile_list(spawner)]


def github_config(config):
    """Two groups found by GitHub team: dandi:neuro -> neuro, dandi:vision -> vision."""
    config = copy.deepcopy(config)
    config["groups"][1]["members"]["github_teams"] = ["dandi:vision"]
    return config


def github_authenticator(config, fake, **auth):
    _cls, authenticator, _config = make(config, dict(GITHUB_AUTH, **auth))
    authenticator.github_url = fake.url  # GitHub Enterprise-style URLs: token and API on the fake
    assert authenticator.github_api == fake.url + "/api/v3"
    return authenticator


# --- GitHub end to end ---------------------------------------------------------------------------------------------


def test_github_login_gives_team_groups_and_their_profiles(config, secrets):
    config = github_config(config)

    async def scenario():
        async with fake_idp() as fake:
            authenticator = github_authenticator(config, fake)
            # three teams over two pages: the pagination GitHubOAuthenticator follows
            fake.github_login("c1", "Dave", [gh_team("dandi", "neuro"), gh_team("other", "x"), gh_team("Dandi", "vision")])
            both = await authenticator.get_authenticated_user(CallbackHandler("c1"), None)
            pages = [path for _method, path in fake.requests].count("/api/v3/user/teams")
            fake.github_login("c2", "Frank", [gh_team("dandi", "neuro")])
            one = await authenticator.get_authenticated_user(CallbackHandler("c2"), None)
            fake.github_login("c3", "Grace", [gh_team("other", "x")])
            outsider = await authenticator.get_authenticated_user(CallbackHandler("c3"), None)
            return pages, both, one, outsider

    pages, both, one, outsider = run(scenario)
    assert both["name"] == "dave" and both["groups"] == ["dandi:neuro", "dandi:vision", "other:x"]
    assert both["auth_state"]["github_user"]["login"] == "Dave" and len(both["auth_state"]["teams"]) == 3
    assert pages == 2
    assert one["groups"] == ["dandi:neuro"]
    # in no team the groups name, not in allowed_users: refused (allowed_groups is the team list)
    assert outsider is None
    # profiles: exactly their groups', a user in two teams gets the union
    assert run(lambda: profile_slugs(config, one)) == ["neuro-small", "neuro-gpu"]
    assert run(lambda: profile_slugs(config, both)) == ["neuro-small", "neuro-gpu", "vision-small"]


def test_github_allowed_organizations_let_org_members_in_with_no_profile(config, secrets):
    config = github_config(config)

    async def scenario():
        async with fake_idp() as fake:
            fake.org_members["dandi"] = {"heidi", "ivan"}
            authenticator = github_authenticator(config, fake, allowed_organizations=["dandi"])
            fake.github_login("c1", "Heidi", [])
            member = await authenticator.get_authenticated_user(CallbackHandler("c1"), None)
            fake.github_login("c2", "Ivan", [gh_team("dandi", "vision")])
            in_team = await authenticator.get_authenticated_user(CallbackHandler("c2"), None)
            fake.github_login("c3", "Judy", [gh_team("dandi", "neuro")])  # a team of the org, but not a member?
            stranger = await authenticator.get_authenticated_user(CallbackHandler("c3"), None)
            fake.github_login("c4", "Alice", [])  # members.users of neuro: allowed without the org
            named = await authenticator.get_authenticated_user(CallbackHandler("c4"), None)
            fake.github_login("c5", "Admin1", [])
            admin = await authenticator.get_authenticated_user(CallbackHandler("c5"), None)
            return member, in_team, stranger, named, admin

    member, in_team, stranger, named, admin = run(scenario)
    assert member["name"] == "heidi" and member["groups"] == []
    with pytest.raises(web.HTTPError) as refused:
        run(lambda: profile_slugs(config, member))
    assert refused.value.status_code == 403 and NO_GROUP in refused.value.jupyterhub_message
    assert in_team["groups"] == ["dandi:vision"]
    assert run(lambda: profile_slugs(config, in_team)) == ["vision-small"]
    # allowed_organizations is the login list: the org API said no (teams are not consulted)
    assert stranger is None
    assert named["name"] == "alice" and run(lambda: profile_slugs(config, named)) == ["neuro-small", "neuro-gpu"]
    assert admin["admin"] is True
    assert run(lambda: profile_slugs(config, admin)) == ["neuro-small", "neuro-gpu", "vision-small"]


def test_github_refresh_picks_up_team_changes(config, secrets):
    config = github_config(config)

    async def scenario():
        async with fake_idp() as fake:
            authenticator = github_authenticator(config, fake)
            token = fake.github_login("c1", "Dave", [gh_team("dandi", "neuro")])
            model = await authenticator.get_authenticated_user(CallbackHandler("c1"), None)
            fake.teams[token] = [gh_team("dandi", "vision")]
            refreshed = await authenticator.refresh_user(StoredUser("dave", model["auth_state"]))
            fake.teams[token] = []
            emptied = await authenticator.refresh_user(StoredUser("dave", refreshed["auth_state"]))
            fake.expired.add(token)
            revoked = await authenticator.refresh_user(StoredUser("dave", emptied["auth_state"]))
            return model, refreshed, emptied, revoked

    model, refreshed, emptied, revoked = run(scenario)
    assert model["groups"] == ["dandi:neuro"]
    assert refreshed["groups"] == ["dandi:vision"]
    assert run(lambda: profile_slugs(config, refreshed)) == ["vision-small"]
    assert emptied["groups"] == []
    assert revoked is False  # a revoked token (no refresh token): log in again


def test_dandi_team_members_skip_the_archive_check(config, secrets):
    config = github_config(config)

    async def scenario():
        async with fake_idp() as fake:
            # an archive nobody listens on: a DANDI check would answer 503
            _cls, authenticator, _config = make(config, dict(GITHUB_AUTH, type="dandi", dandi_api_url="http://127.0.0.1:9"))
            authenticator.github_url = fake.url
            fake.github_login("c1", "Dave", [gh_team("dandi", "neuro")])
            model = await authenticator.get_authenticated_user(CallbackHandler("c1"), None)
            fake.github_login("c2", "Grace", [])
            try:
                await authenticator.get_authenticated_user(CallbackHandler("c2"), None)
            except web.HTTPError as error:
                return model, error
            return model, None

    model, error = run(scenario)
    assert model["groups"] == ["dandi:neuro"]
    assert error is not None and error.status_code == 503  # not a team member: asked the archive (fails closed)


# --- Cognito and OIDC end to end -----------------------------------------------------------------------------------


def cognito_authenticator(config, fake, **auth):
    urls = {"authorize_url": fake.url + "/oauth2/authorize", "token_url": fake.url + "/oauth2/token",
            "userdata_url": fake.url + "/oauth2/userInfo", "logout_url": fake.url + "/logout"}
    _cls, authenticator, _config = make(config, dict(COGNITO_AUTH, **dict(urls, **auth)))
    return authenticator


def cognito_user(name):
    # what Cognito's /oauth2/userInfo answers: no cognito:groups
    return {"sub": "sub-" + name, "username": name, "email": name + "@example.org", "email_verified": "true"}


def test_cognito_login_groups_from_the_id_token(config, secrets):
    config = copy.deepcopy(config)
    config["groups"][0]["members"]["cognito_groups"] = ["neuro"]

    async def scenario():
        async with fake_idp() as fake:
            authenticator = cognito_authenticator(config, fake)
            assert authenticator.allowed_groups == {"neuro", "vision-lab"}
            fake.oidc_login("c1", cognito_user("dave"), {"cognito:username": "dave", "cognito:groups": ["neuro"]})
            neuro = await authenticator.get_authenticated_user(CallbackHandler("c1"), None)
            fake.oidc_login("c2", cognito_user("erika"), {"cognito:username": "erika", "cognito:groups": ["neuro", "vision-lab"]})
            both = await authenticator.get_authenticated_user(CallbackHandler("c2"), None)
            fake.oidc_login("c3", cognito_user("grace"), {"cognito:username": "grace"})  # in no Cognito group
            outsider = await authenticator.get_authenticated_user(CallbackHandler("c3"), None)
            fake.oidc_login("c4", cognito_user("carol"), {"cognito:username": "carol"})  # members.users of vision
            named = await authenticator.get_authenticated_user(CallbackHandler("c4"), None)
            return neuro, both, outsider, named

    neuro, both, outsider, named = run(scenario)
    assert neuro["name"] == "dave" and neuro["groups"] == ["neuro"]
    assert run(lambda: profile_slugs(config, neuro)) == ["neuro-small", "neuro-gpu"]
    assert both["groups"] == ["neuro", "vision-lab"]
    assert run(lambda: profile_slugs(config, both)) == ["neuro-small", "neuro-gpu", "vision-small"]
    assert outsider is None
    assert named["groups"] == [] and run(lambda: profile_slugs(config, named)) == ["vision-small"]


def test_cognito_refresh_after_expiry_gets_new_groups(config, secrets):
    """The access and ID tokens expire: userInfo answers 401, OAuthenticator uses the refresh token, and the new ID
    token's groups become the user's (with userdata_from_id_token this would be an HTTP 500, oauthenticator#793)."""

    async def scenario():
        async with fake_idp() as fake:
            authenticator = cognito_authenticator(config, fake)
            token = fake.oidc_login("c1", cognito_user("dave"), {"cognito:groups": ["vision-lab"], "exp": int(time.time()) - 60},
                                    refresh_token="rt-dave")
            model = await authenticator.get_authenticated_user(CallbackHandler("c1"), None)
            same = await authenticator.refresh_user(StoredUser("dave", model["auth_state"]))
            fake.expired.add(token)
            fake.users["at_new"] = cognito_user("dave")
            # Cognito answers a refresh grant without a new refresh token
            fake.refreshes["rt-dave"] = {"access_token": "at_new", "token_type": "Bearer", "expires_in": 3600,
                                         "id_token": id_token({"aud": CLIENT_ID, "cognito:groups": []})}
            refreshed = await authenticator.refresh_user(StoredUser("dave", model["auth_state"]))
            return model, same, refreshed

    model, same, refreshed = run(scenario)
    assert model["groups"] == ["vision-lab"]
    assert same["groups"] == ["vision-lab"]  # the expired ID token is not a failure
    assert refreshed["auth_state"]["access_token"] == "at_new" and refreshed["auth_state"]["refresh_token"] == "rt-dave"
    assert refreshed["groups"] == []
    with pytest.raises(web.HTTPError) as refused:
        run(lambda: profile_slugs(config, refreshed))
    assert refused.value.status_code == 403


def test_oidc_login_nested_groups_claim(config, secrets):
    async def scenario():
        async with fake_idp() as fake:
            _cls, authenticator, _config = make(config, dict(OIDC_AUTH, authorize_url=fake.url + "/oauth2/authorize",
                                                             token_url=fake.url + "/oauth2/token", userdata_url=fake.url + "/oauth2/userInfo"))
            fake.oidc_login("c1", {"sub": "1", "preferred_username": "Dave"},
                            {"realm_access": {"roles": ["vision", "default-roles"]}})
            return await authenticator.get_authenticated_user(CallbackHandler("c1"), None)

    model = run(scenario)
    assert model["name"] == "dave" and model["groups"] == ["default-roles", "vision"]
    assert run(lambda: profile_slugs(config, model)) == ["vision-small"]


# --- LDAP ----------------------------------------------------------------------------------------------------------

DIRECTORY = {
    "cn=hub,ou=svc,dc=example,dc=org": {"objectClass": ["person"], "cn": "hub", "userPassword": LDAP_PASSWORD},
    "uid=dave,ou=people,dc=example,dc=org": {"objectClass": ["inetOrgPerson"], "uid": "dave", "cn": "Dave", "sn": "D",
                                             "userPassword": "dave-pw"},
    "uid=erika,ou=people,dc=example,dc=org": {"objectClass": ["inetOrgPerson"], "uid": "erika", "cn": "Erika", "sn": "E",
                                              "userPassword": "erika-pw"},
    "uid=grace,ou=people,dc=example,dc=org": {"objectClass": ["inetOrgPerson"], "uid": "grace", "cn": "Grace", "sn": "G",
                                              "userPassword": "grace-pw"},
    NEURO_DN: {"objectClass": ["groupOfNames"], "cn": "neuro",
               "member": ["uid=dave,ou=people,dc=example,dc=org", "uid=erika,ou=people,dc=example,dc=org"]},
    VISION_DN: {"objectClass": ["posixGroup"], "cn": "vision", "gidNumber": "5000", "memberUid": ["erika"]},
    "cn=other,ou=groups,dc=example,dc=org": {"objectClass": ["groupOfNames"], "cn": "other",
                                             "member": ["uid=grace,ou=people,dc=example,dc=org"]},
}


class MockDirectoryLDAP(HubopsLDAPAuthenticator):
    """The connection LDAPAuthenticator opens, on an ldap3 MOCK_SYNC directory instead of a server (same binds:
    the lookup account, then the user; every search runs in ldap3's mock strategy)."""

    server = None
    binds = []

    def get_connection(self, userdn, password):
        conn = ldap3.Connection(self.server, user=userdn, password=password, client_strategy=ldap3.MOCK_SYNC)
        ok = conn.bind()
        self.binds.append((userdn, ok))
        return conn if ok else None


def ldap_authenticator(config, **auth):
    server = ldap3.Server("fake-ldap")
    seed = ldap3.Connection(server, client_strategy=ldap3.MOCK_SYNC)
    for dn, attributes in DIRECTORY.items():
        seed.strategy.add_entry(dn, attributes)
    c = Config()
    assert configure_auth(c, hub_config(config, dict(LDAP_AUTH, **auth))) is HubopsLDAPAuthenticator
    authenticator = MockDirectoryLDAP(config=c)
    authenticator.server = server
    authenticator.binds = []
    return authenticator


def ldap_config(config):
    config = copy.deepcopy(config)
    config["groups"][0]["members"]["ldap_groups"] = [NEURO_DN]
    config["groups"][1]["members"]["ldap_groups"] = [VISION_DN]
    return config


def test_ldap_login_groups_are_the_member_group_dns(config, secrets):
    config = ldap_config(config)
    authenticator = ldap_authenticator(config)
    assert authenticator.allowed_groups == [NEURO_DN, VISION_DN]

    async def login(name, password):
        return await authenticator.get_authenticated_user(None, {"username": name, "password": password})

    dave = run(lambda: login("dave", "dave-pw"))
    assert dave["name"] == "dave" and dave["groups"] == [NEURO_DN]
    # looked up with the bind DN and the password from the environment, then bound as the user
    assert authenticator.binds[:2] == [("cn=hub,ou=svc,dc=example,dc=org", True), ("uid=dave,ou=people,dc=example,dc=org", True)]
    assert run(lambda: profile_slugs(config, dave)) == ["neuro-small", "neuro-gpu"]
    erika = run(lambda: login("erika", "erika-pw"))  # member (groupOfNames) and memberUid (posixGroup)
    assert erika["groups"] == sorted([NEURO_DN, VISION_DN])
    assert run(lambda: profile_slugs(config, erika)) == ["neuro-small", "neuro-gpu", "vision-small"]
    assert run(lambda: login("grace", "grace-pw")) is None  # only in a group no hubops group names
    assert run(lambda: login("dave", "wrong")) is None
    assert run(lambda: login("nobody", "x")) is None


def test_ldap_allowed_groups_admit_without_profiles(config, secrets):
    config = ldap_config(config)
    authenticator = ldap_authenticator(config, allowed_groups=["cn=other,ou=groups,dc=example,dc=org"])
    grace = run(lambda: authenticator.get_authenticated_user(None, {"username": "grace", "password": "grace-pw"}))
    assert grace["groups"] == ["cn=other,ou=groups,dc=example,dc=org"]
    with pytest.raises(web.HTTPError) as refused:
        run(lambda: profile_slugs(config, grace))
    assert refused.value.status_code == 403


def test_ldap_groups_subclass_keeps_refusals(monkeypatch):
    async def refused(self, handler, data):
        return None

    # the parent's None (bad password, failed lookup) stays None
    monkeypatch.setattr(hub_auth.LDAPAuthenticator, "authenticate", refused)
    assert run(lambda: HubopsLDAPAuthenticator(lookup_dn=True).authenticate(None, {})) is None


# --- LDAP TLS: the server's certificate is verified ------------------------------------------------------------------

def _pem_pair(names, issuer=None, days=30):
    """(certificate PEM, key PEM, (cert, key)) for `names` (a CA when issuer is None), made with cryptography."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=days)))
    if issuer is None:
        builder = builder.issuer_name(subject).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        signer = key
    else:
        builder = builder.issuer_name(issuer[0].subject).add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        signer = issuer[1]
    cert = builder.sign(signer, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode(), (cert, key)


@pytest.fixture(scope="module")
def ldap_pki():
    ca_pem, _ca_key, ca = _pem_pair(["hubops test CA"])
    other_ca_pem, _other_key, _other = _pem_pair(["somebody else's CA"])
    good = _pem_pair(["localhost"], issuer=ca)
    wrong_name = _pem_pair(["ldap.elsewhere.example"], issuer=ca)
    return {"ca": ca_pem, "other_ca": other_ca_pem, "good": good[:2], "wrong_name": wrong_name[:2]}


@contextlib.contextmanager
def ldaps_server(tmp_path, cert_pem, key_pem):
    """An LDAPS server on 127.0.0.1 that answers a bind with success and a search (ldap3 reads the root DSE after
    binding) with no entries: enough for ldap3 to complete the TLS handshake, check the certificate and bind."""
    import ssl
    import threading

    (tmp_path / "cert.pem").write_text(cert_pem)
    (tmp_path / "key.pem").write_text(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(10)

    def serve():
        while True:
            try:
                raw, _address = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    while True:
                        request = conn.recv(4096)
                        # LDAPMessage: SEQUENCE, length (short or 0x8N long form), INTEGER messageID, operation
                        at = 2 + (request[1] & 0x7F if request[1] & 0x80 else 0)
                        message_id = request[at + 2:at + 2 + request[at + 1]]
                        answer = {0x60: 0x61, 0x63: 0x65}.get(request[at + 2 + len(message_id)])  # bind, search: done
                        if answer is None:
                            break  # unbind
                        inner = b"\x02" + bytes([len(message_id)]) + message_id + bytes([answer]) + b"\x07\x0a\x01\x00\x04\x00\x04\x00"
                        conn.sendall(b"\x30" + bytes([len(inner)]) + inner)
            except (OSError, IndexError):
                pass  # a client that refused our certificate, or hung up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        listener.close()
        thread.join(5)


def ldaps_bind(config, port, **auth):
    """What LDAPAuthenticator does at login (get_connection: Server + Tls from tls_kwargs, Connection with
    auto_bind) against the local server; the bound connection, or the error ldap3 raised."""
    settings = dict(LDAP_AUTH, server_address="localhost", server_port=port, use_ssl=True, **auth)
    _cls, authenticator, _config = make(config, settings)
    try:
        conn = authenticator.get_connection("uid=alice,ou=people,dc=example,dc=org", "alice-password")
    except ldap3.core.exceptions.LDAPException as exc:
        return exc
    conn.unbind()
    return conn


def test_ldap_tls_verifies_the_server_by_default(config, secrets, ldap_pki, tmp_path):
    """ldap3's Tls defaults to CERT_NONE (any certificate, so any man in the middle gets the passwords): hubops asks
    for CERT_REQUIRED with the server's name, for LDAPS and StartTLS alike; an unknown CA is refused."""
    for settings in (dict(LDAP_AUTH, use_ssl=True), dict(LDAP_AUTH), dict(LDAP_AUTH, start_tls=True)):
        _cls, authenticator, _config = make(config, settings)
        assert authenticator.tls_kwargs["validate"] == ssl.CERT_REQUIRED
        assert authenticator.tls_kwargs["sni"] == "ldap.example.org"
        assert "ca_certs_data" not in authenticator.tls_kwargs  # the system's CAs
    _cls, plain, _config = make(config, dict(LDAP_AUTH, start_tls=False))
    assert plain.tls_kwargs == {}
    with ldaps_server(tmp_path, *ldap_pki["good"]) as port:
        refused = ldaps_bind(config, port)
    assert isinstance(refused, ldap3.core.exceptions.LDAPSocketOpenError)
    assert "certificate verify failed" in str(refused)


def test_ldap_ca_bundle_trusts_the_site_ca_and_still_checks_the_name(config, secrets, ldap_pki, tmp_path):
    with ldaps_server(tmp_path, *ldap_pki["good"]) as port:
        bound = ldaps_bind(config, port, ca_bundle=ldap_pki["ca"])
        assert isinstance(bound, ldap3.Connection), bound
        stranger = ldaps_bind(config, port, ca_bundle=ldap_pki["other_ca"])
        assert "certificate verify failed" in str(stranger)
    with ldaps_server(tmp_path, *ldap_pki["wrong_name"]) as port:
        misnamed = ldaps_bind(config, port, ca_bundle=ldap_pki["ca"])
    assert isinstance(misnamed, ldap3.core.exceptions.LDAPException)
    assert "doesn't match any name" in str(misnamed) and "localhost" in str(misnamed)


def test_ldap_ca_bundle_must_be_pem(config, secrets, caplog):
    with pytest.raises(ValueError, match="ca_bundle must be one or more PEM certificates"):
        configure_auth(Config(), hub_config(config, dict(LDAP_AUTH, ca_bundle="/etc/ssl/certs/site-ca.pem")))
    with caplog.at_level(logging.WARNING):
        _cls, plain, _config = make(config, dict(LDAP_AUTH, start_tls=False, ca_bundle="-----BEGIN CERTIFICATE-----"))
    assert plain.tls_kwargs == {} and "ca_bundle is set but LDAP runs without TLS" in caplog.text
