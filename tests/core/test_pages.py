"""``{prefix}``: the landing page links to the docs, the admin views and each plugin;
every error under the prefix is JSON, browser pages' too."""

from __future__ import annotations

import json
import re

import pytest
from tornado.httpclient import HTTPClientError

from ngshare.app import build, make_application, run_hooks
from ngshare.pages import ADMIN_VIEWS
from tests.conftest import ADMIN, empty_all_tables


@pytest.fixture
def app(make_config, io_loop):
    ctx, loaded = build(make_config(plugins=["vivere"]))
    empty_all_tables(ctx.db.engine)
    io_loop.run_sync(lambda: run_hooks(ctx, loaded, "startup"))
    yield make_application(ctx, loaded)
    io_loop.run_sync(lambda: run_hooks(ctx, loaded, "shutdown"))
    ctx.close()


async def fetch(http_client, url):
    try:
        return await http_client.fetch(url, raise_error=True)
    except HTTPClientError as e:
        return e.response


def links(body: bytes, list_id: str) -> list[str]:
    section = re.search(rf"<ul id='{list_id}'>(.*?)</ul>".encode(), body)
    return [h.decode() for h in re.findall(rb'href="([^"]+)"', section.group(1))] if section else []


@pytest.mark.gen_test
async def test_a_signed_in_user_gets_links_to_the_docs_and_each_plugin(http_client, base_url):
    page = await fetch(http_client, base_url + "/api/?user=kevin")
    assert page.code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert links(page.body, "docs") == ["/api/docs", "/api/openapi.json"]
    assert links(page.body, "plugins") == ["/api/vivere/", "/api/docs#/vivere"]
    assert links(page.body, "admin") == []  # not an admin
    assert links(page.body, "pages") == ["/api/ui/", "/api/vivere/board"]  # nav entries


@pytest.mark.gen_test
async def test_an_admin_also_gets_the_admin_views_and_each_answers(http_client, base_url):
    page = await fetch(http_client, base_url + f"/api/?user={ADMIN}")
    admin = links(page.body, "admin")
    assert admin == ["/api/" + path for path, _ in ADMIN_VIEWS]
    for href in admin + links(page.body, "docs") + links(page.body, "plugins"):
        path, _, fragment = href.partition("#")
        r = await fetch(http_client, base_url + path + f"?user={ADMIN}")
        assert r.code == 200, href


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "path, status",
    [("/api/", 401), ("/api/plugins", 401), ("/api/docs/static/no-such.js", 404)],
)
async def test_every_error_under_the_prefix_is_json(http_client, base_url, path, status):
    r = await fetch(http_client, base_url + path)
    assert r.code == status
    assert r.headers["Content-Type"].startswith("application/json")
    assert json.loads(r.body)["success"] is False
