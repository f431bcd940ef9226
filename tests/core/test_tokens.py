"""Core-issued API tokens: hashed at rest, expiry, revocation, rotation, and the identity layer.

Most tests run on the dev server (``vngshare``); those marked with
``@pytest.mark.parametrize("mode", MODES)`` also run as a hub service, against
a local stand-in for JupyterHub's ``GET /hub/api/user`` that counts requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from tornado.testing import bind_unused_port

from ngshare.accounts_models import ApiToken
from ngshare.app import build, run_hooks
from ngshare.auth import Identity, TokenFirstIdentity
from ngshare.config import NgShare
from ngshare.models import utcnow
from ngshare.tokens import API_PURPOSE, PREFIX_LENGTH, IssuedToken, is_core_token
from tests.conftest import ADMIN, empty_all_tables

MODES = ["dev", "hub"]
HUB_USERS = {
    "hub-tok-kevin": {"kind": "user", "name": "kevin", "admin": False, "groups": [], "scopes": []},
    "hub-tok-imposter": {
        "kind": "user",
        "name": "local:kevin",
        "admin": False,
        "groups": [],
        "scopes": [],
    },
}


class FakeHubUser(web.RequestHandler):
    """``/hub/api/user``: the token in Authorization identifies its owner; unknown ones get 403."""

    def initialize(self, log: list) -> None:
        self.log_ = log

    def get(self) -> None:
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        self.log_.append(token)
        if token not in HUB_USERS:
            raise web.HTTPError(403)
        self.write(json.dumps(HUB_USERS[token]))


@pytest.fixture
def mode():
    return "dev"


@pytest.fixture
def hub_log():
    return []


@pytest.fixture
def server(mode, make_config, io_loop, monkeypatch, hub_log):
    """The dev server of conftest, or (``mode == "hub"``) ngshare as a hub service."""
    hub = None
    config = make_config()
    if mode == "hub":
        sock, port = bind_unused_port()
        hub = HTTPServer(web.Application([(r"/hub/api/user", FakeHubUser, {"log": hub_log})]))
        hub.add_sockets([sock])
        monkeypatch.setenv("JUPYTERHUB_API_URL", f"http://127.0.0.1:{port}/hub/api")
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "service-secret")
        monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/api/")
        monkeypatch.setenv("JUPYTERHUB_CLIENT_ID", "service-ngshare")
        config = NgShare(
            db_url=config.db_url,
            storage_path=config.storage_path,
            admins=[ADMIN],
            config_file="",
            data_dir=config.storage_path + "-data",
        )
    ctx, plugins = build(config)
    empty_all_tables(ctx.db.engine)
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    empty_all_tables(ctx.db.engine)  # fixtures that do not empty tables come after us
    ctx.close()
    if hub is not None:
        hub.stop()


@pytest.fixture
def call(http_client, base_url):
    """``await call(method, path, token=, scheme=, headers=, **fields)`` -> (status, json)."""

    async def fetch(method, path, token=None, scheme="Bearer", headers=None, **fields):
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"{scheme} {token}"
        url = base_url + "/api/" + path
        body = None
        if method in ("GET", "DELETE"):
            url += "?" + urlencode(fields) if fields else ""
        else:
            body = urlencode(fields)
        try:
            r = await http_client.fetch(url, method=method, body=body, headers=headers)
        except HTTPClientError as e:
            r = e.response
        return r.code, json.loads(r.body)

    return fetch


def token_rows(server) -> list[dict]:
    with server.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(ApiToken.__table__.select())]


def set_columns(server, token_id: int, **values) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in values)
    with server.db.engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE api_tokens SET {sets} WHERE pk = :pk"), {**values, "pk": token_id}
        )


# -- issuing and storage ----------------------------------------------------------------


@pytest.mark.gen_test
async def test_only_a_hash_and_a_display_prefix_are_stored(server):
    issued = await server.tokens.issue("kevin", issuer="vivere", note="iPhone")
    assert is_core_token(issued.secret) and len(issued.secret) == 47
    assert issued.secret not in repr(issued)  # safe to log
    (row,) = token_rows(server)
    assert row["digest"] == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert row["prefix"] == issued.secret[:PREFIX_LENGTH] == issued.info.prefix
    assert not any(issued.secret in str(value) for value in row.values())
    assert (row["purpose"], row["issuer"], row["note"]) == (API_PURPOSE, "vivere", "iPhone")
    assert issued.info.user == "kevin"


@pytest.mark.gen_test
async def test_tokens_are_random_and_distinct(server):
    issued = [await server.tokens.issue("kevin", issuer="vivere") for _ in range(20)]
    assert len({t.secret for t in issued}) == 20
    assert len({t.info.prefix for t in issued}) == 20


@pytest.mark.gen_test
async def test_default_and_explicit_expiry(server):
    before = utcnow()
    default = await server.tokens.issue("kevin", issuer="x")
    short = await server.tokens.issue("kevin", issuer="x", expires_in_seconds=60)
    forever = await server.tokens.issue("kevin", issuer="x", expires_in_seconds=0)
    month = timedelta(seconds=server.tokens.default_expiry_seconds)
    assert before + month <= default.info.expires_at <= utcnow() + month
    assert short.info.expires_at <= utcnow() + timedelta(seconds=60)
    assert forever.info.expires_at is None
    with pytest.raises(ValueError):
        await server.tokens.issue("kevin", issuer="x", expires_in_seconds=-1)


@pytest.mark.gen_test
async def test_issuer_and_purpose_must_be_labels(server):
    for kwargs in ({"issuer": "Bad Issuer"}, {"issuer": "x", "purpose": ""}):
        with pytest.raises(ValueError):
            await server.tokens.issue("kevin", **kwargs)


@pytest.mark.gen_test
async def test_a_local_name_needs_an_account_to_get_a_token(server):
    with pytest.raises(ValueError, match="local-account namespace"):
        await server.tokens.issue("local:nobody", issuer="x")


# -- identity over HTTP ---------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("mode", MODES)
async def test_a_token_identifies_its_user_and_the_hub_is_not_asked(server, call, hub_log, mode):
    issued = await server.tokens.issue("kevin", issuer="vivere")
    for scheme in ("Bearer", "token", "bearer"):
        status, body = await call("GET", "tokens", issued.secret, scheme)
        assert status == 200, body
        assert [t["id"] for t in body["tokens"]] == [issued.info.id]
    assert (await call("GET", "courses", issued.secret))[0] == 200  # a plugin's route too
    assert hub_log == []


@pytest.mark.gen_test
@pytest.mark.parametrize("mode", MODES)
async def test_without_a_core_token_the_configured_provider_still_works(server, call, mode):
    if mode == "hub":
        assert (await call("GET", "tokens", "hub-tok-kevin", "token"))[0] == 200
        assert (await call("GET", "tokens", user="kevin"))[0] == 401
    else:
        assert (await call("GET", "tokens", user="kevin"))[0] == 200
    assert (await call("GET", "tokens"))[0] == 401


@pytest.mark.gen_test
@pytest.mark.parametrize("mode", MODES)
async def test_a_token_beats_a_user_argument(server, call, mode):
    await server.tokens.issue(ADMIN, issuer="x")
    issued = await server.tokens.issue("kevin", issuer="x")
    status, body = await call("GET", "tokens", issued.secret, user=ADMIN)
    assert status == 200
    assert [t["id"] for t in body["tokens"]] == [issued.info.id]  # kevin's, not root's


@pytest.mark.gen_test
@pytest.mark.parametrize("mode", MODES)
async def test_unknown_or_malformed_tokens_are_refused(server, call, mode, hub_log):
    unknown = "ngs_" + "A" * 43
    assert await call("GET", "tokens", unknown) == (
        401,
        {"success": False, "message": "Authentication required"},
    )
    # a core token that does not verify is refused, not replaced by the user argument
    assert (await call("GET", "tokens", unknown, user="kevin"))[0] == 401
    assert hub_log == []  # core-shaped tokens never go to the hub


@pytest.mark.gen_test
@pytest.mark.parametrize("mode", MODES)
async def test_admin_status_comes_from_the_configured_admins(server, call, mode):
    root = await server.tokens.issue(ADMIN, issuer="x")
    kevin = await server.tokens.issue("kevin", issuer="x")
    assert (await call("POST", "course/c1", kevin.secret))[0] == 403
    assert (await call("POST", "course/c1", root.secret))[0] == 200


@pytest.mark.gen_test
async def test_plugins_can_accept_tokens_in_their_own_header(server, call):
    issued = await server.tokens.issue("kevin", issuer="vivere")
    header = "X-MenloHacks-Authorization"
    assert (await call("GET", "tokens", headers={header: issued.secret}))[0] == 401
    server.tokens.accept_header(header)
    server.tokens.accept_header(header.lower())  # once is enough; case does not matter
    assert server.tokens.accepted_headers == ("Authorization", header)
    for value in (issued.secret, f"Bearer {issued.secret}"):
        status, body = await call("GET", "tokens", headers={header: value})
        assert status == 200 and body["tokens"][0]["id"] == issued.info.id


@pytest.mark.gen_test
async def test_only_api_tokens_identify_callers(server, call):
    refresh = await server.tokens.issue("kevin", issuer="coursegrab", purpose="coursegrab.update")
    assert (await call("GET", "tokens", refresh.secret))[0] == 401
    assert await server.tokens.verify(refresh.secret) is None
    assert (await server.tokens.verify(refresh.secret, purpose="coursegrab.update")).user == "kevin"


class RequestStub:
    """Just enough of a request handler for ``identify``: its context and request."""

    def __init__(self, ctx, headers=None, **query):
        self.ctx = ctx
        uri = "/api/tokens" + ("?" + urlencode(query) if query else "")
        self.request = HTTPServerRequest(
            start_line=RequestStartLine("GET", uri, "HTTP/1.1"),
            headers=HTTPHeaders({"Host": "localhost", **(headers or {})}),
        )

    def get_query_argument(self, name, default=None):
        values = self.request.query_arguments.get(name)
        return values[-1].decode() if values else default


@pytest.mark.gen_test
async def test_the_identity_says_how_the_caller_was_identified(server):
    issued = await server.tokens.issue(ADMIN, issuer="x")
    bearer = {"Authorization": f"Bearer {issued.secret}"}
    identity = await server.identity.identify(RequestStub(server, bearer, user="kevin"))
    assert identity == Identity(name=ADMIN, is_admin=True, origin="dev", token_id=issued.info.id)
    identity = await server.identity.identify(RequestStub(server, user="kevin"))
    assert identity == Identity(name="kevin", is_admin=False, origin="dev", token_id=None)
    assert await server.identity.identify(RequestStub(server, {"Authorization": "token x"})) is None
    assert isinstance(server.identity, TokenFirstIdentity)


# -- lifecycle ------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_an_expired_token_is_refused(server, call):
    issued = await server.tokens.issue("kevin", issuer="x")
    assert (await call("GET", "tokens", issued.secret))[0] == 200
    set_columns(server, issued.info.id, expires_at=utcnow() - timedelta(seconds=1))
    assert (await call("GET", "tokens", issued.secret))[0] == 401
    assert await server.tokens.verify(issued.secret) is None
    assert await server.tokens.rotate(issued.secret) is None
    assert await server.tokens.list_tokens("kevin") == []
    assert len(await server.tokens.list_tokens("kevin", include_inactive=True)) == 1


@pytest.mark.gen_test
async def test_revocation_takes_effect_at_once(server, call):
    first = await server.tokens.issue("kevin", issuer="x")
    second = await server.tokens.issue("kevin", issuer="x")
    third = await server.tokens.issue("kevin", issuer="x")
    assert not await server.tokens.revoke(first.info.id, user="someone-else")
    assert await server.tokens.revoke(first.info.id, user="kevin")
    assert not await server.tokens.revoke(first.info.id)  # already revoked
    assert (await call("GET", "tokens", first.secret))[0] == 401
    assert await server.tokens.revoke_secret(second.secret)
    assert (await call("GET", "tokens", second.secret))[0] == 401
    assert await server.tokens.revoke_all("kevin") == 1
    assert (await call("GET", "tokens", third.secret))[0] == 401


@pytest.mark.gen_test
async def test_rotation_replaces_a_token_once(server, call):
    old = await server.tokens.issue("kevin", issuer="vivere", note="phone", expires_in_seconds=600)
    new = await server.tokens.rotate(old.secret)
    assert isinstance(new, IssuedToken) and new.secret != old.secret
    assert (new.info.user, new.info.issuer, new.info.note) == ("kevin", "vivere", "phone")
    lifetime = new.info.expires_at - new.info.created_at
    assert abs(lifetime - timedelta(seconds=600)) < timedelta(seconds=2)
    assert (await call("GET", "tokens", old.secret))[0] == 401
    assert (await call("GET", "tokens", new.secret))[0] == 200
    assert await server.tokens.rotate(old.secret) is None  # a replayed refresh gets nothing


@pytest.mark.gen_test
async def test_concurrent_rotations_of_one_token_give_one_new_token(server):
    old = await server.tokens.issue("kevin", issuer="x")
    results = await asyncio.gather(*(server.tokens.rotate(old.secret) for _ in range(8)))
    assert len([r for r in results if r is not None]) == 1
    assert len(await server.tokens.list_tokens("kevin")) == 1


@pytest.mark.gen_test
async def test_single_use_tokens_are_spent_once(server):
    issued = await server.tokens.issue("kevin", issuer="x", purpose="email-verify")
    assert await server.tokens.consume(issued.secret, purpose="api") is None  # wrong purpose
    results = await asyncio.gather(
        *(server.tokens.consume(issued.secret, purpose="email-verify") for _ in range(5))
    )
    assert [r.user for r in results if r is not None] == ["kevin"]


@pytest.mark.gen_test
async def test_last_use_is_recorded_at_most_once_a_minute(server, call):
    issued = await server.tokens.issue("kevin", issuer="x")
    assert issued.info.last_used_at is None
    await call("GET", "courses", issued.secret)
    (row,) = token_rows(server)
    assert row["last_used_at"] is not None
    recent = utcnow() - timedelta(seconds=10)
    set_columns(server, issued.info.id, last_used_at=recent)
    await call("GET", "courses", issued.secret)
    assert token_rows(server)[0]["last_used_at"] == recent
    stale = utcnow() - timedelta(seconds=120)
    set_columns(server, issued.info.id, last_used_at=stale)
    await call("GET", "courses", issued.secret)
    assert token_rows(server)[0]["last_used_at"] > stale + timedelta(seconds=100)


@pytest.mark.gen_test
async def test_deleting_the_user_deletes_their_tokens(server):
    await server.tokens.issue("kevin", issuer="x")
    with server.db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM users WHERE name = 'kevin'"))
    assert token_rows(server) == []


@pytest.mark.gen_test
async def test_old_inactive_tokens_can_be_deleted(server):
    old = await server.tokens.issue("kevin", issuer="x")
    live = await server.tokens.issue("kevin", issuer="x")
    set_columns(server, old.info.id, revoked_at=utcnow() - timedelta(days=40))
    assert await server.tokens.delete_inactive(older_than_seconds=30 * 86400) == 1
    assert [r["pk"] for r in token_rows(server)] == [live.info.id]


# -- the /tokens routes ---------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_token_list_shows_own_active_tokens_without_secrets(server, call):
    a = await server.tokens.issue("kevin", issuer="vivere", note="phone")
    b = await server.tokens.issue("kevin", issuer="ekatra")
    gone = await server.tokens.issue("kevin", issuer="x")
    await server.tokens.revoke(gone.info.id)
    other = await server.tokens.issue("sam", issuer="x")
    status, body = await call("GET", "tokens", a.secret)
    assert status == 200 and body["success"] is True
    assert [t["id"] for t in body["tokens"]] == [b.info.id, a.info.id]
    text = json.dumps(body)
    assert a.secret not in text and b.secret not in text and other.secret not in text
    first = body["tokens"][1]
    assert set(first) == {
        "id",
        "prefix",
        "purpose",
        "issuer",
        "note",
        "created_at",
        "expires_at",
        "last_used_at",
    }
    assert (first["prefix"], first["issuer"], first["note"]) == (a.info.prefix, "vivere", "phone")
    assert first["created_at"].endswith("Z")


@pytest.mark.gen_test
async def test_deleting_one_token_only_works_on_own_tokens(server, call):
    mine = await server.tokens.issue("kevin", issuer="x")
    spare = await server.tokens.issue("kevin", issuer="x")
    theirs = await server.tokens.issue("sam", issuer="x")
    assert await call("DELETE", f"tokens/{theirs.info.id}", mine.secret) == (
        404,
        {"success": False, "message": "Token not found"},
    )
    assert (await call("GET", "tokens", theirs.secret))[0] == 200
    assert await call("DELETE", f"tokens/{spare.info.id}", mine.secret) == (
        200,
        {"success": True, "revoked": 1},
    )
    assert (await call("GET", "tokens", spare.secret))[0] == 401
    assert (await call("GET", "tokens", mine.secret))[0] == 200


@pytest.mark.gen_test
async def test_deleting_all_tokens_logs_out_everywhere(server, call):
    mine = [await server.tokens.issue("kevin", issuer="x") for _ in range(3)]
    theirs = await server.tokens.issue("sam", issuer="x")
    assert await call("DELETE", "tokens", mine[0].secret) == (200, {"success": True, "revoked": 3})
    for issued in mine:
        assert (await call("GET", "tokens", issued.secret))[0] == 401
    assert (await call("GET", "tokens", theirs.secret))[0] == 200


@pytest.mark.gen_test
async def test_token_routes_need_an_identity(server, call):
    assert (await call("GET", "tokens"))[0] == 401
    assert (await call("DELETE", "tokens"))[0] == 401
    assert (await call("DELETE", "tokens/1"))[0] == 401


# -- the identity wrapper in hub mode ---------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("mode", ["hub"])
async def test_the_hub_provider_stays_reachable_through_the_wrapper(server, mode):
    from ngshare.hub import HubIdentity

    identity = server.identity
    assert isinstance(identity.fallback, HubIdentity)
    assert identity.origin == "hub"
    assert identity.hub_auth is identity.fallback.hub_auth
    identity.admin_users = {"kevin"}
    assert identity.fallback.admin_users == {"kevin"}


@pytest.mark.gen_test
@pytest.mark.parametrize("mode", ["hub"])
async def test_admins_changed_at_run_time_apply_to_token_users(server, call, mode):
    kevin = await server.tokens.issue("kevin", issuer="x")
    assert (await call("POST", "course/c1", kevin.secret))[0] == 403
    server.identity.admin_users = {"kevin"}
    assert (await call("POST", "course/c1", kevin.secret))[0] == 200


@pytest.mark.gen_test
async def test_the_dev_provider_has_no_hub_attributes(server):
    assert server.identity.hub_auth is None
    assert server.identity.login_url(None) is None
    assert server.identity.check_xsrf(None) is None  # no cookies, nothing to check


@pytest.mark.gen_test
async def test_a_token_id_beyond_the_key_range_is_not_found(server, call):
    kevin = await server.tokens.issue("kevin", issuer="x")
    status, body = await call("DELETE", "tokens/" + "9" * 18, kevin.secret)
    assert (status, body["message"]) == (404, "Token not found")
