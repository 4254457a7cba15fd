# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The hub's authenticator, configured from the `custom.hubops` chart value (non-secret settings under `auth`) and
the hub pod's environment (secrets).

Use from the hub's jupyterhub_config (z2jh hub.extraConfig, which runs after hub.config has been loaded, so these
settings win over the same ones set there)::

    from hubops_hub.auth import configure_auth
    configure_auth(c, get_config("custom.hubops"))

Each authenticated user's JupyterHub groups (`manage_groups`) are the names `hubops_hub.profiles` matches against
a group's `members`: ``<org>:<team>`` for GitHub, the Cognito groups, the OIDC groups claim, the LDAP group DNs.

`config["auth"]` (only `type` is required; keys of another auth type are ignored with a warning, unknown keys stop
the hub)::

    type: github | dandi | cognito | oidc | ldap | dummy
    admins: [name, ...]                   # JupyterHub admins (allowed to log in, in every hubops group)
    allowed_users: [name, ...]            # allowed to log in (every group's members.users are added)
    all_member_groups: [name, ...]        # union of the groups' members of this auth type (see "Who may log in")
    # github, dandi, cognito, oidc
    oauth_callback_url: https://<domain>/hub/oauth_callback
    scope: [...]                          # github: must contain read:org (default [read:org]);
                                          # cognito/oidc: must contain openid (default [openid, email, profile])
    username_claim: ...                   # github: login; cognito: username; oidc: preferred_username
    # github, dandi
    allowed_organizations: [org, org:team, ...]
    dandi_api_url: https://api.dandiarchive.org     # dandi only
    dandi_register_url: https://dandiarchive.org    # dandi only
    # cognito, oidc
    authorize_url, token_url, userdata_url: ...     # all three required; token_url must be https
    logout_url: ...                       # cognito: the hosted UI's /logout; oidc: the full URL to send users to
    groups_claim: ...                     # cognito: cognito:groups; oidc: groups ("a.b" = nested claim)
    # ldap
    server_address: ldap.example.org      # required
    server_port: 636                      # default 636 with use_ssl, else 389
    use_ssl: false                        # LDAPS (TLS from the first byte)
    start_tls: true                       # StartTLS before binding (the default); false without use_ssl = plain text
    ca_bundle: "-----BEGIN CERTIFICATE-----..."     # PEM CA(s) for the server's certificate (default: the system's)
    bind_dn: cn=hub,ou=svc,dc=example,dc=org        # the lookup account (anonymous lookup when absent)
    user_search_base: ou=people,dc=example,dc=org   # required
    user_attribute: uid                   # the attribute holding the login name (sAMAccountName for AD)
    allowed_groups: [group DN, ...]       # members may log in (as do members of all_member_groups)

Secrets, from the hub pod's environment (a missing or empty one stops the hub with a ValueError naming it):

