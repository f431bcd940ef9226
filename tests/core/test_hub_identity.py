"""HubIdentity against a local stand-in for the hub's ``GET /hub/api/user``.

The stand-in answers the way the hub does (the token in the Authorization
header identifies its owner; unknown tokens get 403) and counts requests, so
caching and coalescing are observable.
"""

import asyncio
import json

import pytest
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from ngshare.app import build, make_application, run_hooks
from tests.conftest import empty_all_tables

SERVICE_TOKEN = "service-secret"
USERS = {
    "tok-kevin": {
        "kind": "user",
        "name": "kevin",
        "admin": False,
        "groups": ["teachers"],
        "scopes": [],
    },
    "tok-boss": {"kind": "user", "name": "boss", "admin": True, "groups": [], "scopes": []},
    "tok-scoped": {
        "kind": "user",
        "name": "sam",
        "admin": False,
        "groups": [],
        "scopes": ["access:services!service=ngshare"],
    },
    "tok-svc": {"kind": "service", "name": "other-service", "scopes": []},
}


class FakeHubUser(web.RequestHandler):
    """``/hub/api/user``: answers for the token in Authorization (any token may identify itself)."""

    def initialize(self, log):
        self.log_ = log

    async def get(self):
        header = self.request.headers.get("Authorization", "")
        self.log_.append(header)
        self.application.settings.setdefault("agents", []).append(
            self.request.headers.get("User-Agent", "")
        )
        token = header.partition(" ")[2]
        if self.application.settings.get("hub_down"):
            raise web.HTTPError(502)
        await asyncio.sleep(0.05)  # a real round trip, so concurrent lookups overlap
        if token not in USERS:
            raise web.HTTPError(403)
        self.write(json.dumps(USERS[token]))


#: What ``/hub/api/users/<name>`` answers: every field, whatever a token's model leaves out.
FULL_MODELS = {m["name"]: dict(m) for m in USERS.values() if m["kind"] == "user"}


class FakeHubUserModel(web.RequestHandler):
    """``/hub/api/users/<name>``: the full model, for the service's own token only."""

    def initialize(self, log):
        self.log_ = log

    async def get(self, name):
        self.log_.append(f"users/{name} " + self.request.headers.get("Authorization", ""))
        if self.request.headers.get("Authorization") != f"token {SERVICE_TOKEN}":
            raise web.HTTPError(403)
        if name not in FULL_MODELS:
            raise web.HTTPError(404)
        self.write(json.dumps(FULL_MODELS[name]))


@pytest.fixture
def hub_log():
    return []


@pytest.fixture
def fake_hub(io_loop, hub_log):
    sock, port = bind_unused_port()
    app = web.Application(
        [
            (r"/hub/api/user", FakeHubUser, {"log": hub_log}),
            (r"/hub/api/users/([^/]+)", FakeHubUserModel, {"log": hub_log}),
        ]
    )
    server = HTTPServer(app)
    server.add_sockets([sock])
    yield app, f"http://127.0.0.1:{port}/hub/api"
    server.stop()


