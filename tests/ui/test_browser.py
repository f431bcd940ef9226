"""The admin console and the Vivere live board in a real browser.

Headless Chromium from the system (Debian's ``chromium``, installed by
``scripts/test``) driven by Playwright through ``executable_path``, as in
``tests/core/test_docs_page.py``; the server runs in the test's own loop.
Callers are named by vngshare's ``?user=``.
"""

from __future__ import annotations

import json
import shutil
import uuid
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import pytest

from tests.conftest import ADMIN, started_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs the system chromium (scripts/test installs it)"
)
#: Longest wait for something the page should show (ms); the loops below are bounded by it.
SHOW_MS = 10_000
PHONE = {"width": 360, "height": 740}
JOB = "exchange.purge_deleted"  # hourly: it does not run by itself during a test


@pytest.fixture
def server(make_config, io_loop):
    with started_server(
        make_config(plugins=["vivere"]), io_loop, tables=("vivere_tickets", "vivere_announcements")
    ) as ctx:
        yield ctx


@pytest.fixture(autouse=True)
def serving(http_server):
    """pytest-tornado listens only for tests that ask for its server (``base_url`` does not)."""
    return http_server


@asynccontextmanager
async def browser_page(viewport=None, javascript=True, init_script=None):
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = await browser.new_context(
                viewport=viewport or {"width": 1280, "height": 900},
                java_script_enabled=javascript,
            )
            if init_script:
                await context.add_init_script(init_script)
            yield await context.new_page()
        finally:
            await browser.close()


async def api(http_client, base_url, path: str, user: str, **fields) -> dict:
    """POST a Vivere API call as ``user`` (another person than the browser's)."""
    response = await http_client.fetch(
        f"{base_url}/api/{path}?{urlencode({'user': user})}",
        method="POST",
        body=urlencode(fields),
    )
    return json.loads(response.body)


def url(base_url: str, path: str, user: str | None) -> str:
    return f"{base_url}/api/{path}" + (f"?{urlencode({'user': user})}" if user else "")


async def tab_until(page, selector: str, presses: int = 60) -> list[str]:
    """Press Tab until ``selector`` has the focus (at most ``presses`` times); the path taken."""
    path = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        described = await page.evaluate(
            "() => { const e = document.activeElement; const text = (e.textContent || '').trim();"
            " return e.tagName + '#' + (e.id || '') + ':' + text.slice(0, 30) }"
        )
        path.append(described)
        if await page.evaluate(f"() => document.activeElement.matches({json.dumps(selector)})"):
            return path
    raise AssertionError(f"{selector} never got the focus by Tab: {path}")


async def no_horizontal_scroll(page) -> None:
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[2] and widths[1] <= widths[2], widths


# -- admin console -------------------------------------------------------------------------------


@pytest.mark.gen_test(timeout=60)
async def test_the_admin_console_lists_plugins_and_jobs_and_runs_one_now(base_url, server):
    async with browser_page() as page:
        await page.goto(url(base_url, "ui/admin", ADMIN))
        plugins = await page.inner_text("#plugins")
        assert "exchange" in plugins and "vivere" in plugins
        row = page.locator(f'tr[data-job="{JOB}"]')
        assert await row.locator(".run-count").inner_text() == "0"
        await row.get_by_role("button", name=f"Run {JOB} now").click()
        await page.wait_for_selector("#notice", timeout=SHOW_MS)
        assert await page.inner_text("#notice") == f"Ran {JOB}: succeeded"
        assert await row.locator(".run-count").inner_text() == "1"
        assert await row.locator(".last-result").inner_text() == "ok"
    runs = {j["id"]: j["run_count"] for j in await server.scheduler.jobs()}
    assert runs[JOB] == 1


@pytest.mark.gen_test(timeout=60)
async def test_a_non_admin_gets_a_403_page_for_the_admin_console(base_url):
    async with browser_page() as page:
        response = await page.goto(url(base_url, "ui/admin", "s1"))
        assert response.status == 403
        assert await page.inner_text("h1") == "403 Forbidden"
        assert "administrators only" in await page.inner_text("#error-message")
        body = await page.inner_text("body")
        assert "Traceback" not in body and "Run now" not in body


@pytest.mark.gen_test(timeout=60)
async def test_the_admin_console_is_usable_by_keyboard_and_on_a_phone(base_url):
    async with browser_page(viewport=PHONE) as page:
        await page.goto(url(base_url, "ui/admin", ADMIN))
        await tab_until(page, f'tr[data-job="{JOB}"] button')
        await page.keyboard.press("Enter")  # the focused "Run now" submits its form
        await page.wait_for_selector("#notice", timeout=SHOW_MS)
        await no_horizontal_scroll(page)


# -- the live board ------------------------------------------------------------------------------