- HUBOPS_OAUTH_CLIENT_ID, HUBOPS_OAUTH_CLIENT_SECRET: github, dandi, cognito, oidc;
- HUBOPS_LDAP_BIND_PASSWORD: ldap, when bind_dn is set;
- DANDI_API_TOKEN: dandi (the archive's users search needs it).

Who may log in (never `allow_all`, except for dummy, a test authenticator that lets any name in unless
allowed_users is set): admins, allowed_users and every hubops group's `members.users`; plus

- github/dandi: members of `allowed_organizations` when it is set (checked by GitHubOAuthenticator against the
  GitHub API), otherwise members of the teams in `all_member_groups` (OAuthenticator `allowed_groups`, matched
  against the user's teams); dandi also admits any GitHub user registered in the DANDI Archive (hubops_hub.dandi);
- cognito/oidc: members of the `all_member_groups` groups (OAuthenticator `allowed_groups`);
- ldap: members of `allowed_groups` and of the `all_member_groups` group DNs (LDAPAuthenticator `allowed_groups`).

`allow_existing_users` is off: a user is not allowed again just because the hub's database knows them (JupyterHub
otherwise turns it on when allowed_users is set), so leaving every group locks a user out at the next login.

Decisions:

- GitHub: groups are ``<org login>:<team slug>`` lower-cased (GitHub ignores case in both; profiles.py compares
  github_teams case-insensitively, OAuthenticator's `allowed_groups` exactly, so both sides are lower-cased) from
  `auth_state["teams"]`, the /user/teams list GitHubOAuthenticator fetches with `populate_teams_in_auth_state`
  (needs the read:org scope; with a GitHub App, the "Members: read" organization permission instead). An
  organization with OAuth app access restrictions only shows its teams once it has approved the app.
- Cognito's /oauth2/userInfo does not return cognito:groups; the ID token does. `userdata_from_id_token` (read the
  user from the ID token instead of userInfo) exists in OAuthenticator 17.4.0, but its `refresh_user` then decodes
  the stored ID token with expiry checked and fails with HTTP 500 once it has expired (1 hour by default for
  Cognito) instead of refreshing (jupyterhub/oauthenticator#793). So the user comes from userInfo, which answers
  401 to an expired access token so that `refresh_user` uses the refresh token and gets a new ID token, and the
  groups come from the claim in the userInfo answer or else in `auth_state["id_token"]`. Cognito's `username`
  (userInfo) is the pool's user name: unique, immutable and case-insensitive in the pool hubops creates (no
  UsernameAttributes), what admins see and type in admins/allowed_users; `email` can change and be reused.
- Cognito logout: JupyterHub's logout redirects to ``<logout_url>?client_id=..&logout_uri=https://<domain>/hub/login``
  (Cognito ends its own session, then returns there). The logout_uri must be one of the app client's LogoutURLs;
  it is not /hub/logout, which would redirect to Cognito again, for ever. A logout_url with a query is used as is.
- Refresh: `auth_refresh_age` stays at 300 s and `refresh_pre_spawn` is on (OAuth types, `enable_auth_state`), so
  groups are fetched again at each login, before each spawn and every 5 minutes of activity. 0 would not do: in
  JupyterHub 5.5 it turns `refresh_pre_spawn` off as well (BaseHandler.refresh_auth returns before `force`).
  auth_state is encrypted with CryptKeeper keys, which z2jh 4.x generates and keeps in the hub Secret.
- LDAP: LDAPAuthenticator 2.0.2 does not return groups (JupyterHub refuses the login when `manage_groups` is on and
  the auth model has none); it records the `allowed_groups` DNs the user belongs to in `auth_state["ldap_groups"]`
  (a BASE search of each group DN with `group_search_filter`, member/uniqueMember/memberUid, bound as the user).
  `HubopsLDAPAuthenticator` returns those as the user's groups, and every hubops ldap_groups DN is added to
  `allowed_groups` so that it is searched. Group DNs are compared as written in the inventory. The login name is
  looked up under `user_search_base` by `user_attribute` (lookup_dn), then the user's own DN is bound.
"""

import ipaddress
import os
import ssl
from urllib.parse import urlencode, urlparse

import jwt
from jupyterhub.auth import DummyAuthenticator
from ldapauthenticator import LDAPAuthenticator
from oauthenticator.generic import GenericOAuthenticator
from oauthenticator.github import GitHubOAuthenticator
from traitlets import log as traitlets_log

from .dandi import DandiGitHubOAuthenticator

ENV_CLIENT_ID = "HUBOPS_OAUTH_CLIENT_ID"
ENV_CLIENT_SECRET = "HUBOPS_OAUTH_CLIENT_SECRET"
ENV_LDAP_PASSWORD = "HUBOPS_LDAP_BIND_PASSWORD"
ENV_DANDI_TOKEN = "DANDI_API_TOKEN"

TYPES = ("github", "dandi", "cognito", "oidc", "ldap", "dummy")
COMMON_KEYS = ("type", "admins", "allowed_users", "all_member_groups")
OAUTH_KEYS = ("oauth_callback_url", "scope", "username_claim")
GITHUB_KEYS = OAUTH_KEYS + ("allowed_organizations",)
GENERIC_KEYS = OAUTH_KEYS + ("authorize_url", "token_url", "userdata_url", "logout_url", "groups_claim")
LDAP_KEYS = ("server_address", "server_port", "use_ssl", "start_tls", "ca_bundle", "bind_dn", "user_search_base",
             "user_attribute", "allowed_groups")
KEYS = {
    "github": COMMON_KEYS + GITHUB_KEYS,
    "dandi": COMMON_KEYS + GITHUB_KEYS + ("dandi_api_url", "dandi_register_url"),
    "cognito": COMMON_KEYS + GENERIC_KEYS,
    "oidc": COMMON_KEYS + GENERIC_KEYS,
    "ldap": COMMON_KEYS + LDAP_KEYS,
    "dummy": COMMON_KEYS,
}
ALL_KEYS = frozenset(key for keys in KEYS.values() for key in keys)

GITHUB_SCOPE = ["read:org"]
OIDC_SCOPE = ["openid", "email", "profile"]
DEFAULT_USERNAME_CLAIM = {"cognito": "username", "oidc": "preferred_username"}
DEFAULT_GROUPS_CLAIM = {"cognito": "cognito:groups", "oidc": "groups"}
LOGIN_SERVICE = {"cognito": "Amazon Cognito"}
AUTH_REFRESH_AGE = 300


def _log():
    return traitlets_log.get_logger()


# --- groups from what the identity provider returned -------------------------------------------------------------


def github_team_groups(auth_state):
    """``<org login>:<team slug>`` (lower case) for each team in `auth_state["teams"]`, the /user/teams list
    GitHubOAuthenticator stores there with `populate_teams_in_auth_state`; sorted, without duplicates.
    OAuthenticator calls this as `auth_state_groups_key(auth_state)` at login and at each refresh."""
    groups = set()
    for team in (auth_state or {}).get("teams") or []:
        if not isinstance(team, dict):
            continue
        org = (team.get("organization") or {}).get("login")
        slug = team.get("slug")
        if org and slug:
            groups.add("%s:%s" % (str(org).lower(), str(slug).lower()))
    return sorted(groups)


def claim_value(claims, claim):
    """`claims[claim]`, else the nested value for a dotted claim ("realm_access.roles"); None when absent."""
    if not isinstance(claims, dict):
        return None
    if claim in claims:
        return claims[claim]
    value = claims
    for part in claim.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def id_token_claims(auth_state, audience=None):
    """The payload of `auth_state["id_token"]` ({} when there is none or it cannot be read).

    The signature is not verified, and neither is the expiry: the token is only ever the one OAuthenticator got
    in the response of the token endpoint (at login, or at a refresh with the refresh token), which it called
    itself over TLS with the client secret (configure_auth refuses a token_url that is not https, loopback test
    servers aside); OpenID Connect Core 1.0 §3.1.3.7 allows TLS server validation in place of the signature
    check for such a token. An expired token is still the right record of the groups the user had when it was
    issued, and refresh_user replaces it once the access token has expired. `audience` (the client id) is
    checked against `aud` as a guard against a token meant for another client."""
    token = (auth_state or {}).get("id_token")
    if not token:
        return {}
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        _log().error("hubops: cannot read the ID token: %s", error)
        return {}
    if not isinstance(claims, dict):
        return {}
    if audience:
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if aud is not None and audience not in auds:
            _log().error("hubops: ignoring an ID token issued to another client (aud %r)", aud)
            return {}
    return claims


def _group_names(value, claim):
    if value is None:
        return None
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple, set)):
        return sorted({str(item) for item in value if isinstance(item, (str, int)) and str(item)})
    _log().error("hubops: the %r claim is not a list of group names: %r", claim, type(value).__name__)
    return []


class ClaimGroups:
    """`auth_state_groups_key` for GenericOAuthenticator: the group names in `claim` (dotted for nested claims) of
    the userinfo answer (`auth_state[user_key]`), or else of the ID token (Cognito puts cognito:groups only in
    the tokens). A user without the claim has no groups."""

    def __init__(self, claim, audience=None, user_key="oauth_user"):
        self.claim = claim
        self.audience = audience
        self.user_key = user_key

    def __call__(self, auth_state):
        auth_state = auth_state or {}
        groups = _group_names(claim_value(auth_state.get(self.user_key), self.claim), self.claim)
        if groups is None:
            groups = _group_names(claim_value(id_token_claims(auth_state, self.audience), self.claim), self.claim)
        return groups or []

    def __eq__(self, other):
        return isinstance(other, ClaimGroups) and (other.claim, other.audience, other.user_key) == (
            self.claim, self.audience, self.user_key)

    def __repr__(self):
        return "ClaimGroups(%r)" % (self.claim,)


class HubopsLDAPAuthenticator(LDAPAuthenticator):
    """LDAPAuthenticator whose auth model carries `groups`: the `allowed_groups` DNs the user is a member of, which
    LDAPAuthenticator 2.0.2 finds at login and keeps in `auth_state["ldap_groups"]` only. configure_auth turns
    `manage_groups` on, so JupyterHub sets exactly these as the user's groups at each login."""

    async def authenticate(self, handler, data):
        model = await super().authenticate(handler, data)
        if isinstance(model, dict):
            found = (model.get("auth_state") or {}).get("ldap_groups") or []
            model["groups"] = sorted(set(found))
        return model


# --- configuration -------------------------------------------------------------------------------------------------


def _secret(environ, name, why):
    value = environ.get(name, "")
    if not value.strip():
        raise ValueError("hubops auth: the hub's environment has no %s (%s); set it in the hubops-hub-auth Secret"
                         % (name, why))
    return value.strip()


def _strings(auth, key):
    value = auth.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple, set)):
        raise ValueError("hubops auth: %s must be a list of strings, got %r" % (key, value))
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError("hubops auth: %s must be a list of non-empty strings, got %r" % (key, value))
        if item.strip() not in out:
            out.append(item.strip())
    return out


