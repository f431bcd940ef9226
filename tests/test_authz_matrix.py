"""The authorization matrix: every operation of every feature set, called as every role.

The operations are read from the running application's route table
(:mod:`tests.authz.routes`); what each role must get is declared in
:mod:`tests.authz.table`. A route the table does not declare fails the test,
so a new route (of the core, the exchange or any plugin) must say who may
call it. Refusals must be JSON in the feature set's own envelope.
"""

from __future__ import annotations

import json
import time

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from ngshare.app import build, make_application
from tests.authz.fixtures import server  # noqa: F401 - this module's server: every plugin
from tests.authz.routes import Operation, Route, operations_of, routes_of
from tests.authz.table import ENVELOPES, HTML_PAGES, OBJECT_CASES, OPTIONAL_OWNERS, TABLE, Case
from tests.authz.world import ROLES, Answer, Client, World, seed
from tests.conftest import hub_service_config

#: The whole matrix must finish well within this (it takes a few seconds on SQLite).
MATRIX_SECONDS = 120


def undeclared(operations: dict[Operation, Route]) -> list[Operation]:
    """Operations the application serves that the table does not declare."""
    return sorted(op for op in operations if op not in TABLE)


def unserved(operations: dict[Operation, Route], enabled: set[str]) -> list[Operation]:
    """Entries of the table no route serves (entries of plugins not enabled excepted)."""
    return sorted(
        op
        for op in TABLE
        if op not in operations and OPTIONAL_OWNERS.get(op, next(iter(enabled))) in enabled
    )


def refusal_problem(route: Route, answer: Answer) -> str | None:
    """Why a refusal is not JSON in the route's feature set's envelope (None if it is)."""
    if route.template in HTML_PAGES:
        return None if answer.content_type.startswith("text/html") else "not an HTML page"
    if not answer.content_type.startswith("application/json"):
        return f"Content-Type {answer.content_type!r}, not JSON: {answer.body[:80]!r}"
    check = ENVELOPES.get(route.owner)
    if check is None:
        return f"no envelope declared for feature set {route.owner!r} in tests/authz/table.py"
    try:
        body = json.loads(answer.body)
    except ValueError:
        return f"not JSON: {answer.body[:80]!r}"
    return None if check(body) else f"not the {route.owner} envelope: {body!r}"


def test_every_route_is_declared(app, server):  # noqa: F811
    operations = operations_of(routes_of(app, server))
    assert len(operations) >= 60, sorted(operations)  # the route table was read
    assert undeclared(operations) == [], "declare these in tests/authz/table.py"
    enabled = {p.name for p in server.plugins}
    assert unserved(operations, enabled) == [], "no route serves these entries"
    for case in TABLE.values():
        assert set(case.expect) == set(ROLES)


def test_an_undeclared_route_fails_the_check(app, server):  # noqa: F811
    """A plugin's new route that nobody declared is reported, with every method it defines."""
    from ngshare.plugin_api import APIHandler, authenticated, public

    class Extra(APIHandler):
        @public
        async def get(self, thing: str) -> None: ...

        @authenticated
        async def delete(self, thing: str) -> None: ...

    app.wildcard_router.add_rules([(r"/api/extra/(?P<thing>[^/]+)/?", Extra, {"ctx": server})])
    operations = operations_of(routes_of(app, server))
    expected = [("/api/extra/{thing}", "DELETE"), ("/api/extra/{thing}", "GET")]
    assert undeclared(operations) == expected


@pytest.fixture
def hub_app(make_config, tmp_path, monkeypatch, io_loop):
    """The application as a JupyterHub service (the hub is never called here)."""
    ctx, plugins = build(hub_service_config(make_config, tmp_path, monkeypatch, ["all"]))
    yield ctx, make_application(ctx, plugins)
    ctx.close()


@pytest.mark.gen_test(timeout=30)
async def test_hub_routes_are_declared(hub_app):
    """Behind JupyterHub the OAuth callback is added: declared, and its refusal is JSON."""
    ctx, app = hub_app
    operations = operations_of(routes_of(app, ctx))
    assert ("/api/oauth_callback", "GET") in operations
    assert undeclared(operations) == [], "declare these in tests/authz/table.py"
    sock, port = bind_unused_port("127.0.0.1")
    http = HTTPServer(app)
    http.add_sockets([sock])
    try:
        client = Client(AsyncHTTPClient(), f"http://127.0.0.1:{port}", port)
        (template, method) = ("/api/oauth_callback", "GET")
        case = TABLE[template, method]
        answer = await client.send(method, case.request(None), "anonymous")  # type: ignore[arg-type]
        assert answer.status == case.expect["anonymous"], answer
        assert refusal_problem(operations[template, method], answer) is None
    finally:
        http.stop()
        await http.close_all_connections()


@pytest.mark.gen_test(timeout=MATRIX_SECONDS + 30)
async def test_authorization_matrix(app, server, http_client, base_url, http_port):  # noqa: F811
    operations = operations_of(routes_of(app, server))
    assert undeclared(operations) == [], "declare these in tests/authz/table.py"
    client = Client(http_client, base_url, http_port)
    generation = 1
    world: World = await seed(client, generation)
    failures: list[str] = []
    calls = seedings = 0
    started = time.monotonic()
    for (template, method), route in sorted(operations.items()):
        case: Case = TABLE[template, method]
        for role, expected in case.expect.items():
            assert time.monotonic() - started < MATRIX_SECONDS, f"too slow after {calls} calls"
            req = case.request(world)
            answer = await client.send(method, req, role)
            calls += 1
            where = f"{method} {template} as {role} ({req.path})"
            if answer.status != expected:
                got = f"{answer.status}, expected {expected}: {answer.body[:160]!r}"
                failures.append(f"{where}: {got}")
            elif answer.status >= 400:
                problem = refusal_problem(route, answer)
                if problem:
                    failures.append(f"{where}: {problem}")
            changed = 200 <= answer.status < 300 or answer.status == 101
            if changed and method not in ("GET", "HEAD") and not case.keeps_seed:
                generation += 1
                seedings += 1
                world = await seed(client, generation)
    elapsed = time.monotonic() - started
    print(f"authz matrix: {calls} calls, {seedings} re-seedings, {elapsed:.1f}s")
    assert calls == sum(len(TABLE[op].expect) for op in operations)
    assert not failures, "\n".join(failures)


@pytest.mark.gen_test(timeout=60)
async def test_objects_of_others(app, server, http_client, base_url, http_port):  # noqa: F811
    """The same routes on objects a role stands in another relation to (their own, a peer's)."""
    operations = operations_of(routes_of(app, server))
    client = Client(http_client, base_url, http_port)
    world = await seed(client, 1)
    failures = []
    for (template, method), role, request, expected in OBJECT_CASES:
        route = operations[template, method]  # a KeyError names a case of no route
        req = request(world)
        answer = await client.send(method, req, role)
        where = f"{method} {req.path} as {role}"
        if answer.status != expected:
            failures.append(f"{where}: {answer.status}, expected {expected}: {answer.body[:160]!r}")
        elif answer.status >= 400 and (problem := refusal_problem(route, answer)):
            failures.append(f"{where}: {problem}")
    assert len(OBJECT_CASES) >= 15
    assert not failures, "\n".join(failures)
