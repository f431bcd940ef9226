"""Screenshots of the web pages, for the docs (run through ``scripts/screenshots``).

Starts ``vngshare --plugins all`` on a fresh database, seeds it, and saves
each page at 1280 px and 390 px wide as ``<name>-<width>.png``. Each feature
set's pages are one entry of :data:`SECTIONS`: a function that seeds what its
pages need and returns ``(name, path)`` pairs.
"""

from __future__ import annotations

import shutil
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.course_seed import seed  # noqa: E402
from benchmarks.servers import running  # noqa: E402

WIDTHS = (1280, 390)


def exchange_shots(base_url: str) -> list[tuple[str, str]]:
    """The instructor dashboard, a student's view and the trash, on a course of 12 x 3."""
    seed(base_url, students=12, assignments=3, threads=4, deadline_s=120)
    req = urllib.request.Request(base_url + "/api/assignment/c1/ps03?user=kevin", method="DELETE")
    urllib.request.urlopen(req, timeout=30).read()
    return [
        ("exchange-courses", "/api/ui/?user=kevin"),
        ("exchange-course", "/api/ui/c1/?user=kevin"),
        ("exchange-assignment", "/api/ui/c1/ps01?user=kevin"),
        ("exchange-student-row", "/api/ui/c1/ps01/s001?user=kevin"),
        ("exchange-student-view", "/api/ui/c1/?user=s001"),
        ("exchange-trash", "/api/ui/admin/trash?user=root"),
    ]


#: Each feature set's screenshots: seed, then (file name, path) of each page.
SECTIONS: list[Callable[[str], list[tuple[str, str]]]] = [exchange_shots]


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs the system chromium")
    with running("ours", ["--plugins", "all"]) as server, sync_playwright() as pw:
        shots = [shot for section in SECTIONS for shot in section(server.base_url)]
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                for name, path in shots:
                    page.goto(server.base_url + path, wait_until="load")
                    page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
                    print(out / f"{name}-{width}.png")
                context.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
