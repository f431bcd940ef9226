"""Notifications throughput: 10 000 SMS (or Web Push messages) through the outbox to a stand-in.

Runs the server in this process (a real ``ServerContext`` with its workers and
HTTP application on loopback), the stand-in (``tests/standins/twilio.py``, or
with ``--channel webpush`` the push service ``tests/standins/webpush.py``,
which verifies every VAPID JWT and decrypts every payload) and a ``/healthz``
prober as separate processes, stopped by PID. The messages are queued in
transactions of 500 while the workers send; the run ends when every message
is recorded as sent.

Reported: messages per second (first queued to last recorded), the same for a
plain sequential loop in the same run (Twilio POSTs on a kept-alive
``requests.Session``; for Web Push, ``pywebpush.webpush()`` calls, each
encrypting and signing, on a kept-alive session), ``/healthz`` latency p50 /
p99 / max while sending, and the server's RSS before, at its peak and after
(memory flat: peak close to after).

    .venv/bin/python benchmarks/notify.py
    .venv/bin/python benchmarks/notify.py --channel webpush
    .venv/bin/python benchmarks/notify.py --latency-ms 50 --baseline 200   # Twilio 50 ms away
    .venv/bin/python benchmarks/notify.py --messages 2000 --baseline 200
    .venv/bin/python benchmarks/notify.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SID = "AC" + "0" * 32
TOKEN = "benchmark-token"
FROM = "+15005550006"
PUSH_SEED = "notify-benchmark"
PUSH_SUBJECT = "mailto:bench@example.org"

PROBE = r"""
import http.client, sys, time
port, interval = int(sys.argv[1]), float(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
latencies = []
deadline = time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline:
    start = time.perf_counter()
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse(); response.read()
    except OSError:  # a timeout counts as what it cost, then a new connection
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies.append(time.perf_counter() - start)
    if sys.stdin in __import__("select").select([sys.stdin], [], [], interval)[0]:
        break
print(" ".join(f"{x:.6f}" for x in latencies))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def twilio_standin(latency_seconds: float = 0.0):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.standins.twilio",
            str(port),
            SID,
            TOKEN,
            str(latency_seconds),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the Twilio stand-in did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def push_standin(latency_seconds: float = 0.0):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.standins.webpush",
            str(port),
            PUSH_SEED,
            str(latency_seconds),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the push service stand-in did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def push_subscription(push_url: str, i: int) -> str:
    from tests.standins.webpush import subscription

    return json.dumps(subscription(push_url, f"b{i}", PUSH_SEED))


def vapid_pem() -> str:
    """A VAPID key for this run, shared by the outbox and the plain loop."""
    from py_vapid import Vapid

    vapid = Vapid()
    vapid.generate_keys()
    return vapid.private_pem().decode()


def sequential_webpush_baseline(push_url: str, count: int, pem: str) -> float:
    """Messages per second of a plain loop of ``pywebpush.webpush()``, one after the other."""
    import requests
    from py_vapid import Vapid
    from pywebpush import webpush

    session = requests.Session()
    key = Vapid.from_pem(pem.encode())
    subscriptions = [json.loads(push_subscription(push_url, i)) for i in range(count)]
    start = time.perf_counter()
    for i, sub in enumerate(subscriptions):
        response = webpush(
            sub,
            data=json.dumps({"title": None, "body": f"Lesson {i} is ready.", "data": {}}),
            vapid_private_key=key,
            vapid_claims={"sub": PUSH_SUBJECT},  # a fresh dict: webpush() adds aud and exp
            ttl=86400,
            requests_session=session,
        )
        assert response.status_code == 201, response.text
    return count / (time.perf_counter() - start)


@contextmanager
def postgresql_schema(url: str):
    import sqlalchemy as sa

    schema = f"notify_bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def sequential_baseline(twilio_url: str, count: int) -> float:
    """Messages per second of a plain loop of Twilio POSTs, one after the other."""
    import requests

    session = requests.Session()
    url = f"{twilio_url}/2010-04-01/Accounts/{SID}/Messages.json"
    start = time.perf_counter()
    for i in range(count):
        response = session.post(
            url, data={"To": f"+1555{i:07d}", "From": FROM, "Body": f"b{i}"}, auth=(SID, TOKEN)
        )
        assert response.status_code == 201, response.text
    return count / (time.perf_counter() - start)


def channel_settings(
    channel: str, url: str, pem: str, encrypt_threads: int = 0, pace: dict | None = None
) -> dict:
    """The configuration sending ``channel`` to the stand-in at ``url``.

    ``pace``: the provider's ``concurrency``, ``max_batch`` and ``keep_alive`` where
    given (``None`` or absent: the provider's default, as a server runs it).
    """
    pace = {k: v for k, v in (pace or {}).items() if v is not None}
    if channel == "webpush":
        return {
            "NotificationService": {"channels": {"webpush": "webpush"}},
            "WebPushProvider": {
                "vapid_subject": PUSH_SUBJECT,
                "vapid_private_key": pem,
                "encrypt_threads": encrypt_threads,
                **pace,
            },
        }
    return {
        "NotificationService": {"channels": {"sms": "twilio"}},
        "TwilioProvider": {
            "account_sid": SID,
            "auth_token": TOKEN,
            "from_number": FROM,
            "api_base_url": url,
            **pace,
        },
    }


async def outbox_run(
    db_url: str,
    data_dir: str,
    url: str,
    count: int,
    channel: str = "sms",
    pem: str = "",
    encrypt_threads: int = 0,
    pace: dict | None = None,
) -> dict:
    from tornado.httpserver import HTTPServer
    from traitlets.config import Config

    from ngshare.app import build, make_application, run_hooks
    from ngshare.config import VNgShare
    from ngshare.gc_freeze import freeze_startup_objects
    from ngshare.notifications.store import count_by_status

    config = VNgShare(db_url=db_url, data_dir=data_dir, config_file="")
    config.update_config(Config(channel_settings(channel, url, pem, encrypt_threads, pace)))
    if channel == "webpush":  # made before the clock starts, as a server holds them already
        addresses = [push_subscription(url, i) for i in range(count)]
    else:
        addresses = [f"+1555{i:07d}" for i in range(count)]
    ctx, plugins = build(config)
    await run_hooks(ctx, plugins, "startup")
    port = free_port()
    server = HTTPServer(make_application(ctx, plugins))
    if config.freeze_startup_objects:  # as ngshare.app.serve does before listening
        freeze_startup_objects()
    server.listen(port, "127.0.0.1")
    rss_before = rss_mib()
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(port), "0.005", "600"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    samples = [rss_before]
    lags: list[float] = []

    async def watch_loop() -> None:  # how late a 10 ms sleep wakes: the IOLoop's own lag
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - start - 0.01)

    watcher = asyncio.create_task(watch_loop())
    try:
        await asyncio.sleep(0.5)  # the prober's first requests: an idle server
        svc = ctx.notifications
        cpu_start = time.process_time()
        start = time.perf_counter()
        per_transaction = 500

        def enqueue(session, first: int) -> None:
            for i in range(first, min(count, first + per_transaction)):
                svc.send(
                    session,
                    plugin="bench",
                    channel=channel,
                    to=addresses[i],
                    body=f"Day {i % 30}: your lesson is ready.",
                    key=f"bench:{i}",
                )

        for first in range(0, count, per_transaction):
            await ctx.db.run(enqueue, first)
            samples.append(rss_mib())
        queued = time.perf_counter() - start
        deadline = time.monotonic() + 600
        while True:
            counts = await ctx.db.run(count_by_status)
            samples.append(rss_mib())
            if counts.get("sent", 0) + counts.get("failed", 0) >= count:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"not done after 600 s: {counts}")
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    finally:
        watcher.cancel()
        probe.stdin.write("stop\n")  # type: ignore[union-attr]
        probe.stdin.flush()  # type: ignore[union-attr]
        out, _ = probe.communicate(timeout=30)
        server.stop()
        await run_hooks(ctx, plugins, "shutdown")
        ctx.close()
    latencies = [float(x) for x in out.split()]
    return {
        "messages": count,
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "queue_seconds": round(queued, 3),
        "seconds": round(elapsed, 3),
        "messages_per_second": round(count / elapsed, 1),
        # the server's CPU (every thread), per message: less sensitive to other load than rates
        "server_cpu_ms_per_message": round(1000 * cpu / count, 3),
        "healthz_requests": len(latencies),
        "healthz_p50_ms": round(1000 * percentile(latencies, 0.50), 2),
        "healthz_p99_ms": round(1000 * percentile(latencies, 0.99), 2),
        "healthz_max_ms": round(1000 * max(latencies), 2) if latencies else None,
        "loop_lag_p99_ms": round(1000 * percentile(lags, 0.99), 2),
        "loop_lag_max_ms": round(1000 * max(lags), 2) if lags else None,
        "load_average_1min": os.getloadavg()[0],
        "rss_before_mib": round(rss_before, 1),
        "rss_peak_mib": round(max(samples), 1),
        "rss_after_mib": round(samples[-1], 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=1000, help="messages of the plain loop")
    parser.add_argument("--postgresql", metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument(
        "--channel", choices=["sms", "webpush"], default="sms", help="what to send (default sms)"
    )
    parser.add_argument(
        "--encrypt-threads", type=int, default=2, help="c.WebPushProvider.encrypt_threads"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="the stand-in (push service or Twilio) waits this long per answer, for the"
        " sequential loop and the server alike (a provider's round trip)",
    )
    parser.add_argument(
        "--concurrency", type=int, help="the provider's concurrency (default: its own, 4)"
    )
    parser.add_argument(
        "--batch", type=int, help="the provider's max_batch (default: its own; twilio 20)"
    )
    parser.add_argument(
        "--no-keep-alive",
        action="store_true",
        help="the provider's keep_alive = False: a new connection per request",
    )
    args = parser.parse_args()
    pace = {
        "concurrency": args.concurrency,
        "max_batch": args.batch,
        "keep_alive": not args.no_keep_alive,
    }
    webpush = args.channel == "webpush"
    pem = vapid_pem() if webpush else ""
    latency = args.latency_ms / 1000
    standin = push_standin(latency) if webpush else twilio_standin(latency)
    with tempfile.TemporaryDirectory(prefix="ngshare-notify-") as tmp, standin as target:
        if webpush:
            baseline = sequential_webpush_baseline(target, args.baseline, pem)
        else:
            baseline = sequential_baseline(target, args.baseline)
        run = (args.messages, args.channel, pem, args.encrypt_threads, pace)
        if args.postgresql:
            with postgresql_schema(args.postgresql) as url:
                result = asyncio.run(outbox_run(url, tmp, target, *run))
        else:
            url = f"sqlite:///{tmp}/ngshare.db"
            result = asyncio.run(outbox_run(url, tmp, target, *run))
    result["channel"] = args.channel
    result["latency_ms"] = args.latency_ms
    if webpush:
        result["encrypt_threads"] = args.encrypt_threads
    result["database"] = "postgresql" if args.postgresql else "sqlite"
    result.update(pace)
    result["sequential_messages_per_second"] = round(baseline, 1)
    result["speedup"] = round(result["messages_per_second"] / baseline, 2)
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
