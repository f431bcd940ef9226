"""Drive a server through the exchange API, and read its answers back for comparison.

:func:`populate` builds the data of the import tests on a real ngshare 0.6.0:
three courses (one with a unicode id), instructors and students with unicode
names, releases with a unicode path and a file too large to be kept in our
database, resubmissions, feedback (one replaced), a student deleted after
submitting, an assignment deleted. :func:`answers` asks a server every
question a client could ask about that data; the import tests ask ngshare
0.6.0 and then us, and compare.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field

import requests

ADMIN = "root"
PHYSICS = "physics-101"
UNICODE_COURSE = "Ünïcødé-课程"
EMPTY = "empty-course"
INSTRUCTORS = {
    PHYSICS: [("ins1", "Zoë", "Ångström", "zoe@example.org"), ("ins2", "Bo", "Li", "bo@x.org")],
    UNICODE_COURSE: [("prof.ø", "Søren", "Kierkegård", "søren@example.dk")],
}
STUDENTS = {
    PHYSICS: [
        ("s1", "José", "Núñez", "jose@example.org"),
        ("s2", "Łukasz", "Wąs", "lukasz@example.org"),
        ("s3", "Ada", "Lovelace", "ada@example.org"),
        ("s4", "", "", ""),
    ],
    UNICODE_COURSE: [("émile", "Émile", "Zola", "emile@example.fr"), ("s1", "J", "N", "j@n")],
}
FIELDS = ("username", "first_name", "last_name", "email")
#: The student removed from physics-101 after submitting.
DELETED_STUDENT = "s3"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def files_field(files: dict[str, bytes]) -> str:
    return json.dumps([{"path": p, "content": b64(c)} for p, c in files.items()])


@dataclass
class Client:
    """``user=`` identity, as ngshare 0.6's development mode and our vngshare take it."""

    api: str
    session: requests.Session = field(default_factory=requests.Session)

    def call(self, method: str, path: str, user: str, **fields: str) -> tuple[int, object]:
        url = f"{self.api}/{path}"
        if method in ("GET", "DELETE"):
            r = self.session.request(method, url, params={"user": user, **fields}, timeout=60)
        else:
            r = self.session.request(method, url, data={"user": user, **fields}, timeout=60)
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, r.text[:200]

    def ok(self, method: str, path: str, user: str, **fields: str) -> dict:
        status, body = self.call(method, path, user, **fields)
        assert status == 200 and body["success"], (method, path, status, body)
        return body


def release_files(course: str, assignment: str) -> dict[str, bytes]:
    big = os.urandom(300 * 1024)  # over our 256 KiB inline limit: stored as a file
    return {
        f"{assignment}.ipynb": f'{{"cells": [], "course": "{course}"}}'.encode(),
        "data/données.csv": b"x,y\n1,2\n",
        "résumé/ñ.bin": big,
    }


def submit(client: Client, course: str, assignment: str, user: str, text: str) -> str:
    files = {f"{assignment}.ipynb": text.encode(), "notes/ü.txt": os.urandom(64)}
    body = client.ok("POST", f"submission/{course}/{assignment}", user, files=files_field(files))
    return body["timestamp"]


def populate(client: Client) -> None:
    """Build the test data (see the module docstring)."""
    for course, instructors in INSTRUCTORS.items():
        client.ok("POST", f"course/{course}", ADMIN, instructors=f'["{instructors[0][0]}"]')
        for username, first, last, email in instructors:
            client.ok(
                "POST", f"instructor/{course}/{username}", ADMIN,
                first_name=first, last_name=last, email=email,
            )  # fmt: skip
    client.ok("POST", f"course/{EMPTY}", ADMIN, instructors='["ins1"]')

    first, *rest = STUDENTS[PHYSICS]
    client.ok("POST", f"student/{PHYSICS}/{first[0]}", "ins1",
              first_name=first[1], last_name=first[2], email=first[3])  # fmt: skip
    entries = [dict(zip(FIELDS, s, strict=True)) for s in rest]
    client.ok("POST", f"students/{PHYSICS}", "ins1", students=json.dumps(entries))
    entries = [dict(zip(FIELDS, s, strict=True)) for s in STUDENTS[UNICODE_COURSE]]
    client.ok("POST", f"students/{UNICODE_COURSE}", "prof.ø", students=json.dumps(entries))

    for course, instructor, names in (
        (PHYSICS, "ins1", ["hw-old", "hw1", "hw2"]),
        (UNICODE_COURSE, "prof.ø", ["tâche 1"]),
    ):
        for name in names:
            client.ok("POST", f"assignment/{course}/{name}", instructor,
                      files=files_field(release_files(course, name)))  # fmt: skip
    client.ok("DELETE", f"assignment/{PHYSICS}/hw-old", "ins1")

    s1_first = submit(client, PHYSICS, "hw1", "s1", "s1 first try")
    submit(client, PHYSICS, "hw1", "s1", "s1 second try")
    s2 = submit(client, PHYSICS, "hw1", "s2", "s2 only try")
    submit(client, PHYSICS, "hw1", "ins1", "an instructor may submit too")
    s3 = submit(client, PHYSICS, "hw1", "s3", "s3, removed later")
    submit(client, PHYSICS, "hw2", "s3", "s3 on hw2")
    submit(client, UNICODE_COURSE, "tâche 1", "émile", "première")
    emile_2 = submit(client, UNICODE_COURSE, "tâche 1", "émile", "deuxième")

    html = b"<html><body>feedback \xc3\xa9</body></html>"
    for course, assignment, student, ts, content in (
        (PHYSICS, "hw1", "s1", s1_first, html),
        (PHYSICS, "hw1", "s2", s2, b"old feedback"),
        (PHYSICS, "hw1", "s2", s2, html + b" replaced"),  # replaces the one before
        (PHYSICS, "hw1", "s3", s3, b"feedback for a student removed later"),
        (UNICODE_COURSE, "tâche 1", "émile", emile_2, "retour é".encode()),
    ):
        client.ok("POST", f"feedback/{course}/{assignment}/{student}", "root",
                  timestamp=ts, files=files_field({f"{assignment}.html": content}))  # fmt: skip


