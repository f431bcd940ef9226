"""Page weight and first render of the web pages (benchmarks/ui_pages.py lists them).

For each page, in headless Chromium (the system's ``chromium``, driven by
Playwright) against a fresh, seeded vngshare on this machine:

* bytes: the HTML document plus every script and stylesheet it loads (the
  bodies as sent; nothing is compressed by ngshare), budget 150 KB;
* first render: the ``first-contentful-paint`` entry of the page's
  ``performance`` timeline (from navigation start), median of ``--rounds``
  loads in a fresh browser context each (no cache), budget 300 ms.

Usage: ``.venv/bin/python -m benchmarks.pages [--rounds 7] [--out benchmarks/results/pages.md]``.
The machine is shared: ``uptime`` is recorded with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.report import table
from benchmarks.servers import running
from benchmarks.ui_pages import PAGES, SEEDS, SERVER_ARGS, UIPage, page_url

BYTES_BUDGET = 150 * 1000
RENDER_BUDGET_MS = 300.0
#: Most rounds accepted (every load is bounded by LOAD_TIMEOUT_MS too).
MAX_ROUNDS = 50
LOAD_TIMEOUT_MS = 20_000
COUNTED = {"document", "script", "stylesheet"}


async def measure_once(browser, base_url: str, page_spec: UIPage) -> tuple[int, float]:
    """One cold load: (HTML + JS + CSS bytes, first contentful paint in ms)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    sizes: list = []

    async def on_finished(request) -> None:
        if request.resource_type in COUNTED:
            response = await request.response()
            if response is not None:
                sizes.append(len(await response.body()))

    pending: list[asyncio.Task] = []
    page.on("requestfinished", lambda r: pending.append(asyncio.ensure_future(on_finished(r))))
    try:
        await page.goto(page_url(base_url, page_spec), timeout=LOAD_TIMEOUT_MS, wait_until="load")
        await page.wait_for_selector(page_spec.ready, timeout=LOAD_TIMEOUT_MS)
        try:  # a page that loads fast can be evaluated before the browser painted it
            await page.wait_for_function(
                "() => performance.getEntriesByName('first-contentful-paint').length > 0",
                timeout=LOAD_TIMEOUT_MS,
            )
        except PlaywrightTimeoutError:
            pass  # reported below as no first-contentful-paint
        fcp = await page.evaluate(
            "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
        )
        await asyncio.gather(*pending)
    finally:
        await context.close()
    if fcp is None:
        raise RuntimeError(f"{page_spec.name}: the browser reported no first-contentful-paint")
    return sum(sizes), float(fcp)


async def measure(base_url: str, rounds: int) -> list[list[str]]:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs the system chromium (apt-get install chromium)")
    rows = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            for spec in (p for p in PAGES if p.benchmark):
                results = [await measure_once(browser, base_url, spec) for _ in range(rounds)]
                weight = max(b for b, _ in results)
                renders = sorted(ms for _, ms in results)
                median = statistics.median(renders)
                ok = weight <= BYTES_BUDGET and median <= RENDER_BUDGET_MS
                rows.append(
                    [
                        spec.name,
                        f"/{spec.path}",
                        f"{weight / 1000:.1f}",
                        f"{median:.0f}",
                        f"{renders[0]:.0f}–{renders[-1]:.0f}",
                        "yes" if ok else "NO",
                    ]
                )
        finally:
            await browser.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="append the results here")
    args = parser.parse_args(argv)
    rounds = max(1, min(args.rounds, MAX_ROUNDS))
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with running("ours", extra=SERVER_ARGS) as server:
        for seed in SEEDS:
            seed(server.base_url)
        rows = asyncio.run(measure(server.base_url, rounds))
    header = ["page", "path", "KB (HTML+JS+CSS)", "FCP median ms", "FCP range ms", "in budget"]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"\n## {when}: {rounds} cold loads per page\n\n"
        f"`uptime` before the run: `{load}` (a shared machine: other work was running)\n\n"
        + table(header, rows)
        + f"\n\nBudgets: {BYTES_BUDGET // 1000} KB per page,"
        f" first render {RENDER_BUDGET_MS:.0f} ms.\n"
    )
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text)
    return 0 if all(r[-1] == "yes" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