def _string(auth, key, default=None):
    value = auth.get(key)
    if value in (None, ""):
        return default
    if not isinstance(value, str):
        raise ValueError("hubops auth: %s must be a string, got %r" % (key, value))
    return value.strip()


def _bool(auth, key):
    value = auth.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ValueError("hubops auth: %s must be true or false, got %r" % (key, value))


def _url(auth, key, kind, required=True):
    value = _string(auth, key)
    if value is None:
        if required:
            raise ValueError("hubops auth: %s needs %s" % (kind, key))
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ValueError("hubops auth: %s %r is not an http(s) URL" % (key, value))
    return value


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _names(names):
    out = []
    for name in names:
        if name.lower() not in out:
            out.append(name.lower())
    return out


def _member_users(config):
    users = []
    for group in (config or {}).get("groups") or []:
        for name in ((group or {}).get("members") or {}).get("users") or []:
            if isinstance(name, str) and name.strip() and name.strip() not in users:
                users.append(name.strip())
    return users


def _check_keys(auth, kind, log):
    unknown = sorted(key for key in auth if key not in ALL_KEYS)
    if unknown:
        raise ValueError("hubops auth: unknown setting(s) %s (known: %s)" % (", ".join(unknown), ", ".join(sorted(ALL_KEYS))))
    ignored = sorted(key for key in auth if key not in KEYS[kind] and auth[key] not in (None, "", [], {}))
    if ignored:
        log.warning("hubops: auth type %s ignores %s", kind, ", ".join(ignored))


