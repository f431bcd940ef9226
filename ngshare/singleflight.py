"""One computation per key at a time, shared by everyone who asks meanwhile.

Used where a burst of identical requests would otherwise repeat expensive work:
the hub lookup of a token (``ngshare.hub``) and the build of a release's fetch
answer (``ngshare.exchange.response_cache``). IOLoop only (not thread-safe).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Coalesce concurrent calls with the same key into one call of ``fn``."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, asyncio.Future[T]] = {}

    async def run(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        """``await fn()``, unless a call for ``key`` is under way: then its result (or error)."""
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            result = await fn()
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # marked retrieved: each waiter re-raises it itself
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._pending[key]