@pytest.fixture
def hub_server(make_config, fake_hub, io_loop, monkeypatch):
    _, api_url = fake_hub
    monkeypatch.setenv("JUPYTERHUB_API_URL", api_url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/api/")
    monkeypatch.setenv("JUPYTERHUB_CLIENT_ID", "service-ngshare")
    from ngshare.config import NgShare

    base = make_config()
    config = NgShare(
        db_url=base.db_url,
        storage_path=base.storage_path,
        admins=["root"],
        config_file="",
        data_dir=base.storage_path + "-data",
    )
    ctx, plugins = build(config)
    empty_all_tables(ctx.db.engine)  # what earlier tests left in the session's database
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    yield ctx
    ctx.close()


@pytest.fixture
def app(hub_server):
    return make_application(hub_server, hub_server.plugins)


async def get(http_client, base_url, path, token=None, scheme="token"):
    headers = {"Authorization": f"{scheme} {token}"} if token else {}
    try:
        r = await http_client.fetch(base_url + "/api/" + path, headers=headers)
    except HTTPClientError as e:
        r = e.response
    return r.code, json.loads(r.body)


@pytest.mark.gen_test
async def test_a_known_token_is_identified_and_then_served_from_cache(
    http_client, base_url, hub_log
):
    for _ in range(5):
        assert await get(http_client, base_url, "courses", "tok-kevin") == (
            200,
            {"success": True, "courses": []},
        )
    assert len(hub_log) == 1
    assert hub_log[0] == "token tok-kevin"  # the caller's token identifies itself


@pytest.mark.gen_test
async def test_bearer_and_token_schemes_both_work(http_client, base_url):
    assert (await get(http_client, base_url, "courses", "tok-kevin", "Bearer"))[0] == 200
    assert (await get(http_client, base_url, "courses", "tok-kevin", "token"))[0] == 200


@pytest.mark.gen_test
async def test_concurrent_lookups_of_one_token_ask_the_hub_once(http_client, base_url, hub_log):
    results = await asyncio.gather(
        *(get(http_client, base_url, "courses", "tok-kevin") for _ in range(10))
    )
    assert {code for code, _ in results} == {200}
    assert len(hub_log) == 1


@pytest.mark.gen_test
async def test_an_unknown_token_is_refused_and_the_refusal_cached_briefly(
    http_client, base_url, hub_log, hub_server
):
    for _ in range(3):
        assert await get(http_client, base_url, "courses", "bogus") == (
            401,
            {"success": False, "message": "Login required"},
        )
    assert len(hub_log) == 1
    hub_server.identity.fallback._cache.purge()
    hub_server.identity.fallback.failed_cache_seconds = 0  # expire it: the hub is asked again
    hub_server.identity.fallback._cache._data.clear()
    await get(http_client, base_url, "courses", "bogus")
    assert len(hub_log) == 2


@pytest.mark.gen_test
async def test_a_service_token_is_not_a_user(http_client, base_url):
    assert (await get(http_client, base_url, "courses", "tok-svc"))[0] == 401


@pytest.mark.gen_test
async def test_an_unreachable_hub_gives_a_json_503_and_is_not_cached(
    http_client, base_url, fake_hub, hub_log
):
    app, _ = fake_hub
    app.settings["hub_down"] = True
    code, body = await get(http_client, base_url, "courses", "tok-kevin")
    assert (code, body) == (
        503,
        {"success": False, "message": "Cannot reach JupyterHub to identify the caller"},
    )
    app.settings["hub_down"] = False
    assert (await get(http_client, base_url, "courses", "tok-kevin"))[0] == 200


@pytest.mark.gen_test
async def test_the_access_scope_can_be_required(http_client, base_url, hub_server):
    hub_server.identity.fallback.require_access_scope = True
    code, body = await get(http_client, base_url, "courses", "tok-kevin")
    assert (code, body["message"]) == (
        403,
        "Permission denied (token lacks access to this service)",
    )
    assert (await get(http_client, base_url, "courses", "tok-scoped"))[0] == 200


@pytest.mark.gen_test
async def test_hub_admins_and_groups_can_be_ngshare_admins(http_client, base_url, hub_server):
    async def create(token, course):
        try:
            r = await http_client.fetch(
                base_url + f"/api/course/{course}",
                method="POST",
                body="",
                headers={"Authorization": f"token {token}"},
            )
        except HTTPClientError as e:
            r = e.response
        return r.code

    assert await create("tok-boss", "c1") == 403
    hub_server.identity.fallback.allow_hub_admins = True
    hub_server.identity.fallback._cache._data.clear()
    assert await create("tok-boss", "c1") == 200
    assert await create("tok-kevin", "c2") == 403
    hub_server.identity.fallback.admin_groups = {"teachers"}
    assert await create("tok-kevin", "c2") == 200


@pytest.mark.gen_test
async def test_a_token_model_without_groups_is_completed_with_the_services_token(
    http_client, base_url, hub_server, hub_log, monkeypatch
):
    """The hub leaves ``groups`` out of a token's model without the read:groups scope."""
    without_groups = {k: v for k, v in USERS["tok-kevin"].items() if k != "groups"}
    monkeypatch.setitem(USERS, "tok-kevin", without_groups)
    hub_server.identity.fallback.admin_groups = {"teachers"}
    r = await http_client.fetch(
        base_url + "/api/course/c7",
        method="POST",
        body="",
        headers={"Authorization": "token tok-kevin"},
        raise_error=False,
    )
    assert r.code == 200, r.body
    assert f"users/kevin token {SERVICE_TOKEN}" in hub_log


@pytest.mark.gen_test
async def test_the_user_argument_means_nothing_with_hub_identity(http_client, base_url):
    try:
        r = await http_client.fetch(base_url + "/api/courses?user=root")
    except HTTPClientError as e:
        r = e.response
    assert r.code == 401


@pytest.mark.gen_test
async def test_tokens_are_looked_up_by_the_fast_client_and_by_hubauth_when_it_is_off(
    http_client, base_url, fake_hub, hub_server
):
    app, _ = fake_hub
    assert (await get(http_client, base_url, "courses", "tok-kevin"))[0] == 200
    assert app.settings["agents"] == ["ngshare-hub-lookup"]
    hub_server.identity.fallback.fast_token_lookups = False
    assert (await get(http_client, base_url, "courses", "tok-boss"))[0] == 200
    assert await get(http_client, base_url, "courses", "bogus") == (
        401,
        {"success": False, "message": "Login required"},
    )
    assert len(app.settings["agents"]) == 3
    assert "ngshare-hub-lookup" not in app.settings["agents"][1:]  # HubAuth's own client


@pytest.mark.gen_test
async def test_a_hub_error_is_asked_again_through_hubauth_before_the_503(
    http_client, base_url, fake_hub
):
    app, _ = fake_hub
    app.settings["hub_down"] = True
    assert (await get(http_client, base_url, "courses", "tok-kevin"))[0] == 503
    agents = app.settings["agents"]
    assert len(agents) == 2 and agents[0] == "ngshare-hub-lookup" != agents[1]


@pytest.mark.gen_test
async def test_an_unusual_token_goes_to_the_hub_through_hubauth_only(
    http_client, base_url, fake_hub
):
    app, _ = fake_hub
    code, _ = await get(http_client, base_url, "courses", "tok%kevin")
    assert code == 401
    assert len(app.settings["agents"]) == 1
    assert app.settings["agents"][0] != "ngshare-hub-lookup"


@pytest.mark.gen_test
async def test_the_oauth_callback_refuses_in_json(http_client, base_url):
    r = await http_client.fetch(base_url + "/api/oauth_callback?code=x", raise_error=False)
    assert r.code == 400
    assert r.headers["Content-Type"].startswith("application/json")
    assert json.loads(r.body) == {
        "success": False,
        "message": "OAuth state is missing. Try logging in again.",
    }