def _configure_oauth(section, auth, kind, environ):
    section.client_id = _secret(environ, ENV_CLIENT_ID, "the OAuth client id for auth type %s" % kind)
    section.client_secret = _secret(environ, ENV_CLIENT_SECRET, "the OAuth client secret for auth type %s" % kind)
    callback = _url(auth, "oauth_callback_url", kind, required=False)
    if callback:
        section.oauth_callback_url = callback
    claim = _string(auth, "username_claim", DEFAULT_USERNAME_CLAIM.get(kind))
    if claim:
        section.username_claim = claim
    section.enable_auth_state = True
    section.manage_groups = True
    section.refresh_pre_spawn = True
    section.auth_refresh_age = AUTH_REFRESH_AGE
    return callback


def _configure_github(section, auth, kind, member_groups, environ):
    _configure_oauth(section, auth, kind, environ)
    scope = _strings(auth, "scope") or list(GITHUB_SCOPE)
    if "read:org" not in scope:
        raise ValueError("hubops auth: the GitHub scope must contain read:org (teams and private memberships), got %r"
                         % (scope,))
    section.scope = scope
    section.populate_teams_in_auth_state = True
    section.auth_state_groups_key = github_team_groups
    for team in member_groups:
        if team.count(":") != 1 or not all(team.split(":")):
            raise ValueError("hubops auth: GitHub team %r is not <org>:<team-slug>" % (team,))
    organizations = _strings(auth, "allowed_organizations")
    if organizations:
        section.allowed_organizations = set(organizations)
    elif member_groups:
        section.allowed_groups = {team.lower() for team in member_groups}
    if kind == "dandi":
        section.dandi_api_token = _secret(environ, ENV_DANDI_TOKEN, "the DANDI Archive API token for auth type dandi")
        for key in ("dandi_api_url", "dandi_register_url"):
            value = _url(auth, key, kind, required=False)
            if value:
                setattr(section, key, value)


