"""Concurrent calls with one key share one computation, its result or its error."""

import asyncio

import pytest

from ngshare.singleflight import SingleFlight


def test_concurrent_calls_share_one_run_and_later_calls_run_again():
    async def main():
        flight: SingleFlight[int] = SingleFlight()
        runs = []

        async def compute():
            runs.append(1)
            await asyncio.sleep(0.01)
            return len(runs)

        first = await asyncio.gather(*(flight.run("k", compute) for _ in range(5)))
        other = await flight.run("other", compute)
        again = await flight.run("k", compute)
        return first, other, again, len(runs)

    first, other, again, runs = asyncio.run(main())
    assert first == [1] * 5 and other == 2 and again == 3 and runs == 3


def test_an_error_reaches_every_waiter_and_is_not_kept():
    async def main():
        flight: SingleFlight[int] = SingleFlight()

        async def fail():
            await asyncio.sleep(0.01)
            raise OSError("down")

        results = await asyncio.gather(
            *(flight.run("k", fail) for _ in range(3)), return_exceptions=True
        )

        async def ok():
            return 7

        return results, await flight.run("k", ok)

    results, after = asyncio.run(main())
    assert all(isinstance(r, OSError) for r in results) and after == 7


def test_pending_calls_are_forgotten_when_done():
    flight: SingleFlight[int] = SingleFlight()

    async def one():
        return 1

    assert asyncio.run(flight.run("k", one)) == 1
    assert flight._pending == {}
    with pytest.raises(ZeroDivisionError):
        asyncio.run(flight.run("k", lambda: _raise()))
    assert flight._pending == {}


async def _raise():
    raise ZeroDivisionError
