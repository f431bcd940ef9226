"""A stand-in for the Cornell Class Roster API, whose data the tests change between polls.

Routes, answering ``{"status": "success", "data": {...}}`` as the real API does:

* ``GET /config/rosters.json`` -> ``{"rosters": [{"slug", "descr"}, ...]}`` (oldest first);
* ``GET /config/subjects.json?roster=X`` -> ``{"subjects": [{"value", "descr"}]}``;
* ``GET /search/classes.json?roster=X&subject=Y`` -> ``{"classes": [...]}``
  (``crseId, subject, catalogNbr, titleLong, enrollGroups[].classSections[]``
  with ``classNbr, ssrComponent, section, openStatus, instrModeDescr,
  meetings[].{pattern, timeStart, timeEnd, instructors[]}``).

A missing or unknown ``roster``/``subject`` gets the API's error object
(``{"status": "error", "message": ...}``, 404). :attr:`RosterStandIn.failing`
answers 503s; :attr:`RosterStandIn.garbage` answers HTML with a 200.

Run on its own (benchmarks): ``python -m tests.standins.roster PORT SUBJECTS PER_SUBJECT``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

STATUS_LETTER = {"OPEN": "O", "CLOSED": "C", "WAITLISTED": "W"}


@dataclass
class RosterStandIn:
    rosters: list[tuple[str, str]] = field(default_factory=list)
    #: roster -> subject -> classes (the API's objects)
    classes: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    failing: bool = False
    garbage: bool = False
    requests: list[str] = field(default_factory=list)
    #: when each request arrived (time.time()), in step with ``requests``
    request_times: list[float] = field(default_factory=list)

    def add_roster(self, slug: str, descr: str = "") -> None:
        self.rosters.append((slug, descr or slug))
        self.classes.setdefault(slug, {})

    def add_class(
        self,
        roster: str,
        subject: str,
        number: int,
        title: str,
        sections: list[tuple[int, str, str, str]],
        instructors: tuple[tuple[str, str, str], ...] = (("Nate", "Foster", "jnf27"),),
    ) -> None:
        """``sections``: ``(classNbr, component, section, status)`` with status OPEN/CLOSED/..."""
        self.classes.setdefault(roster, {}).setdefault(subject, []).append(
            {
                "crseId": number * 7,
                "subject": subject,
                "catalogNbr": str(number),
                "titleLong": title,
                "titleShort": title[:20],
                "enrollGroups": [
                    {
                        "classSections": [
                            {
                                "classNbr": nbr,
                                "ssrComponent": comp,
                                "section": sec,
                                "openStatus": STATUS_LETTER.get(status, "X"),
                                "instructionMode": "P",
                                "instrModeDescr": "In Person",
                                "meetings": [
                                    {
                                        "pattern": "TR",
                                        "timeStart": "12:20PM",
                                        "timeEnd": "01:10PM",
                                        "instructors": [
                                            {"firstName": f, "lastName": n, "netid": i}
                                            for f, n, i in instructors
                                        ],
                                    }
                                ],
                            }
                            for nbr, comp, sec, status in sections
                        ]
                    }
                ],
            }
        )

    def set_status(self, roster: str, class_nbr: int, status: str) -> None:
        for classes in self.classes[roster].values():
            for c in classes:
                for group in c["enrollGroups"]:
                    for s in group["classSections"]:
                        if s["classNbr"] == class_nbr:
                            s["openStatus"] = STATUS_LETTER[status]
                            return
        raise KeyError(class_nbr)


class _Handler(web.RequestHandler):
    def initialize(self, standin: RosterStandIn) -> None:
        self.standin = standin

    def answer(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def error(self, status: int, message: str) -> None:
        self.answer(status, {"status": "error", "message": message, "data": None})

    def get(self, what: str) -> None:
        s = self.standin
        s.requests.append(self.request.uri)
        s.request_times.append(time.time())
        if s.failing:
            return self.error(503, "Service Unavailable")
        if s.garbage:
            self.set_header("Content-Type", "text/html")
            return self.finish("<html><body>Class Roster is down for maintenance</body></html>")
        if what == "config/rosters":
            rosters = [{"slug": slug, "descr": descr} for slug, descr in s.rosters]
            return self.answer(200, {"status": "success", "data": {"rosters": rosters}})
        roster = self.get_query_argument("roster", None)
        if roster is None:
            return self.error(400, "roster is required")
        if roster not in s.classes:
            return self.error(404, f"Invalid roster: {roster}")
        if what == "config/subjects":
            subjects = [{"value": v, "descr": v} for v in sorted(s.classes[roster])]
            return self.answer(200, {"status": "success", "data": {"subjects": subjects}})
        subject = self.get_query_argument("subject", None)
        if subject is None:
            return self.error(400, "subject is required")
        if subject not in s.classes[roster]:
            return self.error(404, f"Invalid subject: {subject}")
        classes = s.classes[roster][subject]
        return self.answer(200, {"status": "success", "data": {"classes": classes}})


def listen(standin: RosterStandIn, port: int = 0) -> tuple[HTTPServer, int]:
    """Serve ``standin`` on 127.0.0.1 (on the running loop); ``(server, port)``."""
    app = web.Application(
        [
            (
                r"/(config/rosters|config/subjects|search/classes)\.json",
                _Handler,
                {"standin": standin},
            )
        ]
    )
    server = HTTPServer(app)
    sockets = bind_sockets(port, "127.0.0.1")
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def generated(subjects: int, per_subject: int, roster: str = "SP26") -> RosterStandIn:
    """A roster of ``subjects`` subjects, ``per_subject`` one-section courses each, all closed."""
    standin = RosterStandIn()
    standin.add_roster(roster)
    nbr = 10000
    for i in range(subjects):
        subject = f"S{i:03d}"
        for j in range(per_subject):
            nbr += 1
            standin.add_class(
                roster,
                subject,
                1000 + j,
                f"Topic {j} of {subject}",
                [(nbr, "LEC", "001", "CLOSED")],
            )
    return standin


def main() -> None:  # pragma: no cover - the benchmark's separate process
    port, subjects, per_subject = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

    async def run() -> None:
        listen(generated(subjects, per_subject), port)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
