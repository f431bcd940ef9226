"""The one object through which handlers and plugins reach the server's services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ngshare.accounts import AccountService
    from ngshare.auth import TokenFirstIdentity
    from ngshare.config import NgShare
    from ngshare.db import Database
    from ngshare.events import EventBus
    from ngshare.notifications import NotificationService
    from ngshare.plugin import Plugin
    from ngshare.scheduler import Scheduler
    from ngshare.storage import BlobStore
    from ngshare.tokens import TokenService

T = TypeVar("T")


@dataclass
class ServerContext:
    """Services shared by the core and every plugin.

    :arg config: the running :class:`~ngshare.config.NgShare` application (its traits).
    :arg db: database; use ``await db.run(fn, ...)``.
    :arg storage: the blob store; its methods block, call them via :meth:`run_blocking`.
    :arg identity: the identity provider (core tokens first, then the configured one).

    The core services (``events``, ``scheduler``, ``tokens``, ``accounts``) are
    set by their own startup hooks, before any plugin's; until then they are
    ``None``. A plugin keeps its run-time objects with :meth:`set_state` and
    finds them with :meth:`state`, keyed by their class.
    """

    config: NgShare
    db: Database
    storage: BlobStore
    identity: TokenFirstIdentity
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("ngshare"))
    events: EventBus = None  # type: ignore[assignment]
    scheduler: Scheduler = None  # type: ignore[assignment]
    tokens: TokenService = None  # type: ignore[assignment]
    accounts: AccountService = None  # type: ignore[assignment]
    notifications: NotificationService = None  # type: ignore[assignment]
    #: The core services (scheduler, events, tokens, accounts), in start order.
    services: list[Plugin] = field(default_factory=list)
    #: The loaded plugins (feature sets), in load order.
    plugins: list[Plugin] = field(default_factory=list)
    _states: dict[type, Any] = field(default_factory=dict, repr=False)
    workers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="ngshare-io")
    )

    def state(self, kind: type[T]) -> T:
        """The object of class ``kind`` a feature set registered with :meth:`set_state`.

        A plugin's settings (its ``config`` class) are registered by the core at
        start-up, so ``ctx.state(Exchange)`` is the exchange's validated settings.

        :raises LookupError: nothing of that class is registered.
        """
        try:
            return self._states[kind]
        except KeyError:
            raise LookupError(f"no {kind.__qualname__} registered on the server context") from None

    def has_state(self, kind: type) -> bool:
        """Is an object of class ``kind`` registered?"""
        return kind in self._states

    def set_state(self, obj: T, kind: type | None = None) -> T:
        """Register ``obj`` under ``kind`` (default: its own class), replacing any earlier one.

        Returns ``obj``. Tests pass ``kind`` to put a stand-in (a fake clock) in
        the place of the real class.
        """
        self._states[kind or type(obj)] = obj
        return obj

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run file or CPU work (blob I/O, base64, hashing) off the IOLoop."""
        return await asyncio.get_running_loop().run_in_executor(self.workers, fn, *args)

    def close(self) -> None:
        """Release the server's threads and connections (after the shutdown hooks)."""
        self.workers.shutdown(wait=True)
        self.storage.close()
        self.db.dispose()
