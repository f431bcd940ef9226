"""Vivere live fan-out: N WebSocket subscribers, 100 announcements, delivery latency and RSS.

Starts a real ``vngshare --plugins vivere`` (loopback, its own temp dir, stopped
by PID), connects ``--subscribers`` WebSocket clients to
``{prefix}events/ws?channel=com.vivere.announcement`` from ``--workers``
client processes (so the clients' own Python time is spread over cores), then
an organiser posts ``--announcements`` announcements, one every
``--interval`` seconds. Each client records when each announcement arrives.

Reported: delivered / expected, delivery latency p50 / p99 / max (from just
before the organiser's POST is sent to the moment a client has the message:
HTTP request, database commit, fan-out and the socket), and the server's RSS
idle, with every subscriber connected, and at its peak.

    .venv/bin/python benchmarks/vivere_fanout.py                 # 1000 subscribers
    .venv/bin/python benchmarks/vivere_fanout.py --subscribers 200 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.vivere_server import percentile, vivere_server  # noqa: E402

CHANNEL = "com.vivere.announcement"
CONNECT_BATCH = 50
RECEIVE_TIMEOUT = 60.0


def _epoch(stamp: str) -> float:
    """The bus's ``2026-01-01T00:00:00.000Z`` as seconds since the epoch."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


async def _subscribe_and_listen(
    ws_url: str, first: int, count: int, expected: int, pipe, client: str
) -> None:
    """Open ``count`` subscriptions, report ready, record each message's arrival."""
    if client == "aiohttp":
        import aiohttp

        # no connection-pool limit: every subscriber keeps its connection (default: 100)
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

        async def connect(url: str):
            return await session.ws_connect(url, max_msg_size=1 << 20, autoping=True)

        async def read(conn) -> str | None:
            message = await conn.receive()
            return message.data if message.type == aiohttp.WSMsgType.TEXT else None

    else:
        from tornado.websocket import websocket_connect

        session = None

        async def connect(url: str):
            return await websocket_connect(url, max_message_size=1 << 20)

        async def read(conn) -> str | None:
            return await conn.read_message()

    conns = []
    for start in range(first, first + count, CONNECT_BATCH):
        names = range(start, min(start + CONNECT_BATCH, first + count))
        conns += await asyncio.gather(*(connect(f"{ws_url}&user=sub{i}") for i in names))
    pipe.send(("ready", len(conns)))
    raw: list[list[tuple[str, float]]] = [[] for _ in conns]

    async def listen(index: int, conn) -> None:
        deadline = time.monotonic() + RECEIVE_TIMEOUT
        while len(raw[index]) < expected and time.monotonic() < deadline:
            try:
                message = await asyncio.wait_for(read(conn), deadline - time.monotonic())
            except asyncio.TimeoutError:
                break
            if message is None:
                break
            raw[index].append((message, time.time()))  # parsed later: keep the loop light

    await asyncio.gather(*(listen(i, c) for i, c in enumerate(conns)))
    for conn in conns:
        result = conn.close()
        if asyncio.iscoroutine(result):
            await result
    if session is not None:
        await session.close()
    received = []
    for client_messages in raw:
        events = [(json.loads(m), at) for m, at in client_messages]
        received.append([(e["data"]["message"], at, e["time"]) for e, at in events])
    pipe.send(("done", received))


def _worker(ws_url: str, first: int, count: int, expected: int, pipe, client: str) -> None:
    _raise_fd_limit(count * 2 + 256)
    asyncio.run(_subscribe_and_listen(ws_url, first, count, expected, pipe, client))


def _post_announcement(api: str, message: str) -> None:
    body = json.dumps({"message": message}).encode()
    request = urllib.request.Request(
        api + "admin/announcements?user=root",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201, response.status


def run(
    subscribers: int, announcements: int, interval: float, workers: int, client: str = "aiohttp"
) -> dict:
    _raise_fd_limit(subscribers * 2 + 1024)
    with vivere_server() as server:
        idle_rss = server.rss_bytes()
        ws_url = server.base_url.replace("http", "ws", 1) + f"/api/events/ws?channel={CHANNEL}"
        ctx = multiprocessing.get_context("spawn")
        pipes, procs = [], []
        share, first = divmod(subscribers, workers), 0
        for w in range(workers):
            count = share[0] + (1 if w < share[1] else 0)
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_worker, args=(ws_url, first, count, announcements, child, client)
            )
            proc.start()
            pipes.append(parent)
            procs.append(proc)
            first += count
        connected = 0
        started = time.monotonic()
        for pipe in pipes:
            kind, n = pipe.recv()
            assert kind == "ready"
            connected += n
        connect_seconds = time.monotonic() - started
        time.sleep(0.5)  # let the last subscriptions settle on the server
        connected_rss = server.rss_bytes()
        sent: dict[str, float] = {}
        cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
        for i in range(announcements):
            message = f"announcement {i}"
            sent[message] = time.time()
            _post_announcement(server.api, message)
            time.sleep(interval)
        latencies: list[float] = []
        after_publish: list[float] = []  # from the bus's timestamp to the client
        published: dict[str, float] = {}
        for pipe in pipes:
            kind, received = pipe.recv()
            assert kind == "done"
            for subscriber in received:
                for message, at, stamp in subscriber:
                    latencies.append(at - sent[message])
                    published.setdefault(message, _epoch(stamp))
                    after_publish.append(at - published[message])
        for proc in procs:
            proc.join(timeout=30)
        busy = (server.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
        peak_rss = server.peak_rss_bytes()
    expected = subscribers * announcements
    ms = [x * 1000 for x in latencies]
    to_bus = [(published[m] - sent[m]) * 1000 for m in published]
    fan_ms = [x * 1000 for x in after_publish]
    return {
        "benchmark": "vivere_fanout",
        "subscribers": subscribers,
        "connected": connected,
        "announcements": announcements,
        "interval_seconds": interval,
        "client_processes": workers,
        "client": client,
        "connect_seconds": round(connect_seconds, 2),
        "delivered": len(latencies),
        "expected": expected,
        "latency_ms": {
            "p50": round(percentile(ms, 50), 2) if ms else None,
            "p99": round(percentile(ms, 99), 2) if ms else None,
            "max": round(max(ms), 2) if ms else None,
        },
        # the parts: POST sent -> event published on the bus (request, commit), and
        # published -> in a client (fan-out, sockets, clients' parsing); bus times are ms
        "post_to_publish_ms_p50": round(percentile(to_bus, 50), 1) if to_bus else None,
        "publish_to_client_ms": {
            "p50": round(percentile(fan_ms, 50), 1) if fan_ms else None,
            "p99": round(percentile(fan_ms, 99), 1) if fan_ms else None,
        },
        # share of one core the server used while announcements went out
        "server_cpu_while_publishing": round(busy, 2),
        "server_rss_mib": {
            "idle": round(idle_rss / 2**20, 1),
            "connected": round(connected_rss / 2**20, 1),
            "peak": round(peak_rss / 2**20, 1),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--announcements", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between posts")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument(
        "--client",
        choices=["aiohttp", "tornado"],
        default="aiohttp",
        help="WebSocket client library of the subscribers",
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    if not (1 <= args.subscribers <= 20000 and 1 <= args.announcements <= 10000):
        parser.error("keep --subscribers <= 20000 and --announcements <= 10000")
    result = run(
        args.subscribers, args.announcements, args.interval, max(1, args.workers), args.client
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if result["delivered"] == result["expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
