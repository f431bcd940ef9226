"""A stand-in for Twilio's Messaging API: ``POST /2010-04-01/Accounts/{sid}/Messages.json``.

It checks what Twilio checks first — HTTP basic auth with the account SID
and auth token, a form body with ``To``, ``Body`` and ``From`` or
``MessagingServiceSid`` — and answers as Twilio does: ``201`` with the
message resource, or an error object ``{"code", "message", "more_info",
"status"}``. Tests script answers per recipient (:meth:`TwilioStandIn.script`),
e.g. a 503, then a 429 with ``Retry-After``, then success; numbers in
:attr:`invalid` get error 21211 (invalid 'To' number).

Run on its own (benchmarks): ``python -m tests.standins.twilio PORT SID TOKEN [HOLD]``
(``HOLD``: seconds each answer waits, a provider that far away).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

_PATH = r"/2010-04-01/Accounts/([^/]+)/Messages\.json"
_E164 = re.compile(r"^(whatsapp:)?\+[1-9][0-9]{6,14}$")


@dataclass
class TwilioStandIn:
    """What the stand-in received and what it will answer."""

    account_sid: str
    auth_token: str
    received: list[dict[str, str]] = field(default_factory=list)
    #: every request, accepted or not, with its arrival time (monotonic)
    requests: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)
    scripted: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    #: seconds each answer waits (a slow Twilio)
    hold: float = 0.0
    #: the client address (host, port) of each request: one per connection used
    peers: list[tuple[str, int]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def script(self, to: str, *answers: tuple[int, dict[str, str]]) -> None:
        """The next answers for ``to``: ``(status, headers)``; then success again."""
        self.scripted[to].extend(answers)

    def error(self, status: int, code: int, message: str) -> dict:
        return {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }


class MessagesHandler(web.RequestHandler):
    def initialize(self, standin: TwilioStandIn) -> None:
        self.standin = standin

    def answer(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        self.finish(json.dumps(body))

    async def post(self, account: str) -> None:
        s = self.standin
        auth = self.request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{s.account_sid}:{s.auth_token}".encode()).decode()
        if auth != f"Basic {expected}" or account != s.account_sid:
            self.answer(401, s.error(401, 20003, "Authentication Error - invalid username"))
            return
        if not self.request.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            self.answer(400, s.error(400, 21620, "Invalid media type"))
            return
        form = {k: v[0] for k, v in parse_qs(self.request.body.decode()).items()}
        s.requests.append((time.monotonic(), form))
        s.peers.append(self.request.connection.stream.socket.getpeername()[:2])
        if s.hold:
            await asyncio.sleep(s.hold)
        to, body = form.get("To", ""), form.get("Body", "")
        if not to:
            self.answer(400, s.error(400, 21604, "A 'To' phone number is required."))
            return
        if not body:
            self.answer(400, s.error(400, 21602, "Message body is required."))
            return
        if not (form.get("From") or form.get("MessagingServiceSid")):
            self.answer(400, s.error(400, 21603, "A 'From' phone number is required."))
            return
        sender = form.get("From")
        if sender and to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
            text = "Twilio could not find a Channel with the From address"
            self.answer(400, s.error(400, 63007, text))
            return
        if to in s.invalid or not _E164.match(to):
            text = f"The 'To' number {to} is not a valid phone number."
            self.answer(400, s.error(400, 21211, text))
            return
        if s.scripted.get(to):
            status, headers = s.scripted[to].popleft()
            code = 20429 if status == 429 else 20500
            self.answer(status, s.error(status, code, "scripted"), headers)
            return
        sid = f"SM{next(s._ids):032x}"
        s.received.append(form)
        self.answer(
            201,
            {
                "sid": sid,
                "account_sid": s.account_sid,
                "to": to,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": body,
                "status": "queued",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
            },
        )


def make_app(standin: TwilioStandIn) -> web.Application:
    return web.Application([(_PATH, MessagesHandler, {"standin": standin})])


def listen(standin: TwilioStandIn, port: int = 0) -> tuple[HTTPServer, int]:
    """Serve ``standin`` on 127.0.0.1 (on the running loop); ``(server, port)``."""
    server = HTTPServer(make_app(standin))
    sockets = bind_sockets(port, "127.0.0.1")
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def main() -> None:  # pragma: no cover - the benchmark's separate process
    import asyncio

    port, sid, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    hold = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0

    async def run() -> None:
        listen(TwilioStandIn(sid, token, hold=hold), port)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
