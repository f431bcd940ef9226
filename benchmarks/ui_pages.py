"""The web pages that screenshots and the page-weight benchmark visit, and their seed data.

Shared by ``scripts/screenshots`` (docs/screenshots/) and ``benchmarks/pages.py``
(bytes and first render per page). To add pages, append a :class:`UIPage` to
:data:`PAGES` and, if they need data, a seeding function to :data:`SEEDS`
(``seed(base_url)``, calling the server's API as any client would).

Run on a fresh ``vngshare`` (every plugin, ``root`` an admin) started by
:func:`benchmarks.servers.running`.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

#: What the server runs with for the pages (passed to ``vngshare``).
SERVER_ARGS = ["--plugins=all"]


@dataclass(frozen=True)
class UIPage:
    """One page: a file-name stem, a path under the prefix, who views it, what shows it is ready."""

    name: str
    path: str
    user: str
    ready: str = "main"
    #: Photographed by scripts/screenshots / measured by benchmarks/pages.py.
    screenshot: bool = True
    benchmark: bool = True


PAGES: list[UIPage] = [
    UIPage("admin-console", "ui/admin", "root", "#jobs"),
    UIPage("vivere-board", "vivere/board", "root", '#live-status[data-transport="ws"]'),
    UIPage("vivere-board-attendee", "vivere/board", "ada", '#live-status[data-transport="ws"]'),
    # the exchange: measured on a course of 300 students x 10 assignments (c1),
    # photographed on a small one (demo) so the pictures stay readable
    UIPage("exchange-courses", "ui/", "kevin", "#courses"),
    UIPage("exchange-course-300", "ui/c1/", "kevin", "#roster", screenshot=False),
    UIPage("exchange-assignment-300", "ui/c1/ps01", "kevin", "#students", screenshot=False),
    UIPage("exchange-student-row-300", "ui/c1/ps01/s001", "kevin", screenshot=False),
    UIPage("exchange-student-view-300", "ui/c1/", "s001", screenshot=False),
    UIPage("exchange-course", "ui/demo/", "kevin", "#roster", benchmark=False),
    UIPage("exchange-assignment", "ui/demo/ps01", "kevin", "#students", benchmark=False),
    UIPage("exchange-student-row", "ui/demo/ps01/s001", "kevin", benchmark=False),
    UIPage("exchange-student-view", "ui/demo/", "s001", benchmark=False),
    UIPage("exchange-trash", "ui/admin/trash", "root", "#trash"),
]


def call(base_url: str, method: str, path: str, user: str, **fields: str) -> dict:
    """One API call as ``user`` (vngshare's ``user=``); the parsed JSON answer."""
    data = urlencode(fields).encode() if method != "GET" else None
    request = urllib.request.Request(
        f"{base_url}/api/{path}?{urlencode({'user': user})}", data=data, method=method
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def seed_vivere(base_url: str) -> None:
    """A small hackathon: rooms, a schedule, announcements, a queue with one claimed ticket."""
    call(
        base_url,
        "PATCH",
        "vivere/admin/times",
        "root",
        event_start_time="2026-04-18T08:30:00Z",
        hacking_start_time="2026-04-18T10:00:00Z",
        hacking_end_time="2026-04-19T14:00:00Z",
        event_end_time="2026-04-19T18:00:00Z",
    )
    rooms = {}
    for name in ("Main hall", "Lab 2", "Cafeteria"):
        rooms[name] = call(base_url, "POST", "vivere/admin/locations", "root", name=name)["data"]
    schedule = [
        ("Opening ceremony", "2026-04-18T09:00:00Z", "2026-04-18T09:30:00Z", "Main hall"),
        ("Hacking starts", "2026-04-18T10:00:00Z", "2026-04-18T10:05:00Z", "Main hall"),
        ("Intro to Jupyter workshop", "2026-04-18T11:00:00Z", "2026-04-18T12:00:00Z", "Lab 2"),
        ("Lunch", "2026-04-18T12:30:00Z", "2026-04-18T13:30:00Z", "Cafeteria"),
        ("Judging", "2026-04-19T15:00:00Z", "2026-04-19T17:00:00Z", "Main hall"),
    ]
    for title, start, end, room in schedule:
        call(
            base_url,
            "POST",
            "vivere/admin/events",
            "root",
            short_description=title,
            start_time=start,
            end_time=end,
            location_id=rooms[room]["id"],
        )
    for message in (
        "Welcome! Wi-Fi: hackathon / password on the badge.",
        "Lunch is served in the cafeteria.",
        "Mentors are in Lab 2 until 18:00.",
    ):
        call(base_url, "POST", "vivere/admin/announcements", "root", message=message)
    tickets = []
    for user, description, where in (
        ("ada", "pandas merge gives duplicate rows", "Table 4"),
        ("grace", "Kernel dies when loading the dataset", "Table 9"),
        ("linus", "How do I deploy the demo?", "Lab 2"),
    ):
        created = call(
            base_url,
            "POST",
            "vivere/mentorship/create",
            user,
            description=description,
            location=where,
            contact=f"{user}@example.org",
        )
        tickets.append(created["data"]["id"])
    call(base_url, "POST", "vivere/mentorship/claim", "mentor", id=tickets[0])


def seed_jobs(base_url: str) -> None:
    """One run of an hourly job, so the console shows a last run."""
    call(base_url, "POST", "jobs/exchange.purge_deleted/run", "root")


def seed_exchange(base_url: str) -> None:
    """Course c1 (300 students x 10 assignments) and demo (12 x 3), one assignment deleted."""
    from benchmarks.course_seed import seed

    seed(base_url, course="c1", students=300, assignments=10)
    seed(base_url, course="demo", students=12, assignments=3)
    call(base_url, "DELETE", "assignment/demo/ps03", "kevin")


#: Seeding steps, run in order once per fresh server.
SEEDS: list[Callable[[str], None]] = [seed_vivere, seed_jobs, seed_exchange]


def page_url(base_url: str, page: UIPage) -> str:
    return f"{base_url}/api/{page.path}?{urlencode({'user': page.user})}"
