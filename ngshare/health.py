"""``/healthz`` and ``{prefix}healthz``: is the process answering, and can it reach its database?

The database is asked at most once every :data:`PROBE_MAX_AGE_SECONDS`
(``SELECT 1`` on a database thread); a health request answers at once from
the last result and, when that is older, starts the next check in the
background. Only the very first request waits, at most
:data:`PROBE_TIMEOUT_SECONDS`. A probe that hammers ``/healthz`` thus costs
the database nothing more, and never waits for it.

``/healthz`` is a liveness check: 200 while the IOLoop answers, with the
database's state for information. ``{prefix}healthz`` is a readiness check:
503 while the database cannot be reached.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from ngshare.web import APIHandler, public

if TYPE_CHECKING:
    from ngshare.context import ServerContext
    from ngshare.db import Database

PROBE_MAX_AGE_SECONDS = 2.0
PROBE_TIMEOUT_SECONDS = 2.0


def _select_one(session: Any) -> None:
    session.execute(text("SELECT 1"))


class DatabaseProbe:
    """The database's reachability, checked in the background and cached for a moment."""

    def __init__(
        self,
        db: Database,
        max_age: float = PROBE_MAX_AGE_SECONDS,
        timeout: float = PROBE_TIMEOUT_SECONDS,
    ) -> None:
        self.db = db
        self.max_age = max_age
        self.timeout = timeout
        self.reachable: bool | None = None
        self.error: str | None = None
        self.checked_at: float | None = None  # time.monotonic() of the last finished check
        self._running: asyncio.Future | None = None

    async def status(self) -> dict[str, Any]:
        """The last known state; starts a new check if it is stale (waits only for the first)."""
        if self._running is None and (
            self.checked_at is None or time.monotonic() - self.checked_at > self.max_age
        ):
            self._running = asyncio.ensure_future(self._check())
        if self.checked_at is None and self._running is not None:
            await asyncio.wait({self._running}, timeout=self.timeout)
        answer: dict[str, Any] = {"reachable": bool(self.reachable)}
        if self.checked_at is not None:
            answer["checked_seconds_ago"] = round(time.monotonic() - self.checked_at, 3)
        if self.error:
            answer["error"] = self.error
        return answer

    async def _check(self) -> None:
        try:
            await asyncio.wait_for(self.db.run(_select_one), self.timeout)
            self.reachable, self.error = True, None
        except asyncio.TimeoutError:
            self.reachable, self.error = False, f"no answer within {self.timeout:g} s"
        except Exception as e:  # noqa: BLE001 - any failure means unreachable; its kind is shown
            self.reachable, self.error = False, type(e).__name__
        finally:
            self.checked_at = time.monotonic()
            self._running = None


class HealthHandler(APIHandler):
    """``/healthz`` (liveness: always 200) and ``{prefix}healthz`` (readiness: 503 without
    a database). Both report ``{"success", "database": {"reachable", ...}}``."""

    def initialize(  # type: ignore[override]
        self, ctx: ServerContext, probe: DatabaseProbe, readiness: bool
    ) -> None:
        super().initialize(ctx)
        self.probe = probe
        self.readiness = readiness

    @public
    async def get(self) -> None:
        database = await self.probe.status()
        ok = database["reachable"] or not self.readiness
        self.write_json({"success": ok, "database": database}, status=200 if ok else 503)
