"""CourseGrab: one poll that opens 5 % of the sections, and search at concurrency 32.

Starts a local roster server speaking the Cornell Class Roster API
(:mod:`tests.standins.roster`, on a thread of this process) with
``--sections`` one-section courses, and a real ``vngshare --plugins
coursegrab`` (loopback, its own temp dir, stopped by PID) whose start-up
ingest loads them. ``--users`` people choose e-mail or Web Push (every
channel goes to the ``log`` provider under vngshare) and track ``--pairs``
(person, section) pairs, over HTTP as the apps do. Then:

1. **search**: ``--concurrency`` clients send ``--searches`` searches
   (``"S012 1004"``, ``"S0121004"``, ``"S012"``, ``"1004"``, a title word);
   p50 / p99 latency, and the CPU the server and this client spent per
   search (``--client``: kept-alive connections by default);
2. **poll**: ``--open-percent`` of the sections turn OPEN at the roster
   server; the next ``coursegrab.poll`` fetches them (one poll per
   ``--poll-interval`` window, 60 s by default; the searches run between two
   polls, and ``roster_requests_during_search`` says if one overlapped; with
   ``--poll-interval 10``, the earlier runs' value, full polls also run
   during the searches).
   Measured: from the poll's first request to the roster server until the
   last of its messages is handed to the provider (``sent_at`` in the outbox);
   meanwhile a client asks ``/healthz`` every 20 ms: p50 / p99.

Goals (issue 25): every notification handed over within 10 s of the poll's
start; search p99 <= 20 ms; ``/healthz`` p99 <= 50 ms during the poll.

    .venv/bin/python benchmarks/coursegrab.py                       # the full size
    .venv/bin/python benchmarks/coursegrab.py --sections 1000 --users 500 --pairs 2000
    .venv/bin/python benchmarks/coursegrab.py --no-search-index   # search by SQL LIKE
    .venv/bin/python benchmarks/coursegrab.py --no-search-cache   # every search reads the database
    .venv/bin/python benchmarks/coursegrab.py --client tornado    # a new connection per search
    .venv/bin/python benchmarks/coursegrab.py --profile /tmp/server.prof   # cProfile, IOLoop CPU
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tornado.httpclient import AsyncHTTPClient, HTTPRequest  # noqa: E402

from benchmarks.plain_http import PlainTransport  # noqa: E402
from benchmarks.vivere_server import percentile  # noqa: E402

#: With a poll interval of at least this, the searches start only between two
#: polls (see :func:`_between_polls`); with a shorter one they start at once.
QUIET_WINDOW_SECONDS = 60
QUERIES = ("S{s:03d} {n}", "S{s:03d}{n}", "S{s:03d}", "{n}", "Topic {t}")


def start_roster(sections: int, per_subject: int):
    """The roster server on its own thread and loop; ``(standin, url, loop)``."""
    from tests.standins import roster

    subjects = max(1, sections // per_subject)
    standin = roster.generated(subjects, per_subject)
    ready = threading.Event()
    box: dict = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        _, port = roster.listen(standin)
        box.update(port=port, loop=loop)
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, name="roster", daemon=True).start()
    ready.wait(30)
    return standin, f"http://127.0.0.1:{box['port']}", box["loop"]


def coursegrab_server(
    roster_url: str,
    extra: tuple[str, ...] = (),
    profile: str | None = None,
    poll_interval: int = 60,
):
    """``vngshare --plugins coursegrab`` on the roster (a context manager).

    ``profile``: run the server under cProfile, its stats written to this file at shutdown.
    ``poll_interval``: ``c.CourseGrab.poll_interval_seconds``.
    """
    from contextlib import contextmanager

    from benchmarks.servers import free_port, stop, wait_until_answering

    @contextmanager
    def running():
        import shutil
        import subprocess
        import tempfile

        data_dir = Path(tempfile.mkdtemp(prefix="coursegrab-bench-"))
        port = free_port()
        start = "from ngshare.cli import main_dev; main_dev()"
        if profile:  # CPU time of the IOLoop's thread, not wall time: waits are not counted
            start = (
                "import cProfile, time; from ngshare.cli import main_dev; "
                "p = cProfile.Profile(time.thread_time); p.runcall(main_dev); "
                f"p.dump_stats({profile!r})"
            )
        command = [
            sys.executable,
            "-c",
            start,
            "--plugins=coursegrab",
            "--admins=root",
            f"--port={port}",
            f"--data-dir={data_dir}",
            "--log-level=WARN",
            f"--CourseGrab.roster_url={roster_url}",
            f"--CourseGrab.poll_interval_seconds={poll_interval}",
            *extra,
        ]
        log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(base + "/healthz", proc, data_dir / "server.log", "server")
            yield base, data_dir, proc.pid
        finally:
            stop(proc)
            log.close()
            shutil.rmtree(data_dir, ignore_errors=True)

    return running()


def process_cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of process ``pid`` so far (every thread), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def _search_load(args, api: str, rng: random.Random, tornado_client) -> list[float]:
    """``args.searches`` anonymous searches from ``args.concurrency`` clients; latencies (s).

    ``args.client``: ``plain`` (default) keeps one connection per client alive, as
    browsers and apps do, through the driver's own minimal client
    (``benchmarks/plain_http.py``); ``tornado`` is Tornado's simple client, which
    opens a new connection for every request.
    """
    per_subject = args.per_subject
    subjects = max(1, args.sections // per_subject)
    latencies: list[float] = []
    plain = PlainTransport(args.concurrency, 60.0) if args.client == "plain" else None
    headers = {"Content-Type": "application/json"}
    if plain is not None and args.connect_first:
        await plain.connect(api, args.concurrency)

    async def searcher(k: int) -> None:
        for i in range(args.searches // args.concurrency):
            form = QUERIES[(k + i) % len(QUERIES)]
            query = form.format(
                s=rng.randrange(subjects), n=1000 + rng.randrange(per_subject), t=rng.randrange(9)
            )
            body = json.dumps({"query": query})
            started = time.perf_counter()
            if plain is not None:
                response = await plain.send("POST", api + "courses/search", headers, body.encode())
                if response.status != 200:
                    raise RuntimeError(f"search answered {response.status}: {response.error}")
            else:
                await tornado_client.fetch(
                    HTTPRequest(api + "courses/search", method="POST", body=body)
                )
            latencies.append(time.perf_counter() - started)

    try:
        await asyncio.gather(*(searcher(k) for k in range(args.concurrency)))
    finally:
        if plain is not None:
            await plain.close()
    return latencies


async def _between_polls(standin, interval: int, ingested_at: float) -> None:
    """Wait until this poll window's poll has run and ended, with half the window left.

    The poll job ticks every 10 s and polls once per window of ``interval``
    seconds (windows start at multiples of it). A roster request after both
    the window's start and the start-up ingest (``ingested_at``) is that poll;
    once the roster server has been idle for a second after it, no poll comes
    until the next window.
    """
    if interval < QUIET_WINDOW_SECONDS:
        return
    deadline = time.monotonic() + 3 * interval
    while time.monotonic() < deadline:
        now = time.time()
        window = now - now % interval
        times = standin.request_times
        polled = bool(times) and times[-1] >= max(window, ingested_at)
        if polled and now - times[-1] > 1.0 and now - window <= interval / 2:
            return
        await asyncio.sleep(0.2)


async def _run(args, base: str, data_dir: Path, pid: int, standin, roster_loop) -> dict:
    from tests.standins.webpush import subscription as push_subscription

    client = AsyncHTTPClient(force_instance=True, max_clients=args.concurrency)
    api = base + "/api/coursegrab/"
    rng = random.Random(25)

    async def post(path: str, body: dict, user: str | None = None) -> dict:
        url = api + path + (f"?user={user}" if user else "")
        request = HTTPRequest(url, method="POST", body=json.dumps(body), request_timeout=60)
        response = await client.fetch(request)
        return json.loads(response.body)

    # the start-up ingest loads the roster
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        found = await post("courses/search", {"query": "Topic 0"})
        if found["data"]["courses"]:
            break
        await asyncio.sleep(0.5)
    ingested_at = time.time()
    catalog = sorted(
        s["classNbr"]
        for classes in standin.classes["SP26"].values()
        for c in classes
        for g in c["enrollGroups"]
        for s in g["classSections"]
    )

    # people and what they track
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < args.pairs:
        pairs.add((rng.randrange(args.users), rng.choice(catalog)))
    setup_started = time.perf_counter()
    slots = asyncio.Semaphore(args.concurrency)

    async def person(u: int) -> None:
        async with slots:
            if u % 4 == 0:
                subscription = push_subscription("https://push.example.org", f"s{u}")
                body = {"notification": "WEB", "subscription": subscription}
            else:
                body = {"notification": "EMAIL", "email": f"u{u}@example.org"}
            await post("users/notification", body, f"u{u}")

    async def track(u: int, nbr: int) -> None:
        async with slots:
            await post("sections/track", {"course_id": nbr}, f"u{u}")

    await asyncio.gather(*(person(u) for u in range(args.users)))
    await asyncio.gather(*(track(u, n) for u, n in pairs))
    setup_seconds = time.perf_counter() - setup_started

    # search at concurrency, between two polls; the CPU both sides spent on it
    await _between_polls(standin, args.poll_interval, ingested_at)
    roster_requests = len(standin.request_times)
    (user, system), client_cpu = process_cpu_seconds(pid), time.process_time()
    latencies = await _search_load(args, api, rng, client)
    after = process_cpu_seconds(pid)
    server_user, server_system = after[0] - user, after[1] - system
    client_cpu = time.process_time() - client_cpu
    roster_requests = len(standin.request_times) - roster_requests  # a poll during the searches

    # one poll that opens open_percent of the sections
    opened = rng.sample(catalog, max(1, len(catalog) * args.open_percent // 100))
    tracked_opened = sum(1 for _, n in pairs if n in set(opened))

    def flip() -> None:
        for nbr in opened:
            standin.set_status("SP26", nbr, "OPEN")

    # flip between polls: once the roster server has been idle for a second (no poll running)
    flipped = asyncio.Event()
    loop = asyncio.get_running_loop()

    def flip_when_idle() -> None:
        if standin.request_times and time.time() - standin.request_times[-1] < 1.0:
            roster_loop.call_later(0.2, flip_when_idle)
            return
        flip()
        loop.call_soon_threadsafe(flipped.set)

    roster_loop.call_soon_threadsafe(flip_when_idle)
    await flipped.wait()
    flipped_at = time.time()
    health: list[float] = []
    done = asyncio.Event()

    async def healthz() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await client.fetch(base + "/healthz")
            health.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)

    prober = asyncio.ensure_future(healthz())
    database = sqlite3.connect(
        f"file:{data_dir / 'ngshare.db'}?mode=ro", uri=True, timeout=30, check_same_thread=False
    )

    def sent() -> tuple[int, str | None]:
        row = database.execute(
            "SELECT count(*), max(sent_at) FROM notifications_messages"
            " WHERE plugin = 'coursegrab' AND status = 'sent'"
        ).fetchone()
        return row[0], row[1]

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        count, last = await loop.run_in_executor(None, sent)
        if count >= tracked_opened:
            break
        await asyncio.sleep(0.2)
    done.set()
    await prober
    poll_start = min(t for t in standin.request_times if t >= flipped_at)
    last_sent = datetime.fromisoformat(str(last)).replace(tzinfo=timezone.utc).timestamp()
    client.close()
    return {
        "search_index": args.search_index,
        "search_cache": args.search_cache,
        "sections": len(catalog),
        "users": args.users,
        "pairs": len(pairs),
        "opened": len(opened),
        "messages_expected": tracked_opened,
        "messages_sent": count,
        "setup_seconds": round(setup_seconds, 1),
        "poll_to_handover_seconds": round(last_sent - poll_start, 2),
        "search_ms": {
            "p50": round(percentile(latencies, 50) * 1000, 1),
            "p99": round(percentile(latencies, 99) * 1000, 1),
            "n": len(latencies),
        },
        "search_client": args.client,
        "connections_opened_before_searches": args.client == "plain" and args.connect_first,
        "roster_requests_during_search": roster_requests,
        # CPU per search, every thread: far steadier than latency on a shared machine
        "server_cpu_ms_per_search": round(
            1000 * (server_user + server_system) / max(1, len(latencies)), 3
        ),
        "server_system_cpu_ms_per_search": round(1000 * server_system / max(1, len(latencies)), 3),
        "client_cpu_ms_per_search": round(1000 * client_cpu / max(1, len(latencies)), 3),
        "load_average_1min": os.getloadavg()[0],
        "healthz_during_poll_ms": {
            "p50": round(percentile(health, 50) * 1000, 1),
            "p99": round(percentile(health, 99) * 1000, 1),
            "n": len(health),
        },
    }


def run(
    sections: int = 10_000,
    users: int = 5_000,
    pairs: int = 20_000,
    open_percent: int = 5,
    searches: int = 3_200,
    concurrency: int = 32,
    per_subject: int = 100,
    search_index: bool = True,
    search_cache: bool = True,
    client: str = "plain",
    server_options: tuple[str, ...] = (),
    profile: str | None = None,
    poll_interval: int = 60,
    connect_first: bool = True,
) -> dict:
    """One benchmark run; the figures as a dict."""
    args = argparse.Namespace(
        sections=sections,
        users=users,
        pairs=pairs,
        open_percent=open_percent,
        searches=searches,
        concurrency=concurrency,
        per_subject=per_subject,
        search_index=search_index,
        search_cache=search_cache,
        client=client,
        poll_interval=poll_interval,
        connect_first=connect_first,
    )
    standin, url, roster_loop = start_roster(sections, per_subject)
    try:
        extra = () if search_index else ("--CourseGrab.search_index_enabled=False",)
        if not search_cache:
            extra = (*extra, "--CourseGrab.search_cache_enabled=False")
        extra = (*extra, *server_options)
        with coursegrab_server(url, extra, profile, poll_interval) as (base, data_dir, pid):
            return asyncio.run(_run(args, base, data_dir, pid, standin, roster_loop))
    finally:
        roster_loop.call_soon_threadsafe(roster_loop.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--open-percent", type=int, default=5)
    parser.add_argument("--searches", type=int, default=3_200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--per-subject", type=int, default=100)
    parser.add_argument(
        "--no-search-index",
        action="store_true",
        help="search with SQL LIKE (c.CourseGrab.search_index_enabled = False)",
    )
    parser.add_argument(
        "--no-search-cache",
        action="store_true",
        help="every search reads the database (c.CourseGrab.search_cache_enabled = False)",
    )
    parser.add_argument(
        "--client",
        choices=("plain", "tornado"),
        default="plain",
        help="the searches' HTTP client: plain (kept-alive connections, benchmarks/plain_http.py;"
        " default) or tornado (Tornado's simple client, a new connection per request)",
    )
    parser.add_argument(
        "--connect-during-search",
        dest="connect_first",
        action="store_false",
        help="plain client: open each connection with its first search (its handshake timed"
        " with it) instead of before the searches start",
    )
    parser.add_argument(
        "--server-option",
        action="append",
        default=[],
        metavar="--Class.trait=VALUE",
        help="passed to the server as is (repeatable), e.g. --server-option=--NgShare.x=False",
    )
    parser.add_argument(
        "--poll-interval",
        type=int,
        default=60,
        help="c.CourseGrab.poll_interval_seconds (default 60): from"
        f" {QUIET_WINDOW_SECONDS} s the searches run between two polls; 10 was the earlier"
        " runs' value (a full poll every 10 s, also during the searches)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="run the server under cProfile; its stats go to FILE"
    )
    args = parser.parse_args(argv)
    result = run(
        args.sections,
        args.users,
        args.pairs,
        args.open_percent,
        args.searches,
        args.concurrency,
        args.per_subject,
        not args.no_search_index,
        not args.no_search_cache,
        args.client,
        tuple(args.server_option),
        args.profile and str(Path(args.profile).resolve()),
        args.poll_interval,
        args.connect_first,
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
