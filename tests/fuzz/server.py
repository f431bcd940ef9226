"""A real server for the fuzzer: every feature set, on its own thread, seeded.

The fuzzer sends blocking HTTP requests (``requests``), so the server cannot
share the test's IOLoop: it runs on a thread with its own asyncio loop, built
exactly as the test fixtures build theirs (``build`` + ``make_application``),
on the test session's database (SQLite or the PostgreSQL schema). Errors the
server logs while it runs (a 500's traceback) are kept, so a failure report
can show what broke.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ngshare_coursegrab
import requests
import sqlalchemy as sa
from ngshare_coursegrab.models import CourseGrabBase
from ngshare_ekatra.models import EkatraBase
from ngshare_vivere.config import Vivere
from ngshare_vivere.models import VivereBase
from tornado.httpserver import HTTPServer
from traitlets.config import Config

from ngshare.app import build, make_application, run_hooks
from ngshare.config import VNgShare
from tests.conftest import ADMIN, empty_all_tables
from tests.servers import free_port

INSTRUCTOR = "kevin"
STUDENT = "s1"
OTHER_STUDENT = "s2"
OUTSIDER = "mallory"
ORGANISER = "olivia"
PASSWORD = "correct horse battery"


class ErrorLog(logging.Handler):
    """Keeps the server's error records (with their tracebacks) for failure reports."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))

    def take(self) -> list[str]:
        taken, self.records = self.records, []
        return taken


@dataclass
class Seed:
    """What the seeding created: path values that reach real objects."""

    path_values: dict[str, str] = field(default_factory=dict)
    vivere_token: str = ""


@dataclass
class FuzzServer:
    base_url: str
    spec: dict
    seed: Seed
    errors: ErrorLog


def _empty_plugin_tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for metadata in (VivereBase.metadata, CourseGrabBase.metadata, EkatraBase.metadata):
            for table in metadata.sorted_tables[::-1]:
                conn.execute(table.delete())


#: CourseGrab's roster for the fuzzer: one course, sections 12401 and 12403.
COURSEGRAB_ROSTER = {
    "term": "SP26",
    "courses": [
        {
            "subject_code": "CS",
            "course_num": 3110,
            "title": "Data Structures and Functional Programming",
            "sections": [
                {"catalog_num": 12401, "section": "LEC 001 / TR 12:20pm", "status": "OPEN"},
                {"catalog_num": 12403, "section": "DIS 212 / W 2:30pm", "status": "CLOSED"},
            ],
        }
    ],
}


@contextmanager
def running(db_url: str, storage_path: str) -> Iterator[FuzzServer]:
    """Start the server with every bundled feature set on a loopback port; stop it after."""
    config = VNgShare(
        db_url=db_url,
        storage_path=storage_path,
        admins=[ADMIN],
        config_file="",
        plugins=["vivere", "coursegrab", "ekatra"],
    )
    roster_file = Path(storage_path).parent / "coursegrab-roster.json"
    roster_file.write_text(json.dumps(COURSEGRAB_ROSTER))
    config.update_config(Config({"CourseGrab": {"roster_file": str(roster_file)}}))
    ctx, plugins = build(config)
    _empty_plugin_tables(ctx.db.engine)
    empty_all_tables(ctx.db.engine)
    ctx.state(Vivere).organisers = [ORGANISER]
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        await run_hooks(ctx, plugins, "startup")
        await ctx.state(ngshare_coursegrab.StartupIngest).wait()  # the roster is loaded
        ctx.accounts.scrypt_n = 2**10  # the fuzzer is about input, not scrypt
        app = make_application(ctx, plugins)
        server = HTTPServer(app, max_body_size=config.max_body_bytes + 1)
        server.listen(port, "127.0.0.1")
        holder["server"] = server

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as e:  # noqa: BLE001 - reported to the test thread
            holder["error"] = e
            started.set()
            return
        started.set()
        loop.run_forever()

    errors = ErrorLog()
    names = ("ngshare", "ngshare.access", "tornado", "ngshare_vivere", "ngshare_ekatra")
    loggers = [logging.getLogger(n) for n in names]
    for logger in loggers:
        logger.addHandler(errors)
    thread = threading.Thread(target=run, name="fuzz-server", daemon=True)
    thread.start()
    try:
        if not started.wait(60):
            raise RuntimeError("the fuzz server did not start within 60 s")
        if "error" in holder:
            raise holder["error"]
        base_url = f"http://127.0.0.1:{port}"
        spec = requests.get(base_url + "/api/openapi.json", timeout=30).json()
        seed = seed_objects(base_url)
        errors.take()  # seeding is not under test
        yield FuzzServer(base_url=base_url, spec=spec, seed=seed, errors=errors)
    finally:

        async def stop() -> None:
            server = holder.get("server")
            if server is not None:
                server.stop()
                await server.close_all_connections()
            await run_hooks(ctx, plugins, "shutdown")

        if thread.is_alive() and "error" not in holder:
            asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(60)
        loop.close()
        ctx.close()
        for logger in loggers:
            logger.removeHandler(errors)


