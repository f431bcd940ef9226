"""The roles of the matrix, the objects seeded for them, and the client that calls as each.

Most roles sign in with the dev identity (``user=`` in the query string);
``account``, ``impostor`` and ``revoked`` present a core token of a Vivere
local account instead (``Authorization: Bearer``). The seeded objects make every path
parameter name a real object the roles stand in a known relation to:

- exchange: course ``c<n>`` taught by ``kevin`` and ``ingrid``, students ``s1`` (the owner:
  submitted, got feedback) and ``s2`` (enrolled, owns nothing), assignment
  ``a1`` released;
- vivere: a primary location with a map, an event, an announcement, an open
  ticket of ``s1`` and a ticket of ``s1`` claimed by ``mona`` (the mentor);
- core: the token of the ``account`` role, the revoked token of ``revoked``,
  and the token of ``impostor``: the local account ``local:root``, who must
  not be taken for the admin ``root``;
- ekatra: ``kevin`` (the instructor role) owns a course with a question, a
  group with a learner (both free to change) and a scheduled delivery of a
  second course to a second group; an Ekatra account ``ek<n>@example.org``;
- ``former_student`` (``s9``) submitted to ``a1`` and was then removed from the
  course; ``other_instructor`` (``irene``) teaches course ``o<n>``.

Each seeding makes a new generation ``n`` with new names, so nothing has to be
deleted between generations (and no server cache can hold a stale object).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.tcpclient import TCPClient
from tornado.websocket import websocket_connect

from tests.conftest import ADMIN, encode_files
from tests.plugins.vivere.images import png

PREFIX = "/api/"
PASSWORD = "correct horse battery"
ORGANISER = "olivia"
MENTOR = "mona"

#: Role -> the dev user it signs in as; None: anonymous; "token:<kind>": a core token instead.
ROLES: dict[str, str | None] = {
    "anonymous": None,
    "outsider": "ollie",  # signed in, no course, no ticket, no plugin role
    "student": "s1",  # enrolled; owns the submission, the feedback and the tickets
    "other_student": "s2",  # enrolled in the same course, owns nothing
    "former_student": "s9",  # was enrolled and submitted, then was removed from the course
    "instructor": "kevin",
    "co_instructor": "ingrid",  # teaches the same course as kevin
    "other_instructor": "irene",  # teaches another course only
    "admin": ADMIN,
    "organiser": ORGANISER,  # c.Vivere.organisers
    "mentor": MENTOR,  # claimed the student's ticket
    "account": "token:account",  # a Vivere local account, by its core token
    "impostor": "token:impostor",  # a Vivere local account named like the admin ("root")
    "revoked": "token:revoked",  # presents a core token that was revoked
}

#: Seconds one request may take (the matrix's loops are bounded by its table).
REQUEST_TIMEOUT = 20.0


@dataclass
class Req:
    """One request of the matrix: ``path`` relative to the prefix unless it starts with ``/``."""

    path: str
    form: dict[str, str] | None = None
    json: Any = None
    body: bytes | None = None
    query: dict[str, str] = field(default_factory=dict)
    kind: str = "http"  # "http", "ws" (WebSocket upgrade) or "sse" (a stream never finished)


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class World:
    """The objects of one seeding (generation ``n``)."""

    n: int
    course: str
    assignment: str
    timestamp: str
    location_id: str
    event_id: str
    announcement_id: str
    ticket_open: str
    ticket_claimed: str
    account: str
    account_token: str
    account_token_id: str
    revoked_token: str
    impostor_token: str
    ekatra_course: str = ""
    ekatra_group: str = ""
    ekatra_learner: str = ""
    ekatra_delivery: str = ""
    ekatra_email: str = ""
    counter: list[int] = field(default_factory=lambda: [0])

    def fresh(self, stem: str) -> str:
        """A name nothing has yet (for routes that create what their path names)."""
        self.counter[0] += 1
        return f"{stem}{self.n}x{self.counter[0]}"


class Client:
    """Sends a :class:`Req` as a role, with a bounded time per request."""

    def __init__(self, http: AsyncHTTPClient, base_url: str, port: int) -> None:
        self.http = http
        self.base_url = base_url
        self.port = port
        self.world: World | None = None

    def _url_and_headers(self, req: Req, role: str) -> tuple[str, dict[str, str]]:
        query = dict(req.query)
        headers: dict[str, str] = {}
        who = ROLES[role]
        if who is not None and who.startswith("token:"):
            assert self.world is not None
            token = getattr(self.world, who.removeprefix("token:") + "_token")
            headers["Authorization"] = f"Bearer {token}"
        elif who is not None:
            query["user"] = who
        path = req.path if req.path.startswith("/") else PREFIX + req.path
        return path + ("?" + urlencode(query) if query else ""), headers

    async def send(self, method: str, req: Req, role: str) -> Answer:
        path, headers = self._url_and_headers(req, role)
        if req.kind == "ws":
            return await self._websocket(path, headers)
        if req.kind == "sse":
            return await self._stream_head(path, headers)
        body: bytes | str | None = req.body
        if req.json is not None:
            body = json.dumps(req.json)
            headers["Content-Type"] = "application/json"
        elif req.form is not None:
            body = urlencode(req.form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        request = HTTPRequest(
            self.base_url + path,
            method=method,
            body=body,
            headers=headers,
            request_timeout=REQUEST_TIMEOUT,
            follow_redirects=False,
        )
        try:
            response = await self.http.fetch(request)
        except HTTPClientError as e:
            response = e.response
        assert response is not None
        return Answer(response.code, response.headers.get("Content-Type", ""), response.body)

    async def _websocket(self, path: str, headers: dict[str, str]) -> Answer:
        url = f"ws://127.0.0.1:{self.port}{path}"
        request = HTTPRequest(url, headers=headers, request_timeout=REQUEST_TIMEOUT)
        try:
            connection = await websocket_connect(request)
        except HTTPClientError as e:
            assert e.response is not None
            response = e.response
            return Answer(e.code, response.headers.get("Content-Type", ""), response.body)
        connection.close()
        return Answer(101, "", b"")

    async def _stream_head(self, path: str, headers: dict[str, str]) -> Answer:
        """Status and headers of a GET whose body may never end (Server-Sent Events)."""
        stream = await TCPClient().connect("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            await stream.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = (await stream.read_until(b"\r\n\r\n", max_bytes=65536)).decode("latin-1")
            status = int(head.split(" ", 2)[1])
            fields = {}
            for line in head.split("\r\n")[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.strip()
            body = b""
            if "content-length" in fields:
                body = await stream.read_bytes(int(fields["content-length"]))
            return Answer(status, fields.get("content-type", ""), body)
        finally:
            stream.close()

    async def ok(self, method: str, req: Req, role: str, status: int = 200) -> Any:
        answer = await self.send(method, req, role)
        assert answer.status == status, (method, req.path, role, answer)
        return answer.json()


RELEASE_FILES = {"p1.ipynb": b'{"cells": []}', "data/x.csv": b"1,2\n"}
SUBMIT_FILES = {"p1.ipynb": b'{"cells": ["answer"]}'}
FEEDBACK_FILES = {"p1.html": b"<p>well done</p>"}


def roster_entry(name: str) -> dict[str, str]:
    return {
        "username": name,
        "first_name": f"F{name}",
        "last_name": f"L{name}",
        "email": f"{name}@x",
    }


async def seed(client: Client, n: int) -> World:
    """Seed generation ``n`` through the API, as the roles that may create each object."""
    course, assignment = f"c{n}", "a1"
    teachers = {"instructors": '["kevin", "ingrid"]'}
    await client.ok("POST", Req(f"course/{course}", form=teachers), "admin")
    await client.ok("POST", Req(f"course/o{n}", form={"instructors": '["irene"]'}), "admin")
    roster = json.dumps([roster_entry("s1"), roster_entry("s2"), roster_entry("s9")])
    await client.ok("POST", Req(f"students/{course}", form={"students": roster}), "instructor")
    files = encode_files(RELEASE_FILES)
    release = Req(f"assignment/{course}/{assignment}", form={"files": files})
    await client.ok("POST", release, "instructor")
    submit = Req(f"submission/{course}/{assignment}", form={"files": encode_files(SUBMIT_FILES)})
    await client.ok("POST", submit, "former_student")
    await client.ok("DELETE", Req(f"student/{course}/s9"), "instructor")
    timestamp = (await client.ok("POST", submit, "student"))["timestamp"]
    feedback = {"timestamp": timestamp, "files": encode_files(FEEDBACK_FILES)}
    await client.ok("POST", Req(f"feedback/{course}/{assignment}/s1", form=feedback), "instructor")

    hall = Req("vivere/admin/locations", json={"name": f"Hall {n}", "rank": 0})
    location_id = (await client.ok("POST", hall, "organiser", 201))["data"]["id"]
    map_image = Req(f"vivere/admin/locations/{location_id}/map", body=png())
    await client.ok("PUT", map_image, "organiser")
    event = await client.ok("POST", Req("vivere/admin/events", json=EVENT), "organiser", 201)
    announcement = await client.ok(
        "POST", Req("vivere/admin/announcements", json={"message": f"Hello {n}"}), "organiser", 201
    )
    tickets = []
    for _ in range(2):
        ticket = Req("vivere/mentorship/create", json=TICKET)
        tickets.append((await client.ok("POST", ticket, "student", 201))["data"]["id"])
    await client.ok("POST", Req("vivere/mentorship/claim", json={"id": tickets[1]}), "mentor")

    account = f"acct{n}"
    token = await _sign_up(client, account)
    listed = await _as_token(client, "GET", token)
    token_id = listed["tokens"][0]["id"]
    revoked_token = await _sign_up(client, f"gone{n}")
    assert (await _as_token(client, "DELETE", revoked_token))["revoked"] == 1
    impostor_token = await _sign_in(client, ADMIN)
    world = World(
        n=n,
        course=course,
        assignment=assignment,
        timestamp=timestamp,
        location_id=str(location_id),
        event_id=str(event["data"]["id"]),
        announcement_id=str(announcement["data"]["id"]),
        ticket_open=str(tickets[0]),
        ticket_claimed=str(tickets[1]),
        account=account,
        account_token=token,
        account_token_id=str(token_id),
        revoked_token=revoked_token,
        impostor_token=impostor_token,
    )
    await _seed_ekatra(client, world)
    client.world = world
    return world


async def _seed_ekatra(client: Client, world: World) -> None:
    """Ekatra's objects, owned by the instructor role, and an Ekatra account."""
    n = world.n
    courses, groups = [], []
    for k in range(2):
        course = {**EKATRA_COURSE, "name": f"Course {n}.{k}"}
        made = await client.ok("POST", Req("ekatra/course/", json=course), "instructor")
        courses.append(made["id"])
        group = {
            "name": f"Group {n}.{k}",
            "students": [{"name": "Lee", "number": f"+9193801{n % 10}{k}981", "timezone": "UTC"}],
        }
        made = await client.ok("POST", Req("ekatra/group/", json=group), "instructor")
        groups.append(made["id"])
    shown = await client.ok("GET", Req(f"ekatra/group/{groups[0]}"), "instructor")
    schedule = Req(
        f"ekatra/delivery/group/{groups[1]}/{courses[1]}", json={"schedule_at": "2100-01-01 09:00"}
    )
    delivery = await client.ok("POST", schedule, "instructor")
    email = f"ek{n}@example.org"
    signup = {"name": "Ek", "email": email, "password": PASSWORD}
    await client.ok("POST", Req("ekatra/auth/signup", json=signup), "anonymous")
    world.ekatra_course = str(courses[0])
    world.ekatra_group = str(groups[0])
    world.ekatra_learner = str(shown["students"][0]["id"])
    world.ekatra_delivery = str(delivery["id"])
    world.ekatra_email = email


