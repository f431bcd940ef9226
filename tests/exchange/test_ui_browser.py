"""The exchange's pages in a real browser (headless Chromium driven by Playwright).

After a scripted course (release, fetch, two submissions, feedback, all
through the API) the dashboard's numbers match the API; a zip download holds
the submitted files; the trash restores an assignment; a student gets the
403 page. The dev identity (``?user=``) signs in, as under ``vngshare``.
"""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest

from tests.conftest import ADMIN, encode_files

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs the system chromium (scripts/test installs it)"
)

SUBMITTED = {"p1.ipynb": b'{"cells": ["second"]}', "extra/data.bin": bytes(range(256)) * 40}


async def scripted(exchange):
    await exchange.setup()  # c1 taught by kevin, s1 and s2, a1 released
    await exchange.students(names=("s1", "s2", "s3"))
    for student in ("s1", "s2"):
        await exchange.ok("GET", "assignment/c1/a1", student)
    await exchange.submit("s1", files={"p1.ipynb": b"first"})
    latest = await exchange.submit("s1", files=SUBMITTED)
    await exchange.submit("s2")
    await exchange.ok(
        "POST",
        "feedback/c1/a1/s1",
        "kevin",
        timestamp=latest,
        files=encode_files({"p1.html": b"<p>ok</p>"}),
    )
    return latest


class Browser:
    """One headless Chromium for a test; pages record requests that leave the server."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.offsite: list[str] = []

    async def __aenter__(self):
        from playwright.async_api import async_playwright

        self._pw = await async_playwright().start()
        self.browser = await self._pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        self.context = await self.browser.new_context(accept_downloads=True)
        self.context.on(
            "request",
            lambda r: None if r.url.startswith(self.base_url) else self.offsite.append(r.url),
        )
        return self

    async def __aexit__(self, *exc):
        await self.browser.close()
        await self._pw.stop()

    async def open(self, path: str):
        page = await self.context.new_page()
        response = await page.goto(self.base_url + path)
        return page, response


async def cells(page, student: str) -> dict[str, str]:
    return await page.eval_on_selector(
        f'tr[data-student="{student}"]',
        """row => Object.fromEntries(Array.from(row.querySelectorAll('[data-col]'))
                 .map(c => [c.dataset.col, c.textContent.trim()]))""",
    )


@pytest.mark.gen_test(timeout=120)
async def test_dashboard_numbers_match_the_api(exchange, base_url):
    await scripted(exchange)
    subs = (await exchange.ok("GET", "submissions/c1/a1", "kevin"))["submissions"]
    async with Browser(base_url) as b:
        page, response = await b.open("/api/ui/c1/a1?user=kevin")
        assert response.status == 200
        for student in ("s1", "s2", "s3"):
            own = sorted((s["timestamp"] for s in subs if s["student_id"] == student), reverse=True)
            got = await cells(page, student)
            assert got["submissions"] == str(len(own))
            assert got["latest"] == (own[0] if own else "")
        assert (await cells(page, "s1"))["feedback"] == "yes"
        assert (await cells(page, "s2"))["feedback"] == "no"
        assert (await cells(page, "s3"))["fetched"] == "no"
        # sorting by submissions (the header's button) puts s1 first, then the reverse
        await page.click("#students thead th:nth-child(4) button")
        await page.click("#students thead th:nth-child(4) button")
        order = await page.eval_on_selector_all(
            "#students tbody tr", "rows => rows.map(r => r.dataset.student)"
        )
        assert order[0] == "s1" and order[-1] == "s3"
        # the filter box hides rows without reloading
        await page.fill(".table-filter input", "s2")
        visible = await page.eval_on_selector_all(
            "#students tbody tr:not([hidden])", "rows => rows.map(r => r.dataset.student)"
        )
        assert visible == ["s2"]
        # the course page's counts
        course, _ = await b.open("/api/ui/c1/?user=kevin")
        row = await course.eval_on_selector(
            'tr[data-assignment="a1"]',
            """row => Object.fromEntries(Array.from(row.querySelectorAll('[data-col]'))
                     .map(c => [c.dataset.col, c.textContent.trim()]))""",
        )
        assert row == {
            "fetched": "2 / 3",
            "submitted": "2 / 3",
            "submissions": "3",
            "feedback": "1",
        }
    assert b.offsite == []


@pytest.mark.gen_test(timeout=120)
async def test_a_zip_download_holds_the_submitted_files(exchange, base_url, tmp_path):
    await scripted(exchange)
    async with Browser(base_url) as b:
        page, _ = await b.open("/api/ui/c1/a1?user=kevin")
        async with page.expect_download() as info:
            await page.click('tr[data-student="s1"] a[download]')
        download = await info.value
        path = tmp_path / "s1.zip"
        await download.save_as(path)
        async with page.expect_download() as info:
            await page.click("text=Download every latest submission (zip)")
        every = tmp_path / "all.zip"
        await (await info.value).save_as(every)
    with zipfile.ZipFile(path) as z:
        assert {n: z.read(n) for n in z.namelist()} == SUBMITTED
    with zipfile.ZipFile(io.BytesIO(every.read_bytes())) as z:
        names = z.namelist()
        assert sorted(names) == sorted([f"s1/{p}" for p in SUBMITTED] + ["s2/p1.ipynb"])
        assert z.read("s1/extra/data.bin") == SUBMITTED["extra/data.bin"]


@pytest.mark.gen_test(timeout=120)
async def test_the_trash_restores_an_assignment(exchange, base_url):
    await scripted(exchange)
    await exchange.ok("DELETE", "assignment/c1/a1", "kevin")
    async with Browser(base_url) as b:
        page, _ = await b.open(f"/api/ui/admin/trash?user={ADMIN}")
        await page.click('tr[data-kind="assignment"] button[type="submit"]')
        await page.wait_for_selector("#notice")
        assert "restored assignment 'a1'" in await page.inner_text("#notice")
        assert await page.query_selector("#empty") is not None
    body = await exchange.ok("GET", "submissions/c1/a1", "kevin")
    assert len(body["submissions"]) == 3


@pytest.mark.gen_test(timeout=120)
async def test_a_student_gets_the_403_page(exchange, base_url):
    latest = await scripted(exchange)
    async with Browser(base_url) as b:
        for path in ("/api/ui/c1/a1?user=s2", "/api/ui/c1/a1/s1?user=s2"):
            page, response = await b.open(path)
            assert response.status == 403
            text = await page.inner_text("main")
            assert "403" in text and latest not in text and "Traceback" not in text
        own, response = await b.open("/api/ui/c1/?user=s1")
        assert response.status == 200
        assert latest in await own.inner_text("main")
