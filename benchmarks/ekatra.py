"""Ekatra's busy minute: every learner of a large delivery due at once, through the Twilio stand-in.

Builds 10 000 learners in 100 groups (UTC) and a 30-day course through the HTTP
API of a server running in this process (a real ``ServerContext`` with its
scheduler, notification workers and HTTP application on loopback), then
schedules one delivery per group a little ahead. At that instant every learner
is due the welcome and day 1; the ``ekatra.send_due`` job (every 5 s) queues
them and the notifications workers hand them to the Twilio stand-in
(``tests/standins/twilio.py``, a separate process) over HTTP. A ``/healthz``
prober (another process) runs meanwhile.

Reported: the time to create the groups and to schedule the deliveries (one
POST each), when the engine had queued every message (seconds after due,
polled every 0.25 s), the busy minute's messages per second (due instant to
the last message accepted by Twilio), the drift of the day-1 messages (accepted by
Twilio minus due) p50 / p99 / max, and ``/healthz`` latency p50 / p99 / max
while sending. Goals (docs/ekatra.md): 10 000 day messages handed to the
provider within 60 s of being due, drift p99 <= 30 s, /healthz p99 <= 50 ms.

    .venv/bin/python benchmarks/ekatra.py                                 # full size
    .venv/bin/python benchmarks/ekatra.py --learners 1000 --groups 10     # reduced
    .venv/bin/python benchmarks/ekatra.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.notify import (  # noqa: E402 - after the path set-up
    FROM,
    PROBE,
    SID,
    TOKEN,
    free_port,
    percentile,
    postgresql_schema,
    twilio_standin,
)

USER = "bench"


def course_body(days: int) -> dict:
    return {
        "name": "Thirty days of Python",
        "author": "Ekatra",
        "description": "benchmark",
        "days": [{"text": f"Lesson {n}: a short text.", "questions": []} for n in range(days)],
    }


def group_body(g: int, size: int) -> dict:
    students = [
        {"name": f"L{g}.{i}", "number": f"+1212{2_000_000 + g * size + i:07d}", "timezone": "UTC"}
        for i in range(size)
    ]
    return {"name": f"Group {g}", "description": "", "students": students}


async def busy_minute(db_url: str, data_dir: str, twilio_url: str, args) -> dict:
    import sqlalchemy as sa
    from ngshare_ekatra.models import Send
    from tornado.httpclient import AsyncHTTPClient
    from tornado.httpserver import HTTPServer
    from traitlets.config import Config

    from ngshare.app import build, make_application, run_hooks
    from ngshare.config import VNgShare
    from ngshare.notifications.models import OutboxMessage

    config = VNgShare(db_url=db_url, data_dir=data_dir, config_file="", plugins=["ekatra"])
    config.update_config(
        Config(
            {
                "NotificationService": {"channels": {"sms": "twilio", "whatsapp": "twilio"}},
                "TwilioProvider": {
                    "account_sid": SID,
                    "auth_token": TOKEN,
                    "from_number": FROM,
                    "api_base_url": twilio_url,
                    "concurrency": 8,
                    "max_batch": 25,
                },
            }
        )
    )
    ctx, plugins = build(config)
    await run_hooks(ctx, plugins, "startup")
    port = free_port()
    server = HTTPServer(make_application(ctx, plugins))
    server.listen(port, "127.0.0.1")
    http = AsyncHTTPClient(max_clients=4)
    api = f"http://127.0.0.1:{port}/api/ekatra/"

    async def call(method: str, path: str, body: dict) -> dict:
        response = await http.fetch(
            f"{api}{path}?user={USER}",
            method=method,
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
            request_timeout=600,
        )
        return json.loads(response.body)

    size = args.learners // args.groups
    probe = None
    try:
        course = (await call("POST", "course/", course_body(args.days)))["id"]
        started = time.perf_counter()
        groups = [
            (await call("POST", "group/", group_body(g, size)))["id"] for g in range(args.groups)
        ]
        groups_seconds = time.perf_counter() - started

        due = (datetime.now(timezone.utc) + timedelta(seconds=args.lead)).replace(
            microsecond=0, tzinfo=None
        )
        started = time.perf_counter()
        for group in groups:
            await call(
                "POST",
                f"delivery/group/{group}/{course}",
                {"schedule_at": due.strftime("%Y-%m-%d %H:%M:%S")},
            )
        schedule_seconds = time.perf_counter() - started
        left = (due - datetime.now(timezone.utc).replace(tzinfo=None)).total_seconds()
        if left < 1:
            raise RuntimeError(f"scheduling took too long: raise --lead (over by {-left:.1f} s)")

        probe = subprocess.Popen(
            [sys.executable, "-c", PROBE, str(port), "0.005", "900"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        expected = 2 * size * args.groups  # the welcome and day 1
        deadline = time.monotonic() + left + args.timeout

        def counts(session) -> tuple[int, int]:
            total = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
            query = sa.select(sa.func.count()).where(OutboxMessage.status == "sent")
            return total, session.scalar(query)

        queued_at = None
        while True:
            total, sent_count = await ctx.db.run(counts)
            if queued_at is None and total >= expected:
                queued_at = datetime.now(timezone.utc).replace(tzinfo=None)
            if sent_count >= expected:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"not every message was sent {args.timeout} s after due")
            await asyncio.sleep(0.25)

        def timings(session):
            sent = session.execute(
                sa.select(OutboxMessage.idempotency_key, OutboxMessage.sent_at)
            ).all()
            queued = session.execute(sa.select(Send.sent_at, Send.late)).all()
            return sent, queued

        sent, queued = await ctx.db.run(timings)
    finally:
        if probe is not None:
            probe.stdin.write("stop\n")  # type: ignore[union-attr]
            probe.stdin.flush()  # type: ignore[union-attr]
            out, _ = probe.communicate(timeout=30)
        else:
            out = ""
        server.stop()
        await run_hooks(ctx, plugins, "shutdown")
        ctx.close()
    drift = sorted(
        (at - due).total_seconds() for key, at in sent if key and ":day:1:learner:" in key
    )
    last = max(at for _, at in sent)
    span = (last - due).total_seconds()
    latencies = [float(x) for x in out.split()]
    return {
        "learners": size * args.groups,
        "groups": args.groups,
        "days": args.days,
        "groups_create_seconds": round(groups_seconds, 2),
        "schedule_create_seconds": round(schedule_seconds, 2),
        "messages": len(sent),
        "day_messages": len(drift),
        "queued_seconds_after_due": round((queued_at - due).total_seconds(), 2),
        "busy_seconds_due_to_last_sent": round(span, 2),
        "messages_per_second": round(len(sent) / span, 1) if span > 0 else None,
        "day_drift_p50_s": round(percentile(drift, 0.50), 2),
        "day_drift_p99_s": round(percentile(drift, 0.99), 2),
        "day_drift_max_s": round(drift[-1], 2),
        "steps_recorded_late": sum(1 for _, late in queued if late),
        "healthz_requests": len(latencies),
        "healthz_p50_ms": round(1000 * percentile(latencies, 0.50), 2),
        "healthz_p99_ms": round(1000 * percentile(latencies, 0.99), 2),
        "healthz_max_ms": round(1000 * max(latencies), 2) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--lead",
        type=float,
        default=120.0,
        help="seconds between now and the deliveries' start (scheduling must fit)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds after the start to give up waiting for the sends",
    )
    parser.add_argument("--postgresql", metavar="URL", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ngshare-ekatra-") as tmp, twilio_standin() as twilio:
        if args.postgresql:
            with postgresql_schema(args.postgresql) as url:
                result = asyncio.run(busy_minute(url, tmp, twilio, args))
        else:
            result = asyncio.run(busy_minute(f"sqlite:///{tmp}/ngshare.db", tmp, twilio, args))
    result["database"] = "postgresql" if args.postgresql else "sqlite"
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