async def board(page, base_url: str, user: str, transport: str | None = "ws") -> None:
    await page.goto(url(base_url, "vivere/board", user))
    if transport:
        await page.wait_for_selector(f'#live-status[data-transport="{transport}"]', timeout=SHOW_MS)
    await page.evaluate("() => { window.__loadedOnce = true; }")


async def still_the_same_page(page) -> None:
    assert await page.evaluate("() => window.__loadedOnce === true"), "the page was reloaded"


@pytest.mark.gen_test(timeout=90)
@pytest.mark.parametrize(
    "transport, init_script",
    [("ws", None), ("sse", "window.WebSocket = undefined;")],  # as where WebSocket is blocked
)
async def test_the_board_shows_an_announcement_and_a_claim_without_reload(
    http_client, base_url, transport, init_script
):
    message = f"Dinner is served {uuid.uuid4().hex[:6]}"
    async with browser_page(init_script=init_script) as page:
        await board(page, base_url, "viewer", transport)
        assert await page.is_visible("#no-announcements")
        await api(http_client, base_url, "vivere/admin/announcements", ADMIN, message=message)
        await page.wait_for_selector(f'#announcements li:has-text("{message}")', timeout=SHOW_MS)
        assert await page.is_hidden("#no-announcements")

        created = await api(
            http_client,
            base_url,
            "vivere/mentorship/create",
            "mentee",
            description="My kernel died",
            location="Table 4",
            contact="mentee@example.org",
        )
        ticket = created["data"]["id"]
        item = f'#queue li[data-id="{ticket}"]'
        await page.wait_for_selector(f'{item}[data-state="open"]', timeout=SHOW_MS)
        await api(http_client, base_url, "vivere/mentorship/claim", "mentor", id=ticket)
        await page.wait_for_selector(f'{item}[data-state="claimed"]', timeout=SHOW_MS)
        assert await page.inner_text(f"{item} .state") == "claimed"
        await still_the_same_page(page)


@pytest.mark.gen_test(timeout=60)
async def test_an_organiser_announces_from_the_board_with_script(base_url):
    async with browser_page() as page:
        await board(page, base_url, ADMIN)
        await page.fill("#message", "Workshops start in 5 minutes")
        await page.click("#announce button")
        await page.wait_for_selector(
            '#announcements li:has-text("Workshops start in 5 minutes")', timeout=SHOW_MS
        )
        assert await page.input_value("#message") == ""
        await still_the_same_page(page)


@pytest.mark.gen_test(timeout=60)
async def test_an_organiser_announces_from_the_board_without_script(base_url):
    async with browser_page(javascript=False) as page:
        await page.goto(url(base_url, "vivere/board", ADMIN))
        await page.fill("#message", "Judging at 3 pm")
        async with page.expect_navigation():
            await page.click("#announce button")
        assert "/api/vivere/board" in page.url
        assert await page.inner_text("#notice") == "Announcement posted"
        assert "Judging at 3 pm" in await page.inner_text("#announcements")


@pytest.mark.gen_test(timeout=60)
async def test_a_board_form_without_its_xsrf_token_is_refused_with_a_403_page(base_url):
    async with browser_page() as page:
        await board(page, base_url, ADMIN, transport=None)
        await page.fill("#message", "forged")
        await page.evaluate("() => document.querySelector('#announce input[name=_xsrf]').remove()")
        async with page.expect_navigation() as navigation:
            await page.evaluate("() => document.getElementById('announce').submit()")  # no script
        response = await navigation.value
        assert response.status == 403
        assert await page.inner_text("h1") == "403 Forbidden"
        await page.goto(url(base_url, "vivere/board", ADMIN))
        assert "forged" not in await page.inner_text("#announcements")


@pytest.mark.gen_test(timeout=60)
async def test_non_organisers_see_the_board_without_the_form(base_url):
    async with browser_page() as page:
        await board(page, base_url, "viewer", transport=None)
        assert await page.locator("#announce").count() == 0
        assert await page.is_visible("#queue") or await page.is_visible("#no-tickets")


@pytest.mark.gen_test(timeout=60)
async def test_the_board_form_is_reachable_by_tab_and_the_board_fits_a_phone(http_client, base_url):
    long_word = "x" * 120  # an unbreakable line must not widen the page
    await api(http_client, base_url, "vivere/admin/announcements", ADMIN, message=long_word)
    await api(
        http_client,
        base_url,
        "vivere/mentorship/create",
        "mentee",
        description="Pandas " + long_word,
        location="Room " + long_word,
        contact="m@example.org",
    )
    async with browser_page(viewport=PHONE) as page:
        await board(page, base_url, ADMIN)
        path = await tab_until(page, "#message")
        assert any(step.startswith("A#") for step in path)  # the header links came first
        await page.keyboard.type("From the keyboard")
        await tab_until(page, "#announce button", presses=3)
        await page.keyboard.press("Enter")
        await page.wait_for_selector(
            '#announcements li:has-text("From the keyboard")', timeout=SHOW_MS
        )
        await no_horizontal_scroll(page)
