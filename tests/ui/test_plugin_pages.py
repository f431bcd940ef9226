"""The plugin pages API, through the example plugin (a separate distribution):
its page in the shared layout, its navigation entry, its templates and static files."""

from __future__ import annotations

import pytest

from ngshare import __version__
from ngshare.ui import NavEntry
from ngshare.ui.templates import LayeredLoader
from tests.conftest import ADMIN, started_server
from tests.ui.pages import as_user, fetch, header, xsrf_cookie

pytest.importorskip("ngshare_example", reason="run scripts/test: it installs the example plugin")


@pytest.fixture
def server(make_config, io_loop):
    with started_server(
        make_config(plugins=["example"]), io_loop, tables=("example_notes",)
    ) as ctx:
        yield ctx


@pytest.mark.gen_test(timeout=30)
async def test_a_plugin_page_is_rendered_in_the_layout_with_its_nav_entry(http_client, base_url):
    page = await fetch(http_client, as_user(base_url + "/api/example/notes/page", "kim"))
    assert page.status == 200
    assert '<header class="site">' in page.text and f"ngshare {__version__}" in page.text
    assert '<b id="user">kim</b>' in page.text
    # its own nav entry, keeping the dev identity; the admins' entry is not shown to kim
    assert 'href="/api/example/notes/page?user=kim" aria-current="page">Notes<' in page.text
    assert ">Admin<" not in page.text
    # its own stylesheet, versioned
    assert 'href="/api/static/example/notes.css?v=' in page.text
    admin = await fetch(http_client, as_user(base_url + "/api/example/notes/page", ADMIN))
    assert ">Admin<" in admin.text


@pytest.mark.gen_test(timeout=30)
async def test_the_plugin_form_adds_a_note_with_its_xsrf_token_only(http_client, base_url):
    url = as_user(base_url + "/api/example/notes/page", "kim")
    page = await fetch(http_client, url)
    cookie = xsrf_cookie(page)
    refused = await fetch(http_client, url, method="POST", body="text=forged")
    assert refused.status == 403 and refused.content_type.startswith("text/html")
    added = await fetch(
        http_client,
        url,
        method="POST",
        body=f"_xsrf={page.xsrf}&text=hello+there",
        headers={"Cookie": cookie},
    )
    assert added.status == 303
    after = await fetch(http_client, url)
    assert "hello there" in after.text and "forged" not in after.text
    too_long = await fetch(
        http_client,
        url,
        method="POST",
        body=f"_xsrf={page.xsrf}&text={'x' * 300}",
        headers={"Cookie": cookie},
    )
    assert too_long.status == 400 and "1 to 280 characters" in too_long.text


@pytest.mark.gen_test(timeout=30)
async def test_static_files_are_cached_and_a_missing_one_is_a_json_404(http_client, base_url):
    page = await fetch(http_client, as_user(base_url + "/api/example/notes/page", "kim"))
    start = page.text.index("/api/static/example/notes.css?v=")
    versioned = page.text[start : page.text.index('"', start)]
    css = await fetch(http_client, base_url + versioned)
    assert css.status == 200 and css.content_type.startswith("text/css")
    assert "immutable" in header(css, "Cache-Control")
    plain = await fetch(http_client, base_url + "/api/static/core/ngshare.js")
    assert plain.status == 200 and header(plain, "Cache-Control") == "max-age=300"
    missing = await fetch(http_client, base_url + "/api/static/core/nope.css")
    assert missing.status == 404 and missing.content_type.startswith("application/json")
    escape = await fetch(http_client, base_url + "/api/static/core/..%2F__init__.py")
    assert escape.status in (403, 404)


def test_the_template_loader_does_not_leave_its_folders(tmp_path):
    (tmp_path / "inside").mkdir()
    (tmp_path / "secret.html").write_text("secret")
    loader = LayeredLoader([tmp_path / "inside"])
    with pytest.raises(FileNotFoundError):
        loader.load("../secret.html")


def test_a_nav_entry_names_its_audience():
    with pytest.raises(ValueError, match="audience"):
        NavEntry("Board", "board", audience="mentors")


@pytest.mark.gen_test(timeout=30)
async def test_the_admin_console_counts_a_live_subscriber_of_a_plugin_channel(
    http_client, base_url
):
    import re

    from tornado.websocket import websocket_connect

    def subscribers(text: str) -> int:
        row = re.search(r"<code>example\.notes</code>.*?class=\"subscribers\">(\d+)<", text, re.S)
        assert row, "the channel is not listed"
        return int(row.group(1))

    console = as_user(base_url + "/api/ui/admin", ADMIN)
    assert subscribers((await fetch(http_client, console)).text) == 0
    ws = await websocket_connect(
        base_url.replace("http", "ws") + "/api/events/ws?channel=example.notes&user=kim"
    )
    try:
        page = await fetch(http_client, console)
        assert subscribers(page.text) == 1
        assert '<b id="user">root</b>' in page.text
        assert ">example<" in page.text  # among the plugins loaded
    finally:
        ws.close()