def _cognito_logout(logout_url, client_id, callback, log):
    if "?" in logout_url:
        return logout_url
    if not callback:
        log.warning("hubops: no oauth_callback_url, so no Cognito logout URL (logging out of the hub leaves the "
                    "Cognito session)")
        return None
    back = callback.rsplit("/", 1)[0] + "/login"
    return logout_url + "?" + urlencode({"client_id": client_id, "logout_uri": back})


def _configure_generic(section, auth, kind, member_groups, environ, log):
    callback = _configure_oauth(section, auth, kind, environ)
    for key in ("authorize_url", "token_url", "userdata_url"):
        setattr(section, key, _url(auth, key, kind))
    token_host = urlparse(section.token_url).hostname
    if urlparse(section.token_url).scheme != "https" and not _is_loopback(token_host):
        raise ValueError("hubops auth: token_url must be https (the ID token it returns is trusted as sent), got %r"
                         % (section.token_url,))
    scope = _strings(auth, "scope") or list(OIDC_SCOPE)
    if "openid" not in scope:
        raise ValueError("hubops auth: the %s scope must contain openid (ID token and userinfo), got %r" % (kind, scope))
    section.scope = scope
    claim = _string(auth, "groups_claim", DEFAULT_GROUPS_CLAIM[kind])
    section.auth_state_groups_key = ClaimGroups(claim, audience=section.client_id)
    if member_groups:
        section.allowed_groups = set(member_groups)
    if kind in LOGIN_SERVICE:
        section.login_service = LOGIN_SERVICE[kind]
    logout = _url(auth, "logout_url", kind, required=False)
    if logout:
        if kind == "cognito":
            logout = _cognito_logout(logout, section.client_id, callback, log)
        if logout:
            section.logout_redirect_url = logout


def _configure_ldap(section, auth, member_groups, environ, log):
    section.server_address = _string(auth, "server_address") or _missing("ldap", "server_address")
    port = auth.get("server_port")
    if port not in (None, ""):
        if isinstance(port, bool) or not isinstance(port, (int, str)) or not str(port).isdigit() or not 0 < int(port) < 65536:
            raise ValueError("hubops auth: server_port must be a port number, got %r" % (port,))
        section.server_port = int(port)
    use_ssl, start_tls = _bool(auth, "use_ssl"), _bool(auth, "start_tls")
    if use_ssl and start_tls:
        raise ValueError("hubops auth: use_ssl (LDAPS) and start_tls exclude each other; set one")
    if use_ssl:
        section.tls_strategy = "on_connect"
    elif start_tls is False:
        log.warning("hubops: LDAP without TLS (use_ssl and start_tls off): passwords cross the network in clear text")
        section.tls_strategy = "insecure"
    else:
        section.tls_strategy = "before_bind"
    if section.tls_strategy == "insecure":
        if _string(auth, "ca_bundle"):
            log.warning("hubops: ca_bundle is set but LDAP runs without TLS (use_ssl and start_tls off); it is not used")
    else:
        section.tls_kwargs = _ldap_tls(auth, section.server_address)
    section.lookup_dn = True
    section.user_search_base = _string(auth, "user_search_base") or _missing("ldap", "user_search_base")
    attribute = _string(auth, "user_attribute", "uid")
    section.user_attribute = attribute
    section.lookup_dn_user_dn_attribute = attribute
    bind_dn = _string(auth, "bind_dn")
    if bind_dn:
        section.lookup_dn_search_user = bind_dn
        section.lookup_dn_search_password = _secret(environ, ENV_LDAP_PASSWORD, "the password of bind_dn %s" % bind_dn)
    groups = _strings(auth, "allowed_groups")
    for dn in member_groups:
        if dn not in groups:
            groups.append(dn)
    if groups:
        section.allowed_groups = groups
    section.manage_groups = True


