"""Vivere mentorship-queue throughput: create / claim / close at concurrency 32.

Starts a real ``vngshare --plugins vivere`` (loopback, its own temp dir,
stopped by PID). ``--concurrency`` workers each loop, until ``--tickets``
tickets have been handled: a mentee creates a ticket, a mentor claims it, the
mentee closes it — three POSTs with JSON bodies, authenticated (by default)
by Vivere tokens in ``X-MenloHacks-Authorization``, as the apps send them.

Reported: tickets per second (full create-claim-close cycles), requests per
second, and latency p50 / p99 per operation.

    .venv/bin/python benchmarks/vivere_queue.py
    .venv/bin/python benchmarks/vivere_queue.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.vivere_server import percentile, vivere_server  # noqa: E402

PASSWORD = "benchmark password"
OPERATIONS = ("create", "claim", "close")


@contextmanager
def postgresql_schema(url: str):
    """A throw-away schema on ``url``; yields the URL that uses it."""
    import sqlalchemy as sa

    schema = f"vivere_bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


async def _run(api: str, tickets: int, concurrency: int, auth: str) -> dict:
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

    client = AsyncHTTPClient(force_instance=True, max_clients=concurrency)

    async def post(path: str, body: dict, who: str, expect: int) -> tuple[float, dict]:
        headers = {"Content-Type": "application/json"}
        url = api + path
        if auth == "token":
            headers["X-MenloHacks-Authorization"] = who
        else:
            url += f"?user={who}"
        started = time.perf_counter()
        try:
            response = await client.fetch(
                HTTPRequest(url, method="POST", body=json.dumps(body), headers=headers)
            )
        except HTTPClientError as e:
            raise RuntimeError(f"{path}: {e.code} {e.response and e.response.body!r}") from None
        elapsed = time.perf_counter() - started
        if response.code != expect:
            raise RuntimeError(f"{path}: {response.code}")
        return elapsed, json.loads(response.body)["data"]

    async def identity(name: str) -> str:
        if auth != "token":
            return name
        _, data = await post(
            "user/create", {"name": name, "username": name, "password": PASSWORD}, "", 201
        )
        return data["token"]

    pairs = await asyncio.gather(
        *(
            asyncio.gather(identity(f"mentee{w}"), identity(f"mentor{w}"))
            for w in range(concurrency)
        )
    )
    latencies: dict[str, list[float]] = {op: [] for op in OPERATIONS}
    remaining = tickets

    async def worker(mentee: str, mentor: str) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            body = {"description": "benchmark", "location": "loopback", "contact": "none"}
            took, ticket = await post("mentorship/create", body, mentee, 201)
            latencies["create"].append(took)
            took, _ = await post("mentorship/claim", {"id": ticket["id"]}, mentor, 200)
            latencies["claim"].append(took)
            took, _ = await post("mentorship/close", {"id": ticket["id"]}, mentee, 200)
            latencies["close"].append(took)

    started = time.perf_counter()
    await asyncio.gather(*(worker(mentee, mentor) for mentee, mentor in pairs))
    seconds = time.perf_counter() - started
    client.close()
    done = len(latencies["close"])
    return {
        "tickets": done,
        "seconds": round(seconds, 2),
        "tickets_per_second": round(done / seconds, 1),
        "requests_per_second": round(3 * done / seconds, 1),
        "latency_ms": {
            op: {
                "p50": round(percentile(values, 50) * 1000, 2),
                "p99": round(percentile(values, 99) * 1000, 2),
            }
            for op, values in latencies.items()
        },
    }


def run(tickets: int, concurrency: int, auth: str, postgresql: str | None) -> dict:
    if postgresql:
        with postgresql_schema(postgresql) as url, vivere_server(database=url) as server:
            result = asyncio.run(_run(server.api, tickets, concurrency, auth))
    else:
        with vivere_server() as server:
            result = asyncio.run(_run(server.api, tickets, concurrency, auth))
    return {
        "benchmark": "vivere_queue",
        "database": "postgresql" if postgresql else "sqlite",
        "concurrency": concurrency,
        "auth": auth,
        **result,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--auth",
        choices=["token", "dev"],
        default="token",
        help="token: Vivere tokens (a lookup per request); dev: vngshare's user= argument",
    )
    parser.add_argument("--postgresql", metavar="URL", help="run on PostgreSQL (a temp schema)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    if not (1 <= args.tickets <= 100_000 and 1 <= args.concurrency <= 256):
        parser.error("keep --tickets <= 100000 and --concurrency <= 256")
    result = run(args.tickets, args.concurrency, args.auth, args.postgresql)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