async def _sign_up(client: Client, username: str) -> str:
    """A Vivere local account's core token."""
    form = {"name": username.title(), "username": username, "password": PASSWORD}
    created = await client.ok("POST", Req("vivere/user/create", json=form), "anonymous", 201)
    return created["data"]["token"]


async def _sign_in(client: Client, username: str) -> str:
    """A token of the local account ``username``: signed up the first time, then signed in."""
    form = {"name": username.title(), "username": username, "password": PASSWORD}
    answer = await client.send("POST", Req("vivere/user/create", json=form), "anonymous")
    if answer.status == 409:
        del form["name"]
        answer = await client.send("POST", Req("vivere/user/login", json=form), "anonymous")
    assert answer.status in (200, 201), answer
    return answer.json()["data"]["token"]


async def _as_token(client: Client, method: str, token: str) -> Any:
    """``{prefix}tokens`` (GET lists, DELETE revokes all) as the token's user."""
    response = await client.http.fetch(
        client.base_url + PREFIX + "tokens",
        method=method,
        headers={"Authorization": f"Bearer {token}"},
        request_timeout=REQUEST_TIMEOUT,
    )
    return json.loads(response.body)


EVENT = {
    "short_description": "Opening talk",
    "long_description": "Welcome",
    "start_time": "2030-03-18T10:00:00Z",
    "end_time": "2030-03-18T11:00:00Z",
}
TICKET = {"description": "My build fails", "location": "Table 4", "contact": "Slack"}
EKATRA_COURSE = {
    "name": "Course",
    "author": "Kevin",
    "description": "",
    "days": [
        {
            "text": "Day one",
            "questions": [{"question": "2+2?", "type": "exact", "correct_answer": "4"}],
        }
    ],
}