def _ldap_tls(auth, server_address):
    """ldap3 Tls arguments that verify the server: ldap3 (2.9) defaults to validate=CERT_NONE, which takes any
    certificate, so a man in the middle would get every password. CERT_REQUIRED against ca_bundle (PEM) or the
    system's CAs; ldap3 then checks the certificate names server_address after the handshake (LDAPS and StartTLS)."""
    tls = {"validate": ssl.CERT_REQUIRED, "sni": server_address}
    bundle = _string(auth, "ca_bundle")
    if bundle:
        try:
            ssl.create_default_context(cadata=bundle)
        except (ssl.SSLError, ValueError) as exc:
            raise ValueError("hubops auth: ca_bundle must be one or more PEM certificates (-----BEGIN CERTIFICATE-----...): %s"
                             % exc)
        tls["ca_certs_data"] = bundle
    return tls


def _missing(kind, key):
    raise ValueError("hubops auth: %s needs %s" % (kind, key))


AUTHENTICATORS = {
    "github": GitHubOAuthenticator,
    "dandi": DandiGitHubOAuthenticator,
    "cognito": GenericOAuthenticator,
    "oidc": GenericOAuthenticator,
    "ldap": HubopsLDAPAuthenticator,
    "dummy": DummyAuthenticator,
}


def configure_auth(c, config, environ=None):
    """Set the authenticator in the traitlets config `c` from `config["auth"]` (the `custom.hubops` value) and the
    secrets in `environ` (default: os.environ); see the module docstring. Returns the authenticator class.
    Raises ValueError for a bad config or a missing secret (the hub then stops at start)."""
    log = _log()
    environ = os.environ if environ is None else environ
    if not isinstance(config, dict):
        raise ValueError("custom.hubops must be a mapping, got %r" % (type(config).__name__,))
    auth = config.get("auth")
    if not isinstance(auth, dict):
        raise ValueError("custom.hubops.auth must be a mapping with at least a type, got %r" % (auth,))
    kind = auth.get("type")
    if kind not in TYPES:
        raise ValueError("hubops auth: unknown type %r (one of %s)" % (kind, ", ".join(TYPES)))
    _check_keys(auth, kind, log)

    cls = AUTHENTICATORS[kind]
    c.JupyterHub.authenticator_class = cls
    section = c[cls.__name__]
    # JupyterHub lower-cases user names (Authenticator.normalize_username) and these sets once the hub starts;
    # lower-cased here already, the sets are also right for an authenticator built from `c` alone.
    admins = _names(_strings(auth, "admins"))
    allowed = _names(_strings(auth, "allowed_users"))
    member_groups = _strings(auth, "all_member_groups")
    if admins:
        section.admin_users = set(admins)

    if kind == "dummy":
        if allowed:
            section.allowed_users = set(allowed)
        log.warning("hubops: auth type dummy (DummyAuthenticator) is for tests only: %s",
                    "only allowed_users and admins may log in" if allowed else "any name logs in without a password")
        return cls

    for name in _names(_member_users(config)):
        if name not in allowed:
            allowed.append(name)
    if allowed:
        section.allowed_users = set(allowed)
    section.allow_all = False
    section.allow_existing_users = False

    if kind in ("github", "dandi"):
        _configure_github(section, auth, kind, member_groups, environ)
    elif kind in ("cognito", "oidc"):
        _configure_generic(section, auth, kind, member_groups, environ, log)
    else:
        _configure_ldap(section, auth, member_groups, environ, log)

    by_group = "allowed_organizations" if section.get("allowed_organizations") else "allowed_groups"
    log.info("hubops: authenticator %s (auth type %s): %d admins, %d allowed users, %d %s", cls.__name__, kind,
             len(admins), len(allowed), len(section.get(by_group) or ()), by_group)
    if not (admins or allowed or section.get(by_group) or kind == "dandi"):
        log.warning("hubops: auth type %s with no admins, allowed users or groups: nobody can log in", kind)
    return cls
