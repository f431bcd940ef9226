"""Web pages: weight (HTML + CSS + JS) and first render, for a course of 300 x 10.

Starts ``vngshare`` on a fresh SQLite database, seeds course ``c1`` through
the API (:mod:`benchmarks.course_seed`: 300 students, 10 assignments by
default), then for each page:

- weight: the page's HTML plus every stylesheet and script it links, in bytes
  (goal: <= 150 KB);
- server time: median of ``--repeat`` plain GETs (time to the last byte);
- first render: Chromium's first-contentful-paint after navigation, median of
  ``--repeat`` fresh loads in headless Chromium (goal: <= 300 ms).

Usage::

    .venv/bin/python -m benchmarks.pages [--students 300] [--assignments 10] [--repeat 5]

Prints a Markdown table (append it to benchmarks/results/pages-dashboard.md
with the machine's load, from ``uptime``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import time
import urllib.request

from benchmarks.course_seed import seed
from benchmarks.servers import running

GOAL_BYTES = 150 * 1024
GOAL_RENDER_MS = 300.0
#: Resolves to first-contentful-paint's startTime (ms since navigation), -1 if none in 5 s.
FIRST_PAINT_JS = """() => new Promise(done => {
    const find = () => performance.getEntriesByName('first-contentful-paint')[0];
    const e = find();
    if (e) return done(e.startTime);
    new PerformanceObserver(() => { const f = find(); if (f) done(f.startTime); })
        .observe({type: 'paint', buffered: true});
    setTimeout(() => done(-1), 5000);
})"""
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src)="([^"]+)"')


def pages(first_student: str) -> list[tuple[str, str]]:
    """(label, path) of the exchange's pages for the seeded course."""
    return [
        ("courses (instructor)", "/api/ui/?user=kevin"),
        ("course c1 (instructor)", "/api/ui/c1/?user=kevin"),
        ("assignment table ps01", "/api/ui/c1/ps01?user=kevin"),
        ("one student's row", f"/api/ui/c1/ps01/{first_student}?user=kevin"),
        ("course c1 (student)", f"/api/ui/c1/?user={first_student}"),
        ("trash (admin)", "/api/ui/admin/trash?user=root"),
    ]


def get(url: str) -> tuple[bytes, float]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    return body, (time.perf_counter() - t0) * 1000


def weight(base_url: str, path: str) -> int:
    html, _ = get(base_url + path)
    total = len(html)
    for asset in sorted(set(ASSET.findall(html.decode()))):
        total += len(get(base_url + asset.replace("&amp;", "&"))[0])
    return total


def first_render_ms(base_url: str, path: str, repeat: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            for _ in range(repeat):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(base_url + path, wait_until="load")
                fcp = page.evaluate(FIRST_PAINT_JS)
                out.append(float(fcp))
                context.close()
        finally:
            browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--assignments", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime before: {load}")
    with running("ours") as server:
        t0 = time.monotonic()
        counts = seed(server.base_url, args.students, args.assignments)
        print(f"seeded in {time.monotonic() - t0:.1f} s: {counts}")
        # one deleted assignment, so the trash has a row
        urllib.request.urlopen(
            urllib.request.Request(
                server.base_url + "/api/assignment/c1/ps10?user=kevin", method="DELETE"
            ),
            timeout=60,
        ).read()
        print()
        print("| page | weight (KB) | server time p50 (ms) | first render p50 / max (ms) | goals |")
        print("| --- | --- | --- | --- | --- |")
        for label, path in pages("s001"):
            size = weight(server.base_url, path)
            server_ms = statistics.median(
                get(server.base_url + path)[1] for _ in range(args.repeat)
            )
            renders = first_render_ms(server.base_url, path, args.repeat)
            render = statistics.median(renders)
            ok = "met" if size <= GOAL_BYTES and 0 <= render <= GOAL_RENDER_MS else "NOT met"
            print(
                f"| {label} | {size / 1024:.1f} | {server_ms:.1f} | "
                f"{render:.0f} / {max(renders):.0f} | {ok} |"
            )
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\nuptime after: {load}")


if __name__ == "__main__":
    main()
