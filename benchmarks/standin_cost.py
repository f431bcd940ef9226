"""What an identity lookup costs in CPU: the hub stand-in's, and the asking side's.

Starts ``hub_standin.py`` knowing ``rounds x lookups`` users, then per round
asks ``GET /hub/api/user`` once for each of ``lookups`` new tokens,
``concurrency`` at a time (32, the deadline's concurrency), the way our
server does: by default through ``ngshare.hub_lookup.HubTokenLookup``
(``HubIdentity.fast_token_lookups``), or with ``--client hubauth`` through
JupyterHub's ``HubAuth.user_for_token`` (with JupyterHub 6 an aiohttp
session; with 4 and 5 Tornado's client, curl if pycurl is installed: see
``ngshare.hub.use_pycurl_if_installed``). It prints per round the CPU
seconds of the stand-in process and of this one (the asking side, which in
a benchmark run is the server)::

    python benchmarks/standin_cost.py                     # 5 rounds of 300 lookups
    python benchmarks/standin_cost.py --client hubauth    # the same through HubAuth

300 is what one deadline fetch phase asks of the hub (one lookup per student).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import secrets
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import hub_standin  # noqa: E402
from benchmarks.metrics import ProcWatch  # noqa: E402


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(
    rounds: int, lookups: int, concurrency: int, client: str = "fast"
) -> list[tuple[float, float]]:
    """Per round: (stand-in CPU s, asking side's CPU s)."""
    from jupyterhub.services.auth import HubAuth

    from ngshare.hub import use_pycurl_if_installed
    from ngshare.hub_lookup import HubTokenLookup

    users = {f"student{i}": secrets.token_hex(32) for i in range(rounds * lookups)}
    names = list(users)
    use_pycurl_if_installed()  # as the server's entry point does (its client keeps 10 in flight)
    gate = asyncio.Semaphore(concurrency)
    cpu: list[tuple[float, float]] = []
    with hub_standin.running(users) as hub:
        auth = HubAuth(api_url=hub.api_url, api_token=hub.service_token, cache_max_age=0)
        fast = HubTokenLookup(hub.api_url)
        sampler = ProcWatch(hub.pid)

        async def lookup(name: str) -> None:
            async with gate:
                if client == "fast":
                    model = await fast.user_for_token(users[name])
                else:
                    model = await auth.user_for_token(users[name], use_cache=False, sync=False)
            assert model is not None and model["name"] == name

        for r in range(rounds):
            before, own, t0 = sampler.cpu_seconds(), own_cpu_seconds(), time.perf_counter()
            await asyncio.gather(*(lookup(n) for n in names[r * lookups : (r + 1) * lookups]))
            cpu.append((sampler.cpu_seconds() - before, own_cpu_seconds() - own))
            print(
                f"round {r + 1}: {lookups} lookups, stand-in CPU {cpu[-1][0]:.3f} s, "
                f"asking side CPU {cpu[-1][1]:.3f} s, wall {time.perf_counter() - t0:.3f} s"
            )
        assert hub.stats()["lookups"] == rounds * lookups
        fast.close()
    return cpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--lookups", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument(
        "--client",
        choices=("fast", "hubauth"),
        default="fast",
        help="ask as HubIdentity does by default (fast) or through HubAuth",
    )
    args = p.parse_args(argv)
    cpu = asyncio.run(measure(args.rounds, args.lookups, args.concurrency, args.client))
    standin, asking = (sorted(c[i] for c in cpu)[len(cpu) // 2] for i in (0, 1))
    print(
        f"median CPU per {args.lookups} lookups: stand-in {standin:.3f} s, "
        f"asking side {asking:.3f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