def _files(files: dict[str, bytes]) -> str:
    return json.dumps(
        [{"path": p, "content": base64.b64encode(c).decode()} for p, c in files.items()]
    )


def _seed_ekatra(ok: Any) -> dict[str, str]:
    """Ekatra: a course with a question, a group with a learner, a scheduled delivery."""
    course = {
        "name": "Python",
        "author": "Ekatra",
        "description": "",
        "days": [{"text": "Hello", "questions": [{"question": "2+2?", "type": "exact"}]}],
    }
    course_id = ok("POST", "ekatra/course/", INSTRUCTOR, json=course)["id"]
    learners = [{"name": "Lee", "number": "+919380169981", "timezone": "Asia/Kolkata"}]
    group_id = ok("POST", "ekatra/group/", INSTRUCTOR, json={"name": "G", "students": learners})[
        "id"
    ]
    learner_id = ok("GET", f"ekatra/group/{group_id}", INSTRUCTOR)["students"][0]["id"]
    schedule = {"schedule_at": "2100-01-01 09:00"}
    path = f"ekatra/delivery/group/{group_id}/{course_id}"
    delivery = ok("POST", path, INSTRUCTOR, json=schedule)
    return {
        "c_id": str(course_id),
        "day": "1",
        "q_id": "1",
        "group_id": str(group_id),
        "g_id": str(group_id),
        "s_id": str(learner_id),
        "delivery_id": str(delivery["id"]),
    }


def seed_objects(base_url: str) -> Seed:
    """A course with an instructor and students, a release, a submission, feedback; Vivere's
    locations, an event, an announcement and a ticket; a core token. Deep paths then reach
    real objects."""
    api = base_url + "/api/"
    http = requests.Session()

    def ok(method: str, path: str, user: str | None, expect: int = 200, **kw: Any) -> Any:
        params = kw.pop("params", {})
        if user is not None:
            params["user"] = user
        r = http.request(method, api + path, params=params, timeout=30, **kw)
        assert r.status_code == expect, (method, path, r.status_code, r.text)
        return r.json()

    ok("POST", "course/c1", ADMIN, data={"instructors": json.dumps([INSTRUCTOR])})
    students = [
        {"username": n, "first_name": "F" + n, "last_name": "L" + n, "email": n + "@x"}
        for n in (STUDENT, OTHER_STUDENT)
    ]
    ok("POST", "students/c1", INSTRUCTOR, data={"students": json.dumps(students)})
    ok("POST", "course/c2", ADMIN, data={"instructors": json.dumps([INSTRUCTOR])})
    release = {"p1.ipynb": b'{"cells": []}', "data/x.csv": b"1,2\n"}
    ok("POST", "assignment/c1/a1", INSTRUCTOR, data={"files": _files(release)})
    submitted = ok("POST", "submission/c1/a1", STUDENT, data={"files": _files({"p1.ipynb": b"{}"})})
    timestamp = submitted["timestamp"]
    ok(
        "POST",
        f"feedback/c1/a1/{STUDENT}",
        INSTRUCTOR,
        data={"timestamp": timestamp, "files": _files({"p1.html": b"<p>ok</p>"})},
    )
    token = ok(
        "POST",
        "vivere/user/create",
        None,
        201,
        json={
            "name": "Jason",
            "username": "jason",
            "password": PASSWORD,
        },
    )["data"]["token"]
    location = ok(
        "POST",
        "vivere/admin/locations",
        ORGANISER,
        201,
        json={
            "name": "Main hall",
            "rank": 0,
        },
    )["data"]
    ok("POST", "vivere/admin/locations", ORGANISER, 201, json={"name": "Side room"})
    event = ok(
        "POST",
        "vivere/admin/events",
        ORGANISER,
        201,
        json={
            "short_description": "Opening",
            "long_description": "Welcome",
            "start_time": "2030-02-25T15:00:00Z",
            "end_time": "2030-02-25T16:00:00Z",
            "location_id": location["id"],
        },
    )["data"]
    announcement = ok(
        "POST",
        "vivere/admin/announcements",
        ORGANISER,
        201,
        json={
            "message": "Hello",
        },
    )["data"]
    ticket = ok(
        "POST",
        "vivere/mentorship/create",
        STUDENT,
        201,
        json={
            "description": "help",
            "location": "table 4",
            "contact": "s1@x",
        },
    )["data"]
    core_tokens = ok("GET", "tokens", None, headers={"X-MenloHacks-Authorization": token})
    jobs = ok("GET", "jobs", ADMIN)["jobs"]
    values = {
        "course_id": "c1",
        "assignment_id": "a1",
        "student_id": STUDENT,
        "instructor_id": INSTRUCTOR,
        "event_id": event["id"],
        "location_id": location["id"],
        "announcement_id": announcement["id"],
        "ticket_id": ticket["id"],
        "timestamp": timestamp,
        "token_id": str(core_tokens["tokens"][0]["id"]),
    }
    if jobs:
        values["job_id"] = jobs[0]["id"]
    values.update(_seed_ekatra(ok))
    return Seed(path_values=values, vivere_token=token)
