"""Pages behind JupyterHub (the hub is never reached here): sign-in redirect, and the
hub's own XSRF check on a page's form."""

from __future__ import annotations

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import create_signed_value

from ngshare.app import build, make_application
from tests.conftest import hub_service_config
from tests.ui.pages import fetch, header


@pytest.fixture
def hub_server(make_config, tmp_path, monkeypatch, io_loop):
    ctx, plugins = build(hub_service_config(make_config, tmp_path, monkeypatch, ["vivere"]))
    app = make_application(ctx, plugins)
    sock, port = bind_unused_port("127.0.0.1")
    http = HTTPServer(app)
    http.add_sockets([sock])
    yield ctx, app, f"http://127.0.0.1:{port}"
    http.stop()
    io_loop.run_sync(http.close_all_connections)
    ctx.close()


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("path", ["/api/ui/admin", "/api/vivere/board"])
async def test_a_browser_without_a_hub_cookie_is_sent_to_the_hub_login(hub_server, path):
    ctx, _app, base_url = hub_server
    page = await fetch(AsyncHTTPClient(), base_url + path)
    assert page.status == 302
    assert "oauth2/authorize" in header(page, "Location")


@pytest.mark.gen_test(timeout=30)
async def test_a_form_post_without_a_cookie_is_a_401_page(hub_server):
    _ctx, _app, base_url = hub_server
    page = await fetch(
        AsyncHTTPClient(), base_url + "/api/vivere/board/announcements", method="POST", body="m=1"
    )
    assert page.status == 401 and page.content_type.startswith("text/html")


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize(
    "path",
    ["/api/vivere/board/announcements", "/api/ui/admin/jobs/exchange.purge_deleted/run"],
)
async def test_a_signed_in_form_post_without_the_hub_xsrf_token_is_a_403_page(hub_server, path):
    ctx, app, base_url = hub_server
    name = ctx.identity.hub_auth.cookie_name
    cookie = create_signed_value(app.settings["cookie_secret"], name, "a-hub-oauth-token")
    page = await fetch(
        AsyncHTTPClient(),
        base_url + path,
        method="POST",
        body="message=forged",
        headers={"Cookie": f"{name}={cookie.decode()}"},
    )
    assert page.status == 403
    assert page.content_type.startswith("text/html")
    assert "reload the page" in page.text
