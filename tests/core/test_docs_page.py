"""``{prefix}docs`` renders the merged OpenAPI 3.1 document in a real browser.

Headless Chromium from the system (Debian's ``chromium`` package, installed by
``scripts/test``) driven by Playwright, which uses it through
``executable_path``: no browser is downloaded.
"""

from __future__ import annotations

import json
import shutil

import pytest

from ngshare.app import build, make_application, run_hooks
from ngshare.openapi import HTTP_METHODS
from ngshare.plugin import discover
from tests.conftest import empty_all_tables

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs the system chromium (scripts/test installs it)"
)


@pytest.fixture
def app(make_config, io_loop):
    """Every installed feature set enabled, so the page has all of them to render."""
    plugins = sorted(name for name in discover() if name != "exchange")
    ctx, loaded = build(make_config(plugins=plugins))
    empty_all_tables(ctx.db.engine)
    io_loop.run_sync(lambda: run_hooks(ctx, loaded, "startup"))
    yield make_application(ctx, loaded)
    io_loop.run_sync(lambda: run_hooks(ctx, loaded, "shutdown"))
    ctx.close()


def operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


@pytest.mark.gen_test(timeout=120)
async def test_the_docs_page_renders_every_operation_of_every_feature_set(http_client, base_url):
    from playwright.async_api import async_playwright

    spec = json.loads((await http_client.fetch(base_url + "/api/openapi.json")).body)
    assert spec["openapi"].startswith("3.1")
    expected = operations(spec)
    tags = {t["name"] for t in spec["tags"]}
    assert {"core", "exchange", "vivere"} <= tags

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await browser.new_page()
            offsite: list[str] = []
            page.on(
                "request",
                lambda r: None if r.url.startswith(base_url) else offsite.append(r.url),
            )
            await page.goto(base_url + "/api/docs")
            # operations, or Swagger UI's refusal (.version-pragma) or error list
            await page.wait_for_selector(
                ".opblock, .version-pragma, .errors-wrapper", timeout=60_000
            )
            body = await page.inner_text("body")
            rendered = await page.eval_on_selector_all(
                ".opblock",
                """els => els.map(e => [
                    e.querySelector('.opblock-summary-method').textContent.toLowerCase(),
                    e.querySelector('.opblock-summary-path').dataset.path])""",
            )
            version = await page.evaluate("window.versions?.swaggerUI?.version ?? 'unknown'")
        finally:
            await browser.close()

    assert "Unable to render this definition" not in body
    assert version.startswith("5."), version
    assert {(m, p) for m, p in rendered} == expected
    assert offsite == [], "the page fetched something from outside the server"
