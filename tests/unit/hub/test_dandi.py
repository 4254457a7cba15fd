# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""hubops_hub.dandi against a fake DANDI API served by tornado on 127.0.0.1 (a random port). Only GitHub is mocked:
`authenticate` returns the auth model GitHubOAuthenticator would build; the DANDI call is real HTTP."""

import asyncio
import contextlib
import json
import socket

import pytest
from hubops_hub.dandi import DandiGitHubOAuthenticator
from tornado import httpserver, netutil, web

TOKEN = "secret-token"
APPROVED = [
    {"username": "Alice", "name": "Alice A.", "admin": False, "status": "APPROVED", "created": "2021-01-01T00:00:00Z"},
    {"username": "alice-b", "name": "Alice B.", "admin": False, "status": "APPROVED", "created": "2022-01-01T00:00:00Z"},
    {"username": "bobby", "name": "Bobby", "admin": False, "status": "APPROVED", "created": "2023-01-01T00:00:00Z"},
]


class FakeDandi:
    """What the archive's users_search_view does: approved users whose GitHub data contains the text, at most 10;
    a token is required. `mode` switches to failures."""

    def __init__(self):
        self.mode = "normal"
        self.requests = []
        self.release = asyncio.Event()

    def handler(self):
        fake = self

        class Search(web.RequestHandler):
            async def get(self):
                fake.requests.append({"path": self.request.path, "query": dict(self.request.query_arguments),
                                      "authorization": self.request.headers.get("Authorization")})
                if fake.mode == "hang":
                    await fake.release.wait()
                    return
                if fake.mode == "500":
                    self.set_status(500)
                    self.finish("<html>Server Error</html>")
                    return
                if fake.mode == "garbage":
                    self.finish("<html>maintenance</html>")
                    return
                if self.request.headers.get("Authorization") != "token " + TOKEN:
                    self.set_status(401)
                    self.finish({"detail": "Authentication credentials were not provided."})
                    return
                text = self.get_query_argument("username").lower()
                found = [user for user in APPROVED if text in json.dumps(user).lower()][:10]
                self.set_header("Content-Type", "application/json")
                self.finish(json.dumps(found))

        return Search


@contextlib.asynccontextmanager
async def fake_dandi():
    fake = FakeDandi()
    app = web.Application([(r"/api/users/search/", fake.handler())])
    server = httpserver.HTTPServer(app)
    sockets = netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets(sockets)
    fake.url = "http://127.0.0.1:%d" % sockets[0].getsockname()[1]
    try:
        yield fake
    finally:
        fake.release.set()
        server.stop()
        await server.close_all_connections()


class GitHubMocked(DandiGitHubOAuthenticator):
    """GitHub's side mocked: `authenticate` returns what GitHubOAuthenticator builds after the OAuth exchange."""

    github_login_name = "Alice"

    async def authenticate(self, handler, data=None):
        login = self.github_login_name
        name = self.normalize_username(login)
        return {
            "name": name,
            "admin": True if name in self.admin_users else None,
            "auth_state": {
                "access_token": "gho_x",
                "token_response": {"access_token": "gho_x", "token_type": "bearer", "scope": "read:user"},
                "github_user": {"login": login, "id": 1, "email": None},
                "scope": ["read:user"],
            },
        }


def authenticator(url, **kwargs):
    kwargs.setdefault("dandi_api_token", TOKEN)
    return GitHubMocked(dandi_api_url=url, client_id="id", client_secret="secret", **kwargs)


async def login(login_name, mode="normal", **kwargs):
    """The hub's login path after GitHub: Authenticator.get_authenticated_user -> check_allowed -> DANDI."""
    async with fake_dandi() as fake:
        fake.mode = mode
        auth = authenticator(kwargs.pop("url", fake.url), **kwargs)
        auth.github_login_name = login_name
        try:
            return await auth.get_authenticated_user(None, {}), fake.requests
        except web.HTTPError as error:
            return error, fake.requests


def message(error):
    return getattr(error, "jupyterhub_message", error.log_message % error.args)


def test_registered_user_is_admitted():
    user, requests = asyncio.run(login("Alice"))
    assert user["name"] == "alice"
    assert requests == [{"path": "/api/users/search/", "query": {"username": [b"Alice"]}, "authorization": "token " + TOKEN}]


def test_registered_user_is_admitted_whatever_the_case():
    user, requests = asyncio.run(login("ALICE"))
    assert user["name"] == "alice" and len(requests) == 1


@pytest.mark.parametrize("login_name", ["carol", "bob", "alice-"])  # nothing found / only longer names found
def test_unregistered_user_is_refused_with_the_register_message(login_name):
    error, requests = asyncio.run(login(login_name))
    assert isinstance(error, web.HTTPError) and error.status_code == 403
    assert "not registered in the DANDI Archive" in message(error)
    assert "register at https://dandiarchive.org first" in message(error)
    assert error.log_message % error.args == message(error)
    assert len(requests) == 1


def test_check_allowed_directly():
    async def scenario():
        async with fake_dandi() as fake:
            auth = authenticator(fake.url)
            model = await auth.authenticate(None)
            assert await auth.check_allowed(model["name"], model) is True
            auth.github_login_name = "mallory"
            model = await auth.authenticate(None)
            with pytest.raises(web.HTTPError) as raised:
                await auth.check_allowed(model["name"], model)
            return raised.value

    assert asyncio.run(scenario()).status_code == 403


def assert_unreachable(error):
    assert isinstance(error, web.HTTPError), "admitted while the DANDI API gave no answer: %r" % (error,)
    assert error.status_code == 503
    assert "could not be reached" in message(error) and "try again later" in message(error)


def test_server_error_fails_closed():
    error, requests = asyncio.run(login("Alice", mode="500"))
    assert_unreachable(error)
    assert len(requests) == 1


def test_answer_that_is_not_json_fails_closed():
    assert_unreachable(asyncio.run(login("Alice", mode="garbage"))[0])


def test_hanging_api_times_out_and_fails_closed():
    async def scenario():
        started = asyncio.get_running_loop().time()
        result = await login("Alice", mode="hang", dandi_api_timeout=0.5)
        return result, asyncio.get_running_loop().time() - started

    (error, requests), elapsed = asyncio.run(scenario())
    assert_unreachable(error)
    assert len(requests) == 1 and elapsed < 5


def test_connection_refused_fails_closed():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error, requests = asyncio.run(login("Alice", url="http://127.0.0.1:%d" % port, dandi_api_timeout=2))
    assert_unreachable(error)
    assert requests == []


def test_missing_or_wrong_token_fails_closed():
    assert_unreachable(asyncio.run(login("Alice", dandi_api_token=""))[0])
    error, requests = asyncio.run(login("Alice", dandi_api_token="wrong"))
    assert_unreachable(error)
    assert requests[0]["authorization"] == "token wrong"


def test_hub_allow_config_admits_without_asking_dandi():
    user, requests = asyncio.run(login("Alice", admin_users={"alice"}))
    assert user["name"] == "alice" and user["admin"] is True
    assert requests == []
    user, requests = asyncio.run(login("dave", mode="500", allowed_users={"dave"}))
    assert user["name"] == "dave" and requests == []


def test_token_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("DANDI_API_TOKEN", "from-env")
    assert DandiGitHubOAuthenticator().dandi_api_token == "from-env"
    assert DandiGitHubOAuthenticator().dandi_api_url == "https://api.dandiarchive.org"
