"""Screenshots of every page of :data:`benchmarks.ui_pages.PAGES` at 1280 and 390 px wide.

``scripts/screenshots`` runs it: a fresh vngshare, seeded by
:data:`benchmarks.ui_pages.SEEDS`, photographed by headless Chromium (the
system's ``chromium``, driven by Playwright) into ``docs/screenshots/``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from benchmarks.servers import running
from benchmarks.ui_pages import PAGES, SEEDS, SERVER_ARGS, page_url

WIDTHS = (1280, 390)
HEIGHT = {1280: 900, 390: 844}
READY_MS = 15_000


async def photograph(base_url: str, out: Path) -> list[Path]:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs the system chromium (apt-get install chromium)")
    written = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            for width in WIDTHS:
                context = await browser.new_context(
                    viewport={"width": width, "height": HEIGHT[width]},
                    reduced_motion="reduce",
                )
                page = await context.new_page()
                for ui_page in (p for p in PAGES if p.screenshot):
                    await page.goto(page_url(base_url, ui_page))
                    await page.wait_for_selector(ui_page.ready, timeout=READY_MS)
                    path = out / f"{ui_page.name}-{width}.png"
                    await page.screenshot(path=str(path), full_page=True)
                    written.append(path)
                await context.close()
        finally:
            await browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with running("ours", extra=SERVER_ARGS) as server:
        for seed in SEEDS:
            seed(server.base_url)
        for path in asyncio.run(photograph(server.base_url, args.out)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
