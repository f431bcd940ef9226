"""Signing in to the exchange's pages through a real JupyterHub's OAuth, in a real browser."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        (shutil.which("chromium") or shutil.which("chromium-browser")) is None,
        reason="needs the system chromium (scripts/test installs it)",
    ),
]


def api(hub, token: str, method: str, path: str, **fields) -> dict:
    data = urllib.parse.urlencode(fields).encode() if method == "POST" else None
    req = urllib.request.Request(
        hub.service_url + path,
        data=data,
        method=method,
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_a_browser_signs_in_through_the_hub_and_sees_its_courses(hub, hub_users):
    from playwright.sync_api import sync_playwright

    assert api(hub, hub_users["root"], "POST", "course/ui-hub", instructors='["kevin"]')["success"]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page()
            page.goto(hub.service_url + "ui/")
            # not signed in: the service sent the browser to the hub, which asks to log in
            assert "/hub/login" in page.url, page.url
            page.fill("input[name=username]", "kevin")
            page.fill("input[name=password]", hub.password)
            page.click("[type=submit]")
            page.wait_for_selector('tr[data-course="ui-hub"]', timeout=60_000)
            assert page.url.startswith(hub.service_url + "ui/")
            assert page.inner_text("#user") == "kevin"
            # the OAuth cookie carries on to the course page (no ?user= anywhere)
            page.click('tr[data-course="ui-hub"] a')
            page.wait_for_selector("#roster", timeout=30_000)
            assert "user=" not in page.url
        finally:
            browser.close()
