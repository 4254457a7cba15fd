# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""GitHub login for hubs that serve the DANDI Archive's users (auth_type "dandi").

Use from the hub's jupyterhub_config::

    from hubops_hub.dandi import DandiGitHubOAuthenticator
    c.JupyterHub.authenticator_class = DandiGitHubOAuthenticator
    c.DandiGitHubOAuthenticator.dandi_api_token = os.environ["DANDI_API_TOKEN"]   # the default reads that variable

After GitHub has authenticated the user, `check_allowed` (the hook OAuthenticator documents for subclasses that add
a way to be allowed) admits who the hub's own allow config admits (admin_users, allowed_users, allowed_organizations,
...; like dandi-hub does, so admins can still log in while the archive is down), and otherwise asks the DANDI API
whether the GitHub login is a registered (approved) DANDI user. Do not set `allow_all`: JupyterHub then skips
`check_allowed`, and with it this check. The check runs at login only, not when the hub refreshes a user.

    GET {dandi_api_url}/api/users/search/?username=<github login>
    Authorization: token <dandi_api_token>

The archive answers a JSON list of at most 10 approved, active users whose GitHub data contains the text; the user
is registered when one result's `username` equals the login (case-insensitively, as GitHub logins are). This is the
call dandi-hub's own authenticator makes (dandi/dandi-hub envs/shared/dandi_authenticator.py) against the archive's
`users_search_view` (dandi/dandi-archive dandiapi/api/views/users.py). Because the archive returns only the first
10 matches of a substring search, a short login that occurs in the GitHub data of many other users may be missed:
that user is refused (the safe side), as with dandi-hub.

- registered: allowed;
- not registered: HTTP 403 whose message tells the user to register at the archive first;
- any failure to get an answer (connection error, timeout, non-2xx status, a body that is not a list): HTTP 503
  whose message says the archive could not be reached; never admitted (fail closed).
"""

import os
from urllib.parse import urlencode

from oauthenticator.github import GitHubOAuthenticator
from tornado import web
from traitlets import Float, Unicode, default

DEFAULT_API_URL = "https://api.dandiarchive.org"
DEFAULT_REGISTER_URL = "https://dandiarchive.org"


class DandiUnreachable(Exception):
    """The DANDI API gave no usable answer."""


def _refusal(status, message):
    """An HTTPError whose message JupyterHub's error page shows as is (log_message is a format string)."""
    error = web.HTTPError(status, "%s", message)
    error.jupyterhub_message = message
    return error


class DandiGitHubOAuthenticator(GitHubOAuthenticator):
    """GitHubOAuthenticator that also admits GitHub users registered in the DANDI Archive."""

    dandi_api_url = Unicode(
        DEFAULT_API_URL,
        config=True,
        help="Base URL of the DANDI Archive API (without /api).",
    ).tag(allow_config=True)

    dandi_api_token = Unicode(
        config=True,
        help="DANDI API token sent as 'Authorization: token ...' (the users search needs an approved account). "
        "Defaults to the DANDI_API_TOKEN environment variable.",
    )

    dandi_api_timeout = Float(
        10.0,
        config=True,
        help="Seconds to wait for the DANDI API (connect and whole request) before refusing the login.",
    )

    dandi_register_url = Unicode(
        DEFAULT_REGISTER_URL,
        config=True,
        help="Where users register with the DANDI Archive; shown to users who are not registered.",
    )

    @default("dandi_api_token")
    def _dandi_api_token_default(self):
        return os.environ.get("DANDI_API_TOKEN", "")

    def github_login(self, username, auth_model):
        """The GitHub login of the authenticated user (the unnormalised name), else the hub username."""
        auth_state = (auth_model or {}).get("auth_state") or {}
        github_user = auth_state.get(self.user_auth_state_key) or {}
        return github_user.get("login") or username

    async def dandi_registered(self, login):
        """True when `login` is a registered DANDI user, False when not; DandiUnreachable when the API gave no
        usable answer."""
        url = "%s/api/users/search/?%s" % (self.dandi_api_url.rstrip("/"), urlencode({"username": login}))
        headers = {"Accept": "application/json", "User-Agent": "JupyterHub (hubops.eks)"}
        if self.dandi_api_token:
            headers["Authorization"] = "token %s" % self.dandi_api_token
        else:
            self.log.warning("dandi_api_token is not set; the DANDI users search will likely refuse the request")
        try:
            found = await self.httpfetch(
                url,
                label="checking DANDI registration",
                method="GET",
                headers=headers,
                connect_timeout=self.dandi_api_timeout,
                request_timeout=self.dandi_api_timeout,
            )
        except Exception as error:
            # connection refused, DNS, TLS, timeouts (HTTP 599), non-2xx answers and bodies that are not JSON all
            # mean "no answer": fail closed
            raise DandiUnreachable("%s: %s" % (type(error).__name__, error)) from error
        if not isinstance(found, list):
            raise DandiUnreachable("the DANDI API answered %s, not a list of users" % type(found).__name__)
        wanted = login.casefold()
        for user in found:
            if isinstance(user, dict) and str(user.get("username", "")).casefold() == wanted:
                # the archive only lists approved users; refuse anyone it explicitly says is not approved
                return str(user.get("status", "APPROVED")).upper() == "APPROVED"
        return False

    async def check_allowed(self, username, auth_model):
        if await super().check_allowed(username, auth_model):
            return True
        login = self.github_login(username, auth_model)
        try:
            registered = await self.dandi_registered(login)
        except DandiUnreachable as error:
            self.log.error("Refusing %s: could not check DANDI registration at %s: %s", login, self.dandi_api_url, error)
            raise _refusal(
                503,
                "The DANDI Archive (%s) could not be reached to check that GitHub user %s is registered there. "
                "Please try again later." % (self.dandi_api_url, login),
            ) from error
        if registered:
            self.log.info("Allowing %s: registered in the DANDI Archive", login)
            return True
        self.log.warning("Refusing %s: not a registered DANDI Archive user", login)
        raise _refusal(
            403,
            "GitHub user %s is not registered in the DANDI Archive. Please register at %s first (log in there with "
            "this GitHub account and wait for the approval), then log in here again." % (login, self.dandi_register_url),
        )
