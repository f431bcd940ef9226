"""Fill a running server with one course through the exchange API (for pages and screenshots).

``seed(base_url, course, students, assignments)``: ``course`` taught by kevin,
``students`` students (s001...), ``assignments`` releases (ps01...); most
students fetch and submit each (some twice), and kevin returns feedback on
part of them. Every call goes through the HTTP API, as clients make them, on
a few threads; the whole run is bounded in count (given) and time
(``deadline_s``).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def call(base_url: str, method: str, path: str, user: str, **fields: str) -> dict:
    fields["user"] = user
    url = f"{base_url}/api/{path}"
    data = None
    if method == "GET":
        url += "?" + urllib.parse.urlencode(fields)
    else:
        data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req, timeout=60) as r:
        body = json.loads(r.read())
    if not body.get("success"):
        raise RuntimeError(f"{method} {path}: {body}")
    return body


def files(**named: bytes) -> str:
    return json.dumps(
        [{"path": p, "content": base64.b64encode(c).decode()} for p, c in named.items()]
    )


def student_names(n: int) -> list[str]:
    return [f"s{i:03d}" for i in range(1, n + 1)]


def seed(
    base_url: str,
    course: str = "c1",
    students: int = 300,
    assignments: int = 10,
    threads: int = 8,
    deadline_s: float = 600.0,
) -> dict[str, int]:
    """Seed the course; return how many calls of each kind were made."""
    start = time.monotonic()
    names = student_names(students)
    call(base_url, "POST", f"course/{course}", "root", instructors='["kevin"]')
    roster = [
        {"username": n, "first_name": f"First{n}", "last_name": f"Last{n}", "email": f"{n}@x.org"}
        for n in names
    ]
    call(base_url, "POST", f"students/{course}", "kevin", students=json.dumps(roster))
    ids = [f"ps{i:02d}" for i in range(1, assignments + 1)]
    for a in ids:
        call(
            base_url,
            "POST",
            f"assignment/{course}/{a}",
            "kevin",
            files=files(**{"p.ipynb": NOTEBOOK}),
        )
    counts = {"fetch": 0, "submit": 0, "feedback": 0}
    lock = threading.Lock()

    def count(kind: str) -> None:
        with lock:
            counts[kind] += 1

    def student_work(job: tuple[int, int]) -> None:
        if time.monotonic() - start > deadline_s:
            raise TimeoutError("seeding took longer than its deadline")
        si, ai = job
        n, a = names[si], ids[ai]
        if (si + ai) % 10 == 9:  # one in ten never fetches
            return
        call(base_url, "GET", f"assignment/{course}/{a}", n)
        count("fetch")
        if (si * 7 + ai) % 5 == 4:  # one in five fetches but does not submit
            return
        body = f'{{"student": "{n}", "assignment": "{a}"}}'.encode()
        ts = call(base_url, "POST", f"submission/{course}/{a}", n, files=files(**{"p.ipynb": body}))
        count("submit")
        if si % 4 == 0:  # some submit twice
            ts = call(
                base_url, "POST", f"submission/{course}/{a}", n, files=files(**{"p.ipynb": body})
            )
            count("submit")
        if ai < assignments // 2:  # feedback returned on the first half of the assignments
            fb = files(**{"p.html": b"<p>feedback</p>"})
            call(
                base_url,
                "POST",
                f"feedback/{course}/{a}/{n}",
                "kevin",
                timestamp=ts["timestamp"],
                files=fb,
            )
            count("feedback")

    jobs = [(si, ai) for ai in range(len(ids)) for si in range(len(names))]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(student_work, jobs))
    return counts