def remove_student(client: Client) -> None:
    """Remove :data:`DELETED_STUDENT` from physics-101 (after :func:`populate`)."""
    client.ok("DELETE", f"student/{PHYSICS}/{DELETED_STUDENT}", "ins1")


def questions(client: Client) -> list[tuple[str, str, dict]]:
    """Every read call a client could make about the data: (path, user, query fields).

    Found by asking the server itself (lists first, then each item), as an
    admin, as each course's first instructor and as each student.
    """
    calls: list[tuple[str, str, dict]] = []
    users = {ADMIN, "ins1", "ins2", "prof.ø", "émile", "s1", "s2", "s3", "s4", "nobody"}
    calls += [("courses", u, {}) for u in sorted(users)]
    _, body = client.call("GET", "courses", ADMIN)
    for course in body["courses"] + ["no-such-course"]:
        teacher = (INSTRUCTORS.get(course) or [("ins1",)])[0][0]
        for who in (ADMIN, teacher, "s1", "nobody"):
            calls += [(f"instructors/{course}", who, {}), (f"students/{course}", who, {})]
            calls += [(f"assignments/{course}", who, {})]
        people = [i[0] for i in INSTRUCTORS.get(course, [])] + [
            s[0] for s in STUDENTS.get(course, [])
        ]
        for person in people + ["no-such-person"]:
            calls += [(f"instructor/{course}/{person}", teacher, {})]
            calls += [(f"student/{course}/{person}", teacher, {})]
            calls += [(f"student/{course}/{person}", person, {})]
        _, listed = client.call("GET", f"assignments/{course}", ADMIN)
        for assignment in listed.get("assignments", []) + ["no-such-assignment"]:
            base = f"{course}/{assignment}"
            calls += [(f"assignment/{base}", who, {}) for who in (teacher, "s1", "nobody")]
            calls += [(f"assignment/{base}", teacher, {"list_only": "true"})]
            calls += [(f"submissions/{base}", who, {}) for who in (teacher, "s1")]
            _, subs = client.call("GET", f"submissions/{base}", ADMIN)
            submitters = sorted({s["student_id"] for s in subs.get("submissions", [])})
            for student in submitters + ["s4"]:
                for who in (teacher, student):
                    calls += [(f"submissions/{base}/{student}", who, {})]
                calls += [(f"submission/{base}/{student}", teacher, {})]
            for s in subs.get("submissions", []):
                student, ts = s["student_id"], s["timestamp"]
                calls += [(f"submission/{base}/{student}", teacher, {"timestamp": ts})]
                calls += [
                    (
                        f"submission/{base}/{student}",
                        teacher,
                        {"timestamp": ts, "list_only": "true"},
                    )
                ]
                for who in (teacher, student):
                    calls += [(f"feedback/{base}/{student}", who, {"timestamp": ts})]
                calls += [(f"feedback/{base}/{student}", teacher, {"timestamp": ts + "1"})]
    return calls


def normalized(status: int, body: object) -> tuple[int, object]:
    """An answer in comparable form: file contents decoded, timestamps without ' UTC'.

    ngshare 0.6 sends base64 with line breaks (``encodebytes``) and, once a
    timestamp has been through its SQLite database, drops the ' UTC' suffix;
    we send unbroken base64 and always the suffix. Both are the same bytes
    and instants, which is what clients compare.
    """
    if not isinstance(body, dict):
        return status, "not JSON"
    out = dict(body)
    if "files" in out:
        out["files"] = [
            {**f, "content": base64.b64decode(f["content"])} if "content" in f else f
            for f in out["files"]
        ]
    if "timestamp" in out:
        out["timestamp"] = _plain(out["timestamp"])
    if "submissions" in out:
        out["submissions"] = [
            {**s, "timestamp": _plain(s["timestamp"])} for s in out["submissions"]
        ]
    return status, out


def _plain(ts: str) -> str:
    return ts.removesuffix(" UTC")


def answers(client: Client, calls: list[tuple[str, str, dict]]) -> dict:
    """``{(path, user, fields): normalized answer}`` for every call."""
    out = {}
    for path, user, fields in calls:
        key = (path, user, tuple(sorted(fields.items())))
        out[key] = normalized(*client.call("GET", path, user, **fields))
    return out
