"""``{prefix}metrics``: scraped and parsed with the Prometheus client's own parser."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tornado.httpclient import HTTPClientError
from tornado.websocket import websocket_connect

from ngshare.app import build, run_hooks
from tests.conftest import ADMIN, empty_all_tables

TOKEN = "scraper-secret-0123456789"


@pytest.fixture
def server(make_config, io_loop):
    """The usual server plus vivere, whose live channel a subscriber can join."""
    ctx, plugins = build(make_config(plugins=["vivere"]))
    empty_all_tables(ctx.db.engine)
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    ctx.close()


async def fetch(http_client, url, **kwargs):
    try:
        return await http_client.fetch(url, raise_error=True, **kwargs)
    except HTTPClientError as e:
        return e.response


async def scrape(http_client, base_url, **kwargs) -> dict[str, list]:
    """Every sample of the exposition, by sample name."""
    r = await fetch(http_client, base_url + f"/api/metrics?user={ADMIN}", **kwargs)
    assert r.code == 200, r.body
    assert r.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(r.body.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples, name, **labels) -> float:
    found = [s.value for s in samples.get(name, []) if labels.items() <= s.labels.items()]
    assert found, f"no {name} {labels} in {sorted(samples)}"
    return sum(found)


@pytest.mark.gen_test(timeout=30)
async def test_requests_are_counted_by_route_pattern_not_raw_path(http_client, base_url, exchange):
    await exchange.course("c1")
    await exchange.course("c2")
    for course in ("c1", "c2", "c1"):
        await exchange.api("GET", f"assignments/{course}", user="kevin")
    await fetch(http_client, base_url + "/api/no/such/route/1")
    await fetch(http_client, base_url + "/api/no/such/route/2")
    samples = await scrape(http_client, base_url)
    route = "/api/assignments/{course_id}"
    assert value(samples, "ngshare_http_requests_total", route=route, method="GET") == 3
    paths = {s.labels["route"] for s in samples["ngshare_http_requests_total"]}
    assert not any("/c1" in p or "/c2" in p for p in paths), paths
    assert value(samples, "ngshare_http_requests_total", route="unmatched", status="404") == 2
    assert value(samples, "ngshare_http_request_duration_seconds_count", route=route) == 3


@pytest.mark.gen_test(timeout=30)
async def test_upload_and_download_bytes_are_counted(http_client, base_url, exchange):
    await exchange.course("c1")
    await exchange.students("c1", ("s1",))
    await exchange.release("a1", files={"a1.ipynb": b"x" * 5000})
    status, _ = await exchange.api("GET", "assignment/c1/a1", user="s1")
    assert status == 200
    samples = await scrape(http_client, base_url)
    route = "/api/assignment/{course_id}/{assignment_id}"
    assert value(samples, "ngshare_http_request_body_bytes_total", route=route) > 5000
    assert value(samples, "ngshare_http_response_body_bytes_total", route=route) > 5000


@pytest.mark.gen_test(timeout=30)
async def test_job_runs_outbox_pool_and_subscribers_are_reported(server, http_client, base_url):
    r = await fetch(
        http_client,
        base_url + f"/api/jobs/exchange.purge_deleted/run?user={ADMIN}",
        method="POST",
        body="",
    )
    assert r.code == 200, r.body
    channel = server.notifications.enabled_channels()[0]
    await server.notifications.submit(plugin="exchange", channel=channel, to="a@b.c", body="hi")
    samples = await scrape(http_client, base_url)
    assert value(samples, "ngshare_job_runs", job="exchange.purge_deleted") == 1
    assert value(samples, "ngshare_job_last_success", job="exchange.purge_deleted") == 1
    assert value(samples, "ngshare_notifications_outbox_messages") == 1
    assert value(samples, "ngshare_live_subscribers") == 0
    ws_url = base_url.replace("http", "ws", 1) + "/api/events/ws?channel=com.vivere.events"
    subscriber = await websocket_connect(ws_url + "&user=kevin")
    try:
        deadline = time.monotonic() + 10  # the subscription is made just after the handshake
        while value(await scrape(http_client, base_url), "ngshare_live_subscribers") != 1:
            assert time.monotonic() < deadline, "the subscriber was never counted"
            await asyncio.sleep(0.05)
    finally:
        subscriber.close()
    assert value(samples, "ngshare_db_pool_checked_out_connections") >= 0
    assert "ngshare_db_pool_size_connections" in samples


@pytest.mark.gen_test
async def test_only_admins_read_the_metrics(http_client, base_url):
    anonymous = await fetch(http_client, base_url + "/api/metrics")
    student = await fetch(http_client, base_url + "/api/metrics?user=s1")
    assert anonymous.code == 401 and json.loads(anonymous.body)["success"] is False
    assert student.code == 403
    assert json.loads(student.body)["message"] == "Permission denied (not admin)"


@pytest.mark.gen_test
async def test_a_scraper_reads_them_with_the_metrics_token(server, http_client, base_url):
    server.config.metrics_token = TOKEN
    url = base_url + "/api/metrics"
    good = await fetch(http_client, url, headers={"Authorization": f"Bearer {TOKEN}"})
    wrong = await fetch(http_client, url, headers={"Authorization": "Bearer not-it"})
    assert good.code == 200
    assert any(
        f.name == "ngshare_http_requests"
        for f in text_string_to_metric_families(good.body.decode())
    )
    assert wrong.code == 401 and json.loads(wrong.body)["success"] is False


@pytest.mark.gen_test
async def test_without_a_metrics_token_a_bearer_header_is_no_way_in(server, http_client, base_url):
    server.config.metrics_token = ""
    r = await fetch(http_client, base_url + "/api/metrics", headers={"Authorization": "Bearer "})
    assert r.code == 401
