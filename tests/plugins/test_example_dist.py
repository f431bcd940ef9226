"""A third-party plugin, installed as its own distribution, works end to end.

``tests/plugins/example_dist`` is installed by the test setup (``pip install
./tests/plugins/example_dist``); nothing in ngshare imports it. Enabled with
``plugins=["example"]`` it must get its table migrated, its handler mounted
with its own envelope, its job run, its channel deliver over a real WebSocket,
and show up in ``{prefix}plugins`` and ``openapi.json``.
"""

import asyncio
import json

import pytest
import sqlalchemy as sa
from tornado.httpclient import HTTPClientError
from tornado.websocket import websocket_connect

from tests.conftest import started_server
from tests.waiting import eventually

pytest.importorskip("ngshare_example", reason="run scripts/test: it installs the example plugin")
from ngshare_example import Example, NoteCount  # noqa: E402


@pytest.fixture
def server(make_config, io_loop):
    with started_server(
        make_config(plugins=["example"]),
        io_loop,
        tables=("example_notes", "exchange_memberships", "exchange_courses"),
    ) as ctx:
        yield ctx


async def call(http_client, url, **kw):
    try:
        r = await http_client.fetch(url, **kw)
    except HTTPClientError as e:
        r = e.response
    return r.code, json.loads(r.body)


def test_the_plugin_is_found_through_its_entry_point(server):
    assert [p.name for p in server.plugins] == ["exchange", "example"]
    tables = sa.inspect(server.db.engine).get_table_names()
    assert "example_notes" in tables  # its own alembic branch was upgraded


@pytest.mark.gen_test(timeout=30)
async def test_handler_model_and_channel_work_together(http_client, base_url):
    ws = await websocket_connect(
        base_url.replace("http", "ws") + "/api/events/ws?channel=example.notes&user=kim"
    )
    code, body = await call(
        http_client, base_url + "/api/example/notes", method="POST", body="user=kim&text=hello"
    )
    assert code == 201 and body["note"]["text"] == "hello"
    message = json.loads(await asyncio.wait_for(ws.read_message(), 10))
    assert (message["channel"], message["event"]) == ("example.notes", "note.created")
    assert message["data"] == body["note"]
    ws.close()
    code, body = await call(http_client, base_url + "/api/example/notes")
    assert (code, [n["author"] for n in body["notes"]]) == (200, ["kim"])


@pytest.mark.gen_test
async def test_errors_use_the_plugin_envelope_and_its_config(http_client, base_url, server):
    server.state(Example).max_note_length = 3
    code, body = await call(
        http_client, base_url + "/api/example/notes", method="POST", body="user=kim&text=toolong"
    )
    assert (code, body) == (400, {"ok": False, "error": "text must be 1 to 3 characters"})
    code, body = await call(http_client, base_url + "/api/example/notes", method="POST", body="")
    assert (code, body["ok"]) == (401, False)


@pytest.mark.gen_test(timeout=30)
async def test_the_plugin_job_runs_on_the_shared_scheduler(http_client, base_url, server):
    await call(http_client, base_url + "/api/example/notes", method="POST", body="user=a&text=x")
    for _ in range(100):  # bounded: the job runs every second
        if server.has_state(NoteCount) and server.state(NoteCount).value == 1:
            break
        await asyncio.sleep(0.1)
    assert server.has_state(NoteCount) and server.state(NoteCount).value == 1

    async def recorded() -> bool:  # the run's record commits after the job has run
        code, body = await call(http_client, base_url + "/api/jobs?user=root")
        jobs = {j["id"]: j for j in body["jobs"]}
        return jobs["example.count_notes"]["last_success"] is True

    await eventually(recorded, 10.0, "the job's run recorded as a success")


@pytest.mark.gen_test
async def test_introspection_and_openapi_list_the_plugin(http_client, base_url):
    code, body = await call(http_client, base_url + "/api/plugins?user=root")
    example = next(p for p in body["plugins"] if p["name"] == "example")
    assert example["version"] == "0.1.0"
    assert example["mount"] == "/api/example/"
    assert example["tables"] == ["example_notes"]
    assert example["jobs"] == ["example.count_notes"]
    assert example["channels"] == ["example.notes"]
    code, spec = await call(http_client, base_url + "/api/openapi.json")
    assert "/api/example/notes" in spec["paths"]
