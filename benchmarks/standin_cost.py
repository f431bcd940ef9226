"""What the hub stand-in costs in CPU per identity lookup (it shares 2 cores with the server).

Starts ``hub_standin.py`` knowing ``rounds x lookups`` users, then per round
asks ``GET /hub/api/user`` once for each of ``lookups`` new tokens,
``concurrency`` at a time (32, the deadline's concurrency; our server's curl
client keeps at most 10 requests in flight), through Tornado's curl client as
``HubAuth`` does in our server, and prints the stand-in process's CPU seconds
per round::

    python benchmarks/standin_cost.py                     # 5 rounds of 300 lookups

300 is what one deadline fetch phase asks of the hub (one lookup per student).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tornado.httpclient import AsyncHTTPClient  # noqa: E402

from benchmarks import hub_standin  # noqa: E402
from benchmarks.metrics import ProcWatch  # noqa: E402


async def measure(rounds: int, lookups: int, concurrency: int) -> list[float]:
    users = {f"student{i}": secrets.token_hex(32) for i in range(rounds * lookups)}
    names = list(users)
    AsyncHTTPClient.configure(
        "tornado.curl_httpclient.CurlAsyncHTTPClient", max_clients=concurrency
    )
    client = AsyncHTTPClient()
    cpu: list[float] = []
    with hub_standin.running(users) as hub:
        sampler = ProcWatch(hub.pid)

        async def lookup(name: str) -> None:
            resp = await client.fetch(
                hub.api_url + "/user", headers={"Authorization": "token " + users[name]}
            )
            assert resp.code == 200 and b'"name"' in resp.body

        for r in range(rounds):
            before, t0 = sampler.cpu_seconds(), time.perf_counter()
            await asyncio.gather(*(lookup(n) for n in names[r * lookups:(r + 1) * lookups]))
            cpu.append(sampler.cpu_seconds() - before)
            print(f"round {r + 1}: {lookups} lookups, stand-in CPU {cpu[-1]:.3f} s, "
                  f"wall {time.perf_counter() - t0:.3f} s")
        assert hub.stats()["lookups"] == rounds * lookups
    return cpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--lookups", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=32)
    args = p.parse_args(argv)
    cpu = asyncio.run(measure(args.rounds, args.lookups, args.concurrency))
    print(f"median stand-in CPU per {args.lookups} lookups: {sorted(cpu)[len(cpu) // 2]:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
