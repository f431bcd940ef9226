"""The one object through which handlers and plugins reach the server's services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ngshare.auth import IdentityProvider
    from ngshare.config import NgShare
    from ngshare.db import Database
    from ngshare.storage import BlobStore

T = TypeVar("T")


@dataclass
class ServerContext:
    """Services shared by the core and every plugin.

    :arg config: the running :class:`~ngshare.config.NgShare` application (its traits).
    :arg db: database; use ``await db.run(fn, ...)``.
    :arg storage: the blob store; its methods block, call them via :meth:`run_blocking`.
    :arg identity: the identity provider.
    """

    config: NgShare
    db: Database
    storage: BlobStore
    identity: IdentityProvider
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("ngshare"))
    #: Core services, set up by :mod:`ngshare.app` from CORE_SERVICES (None until then).
    events: Any = None  # ngshare.events.EventBus
    scheduler: Any = None  # ngshare.scheduler.Scheduler
    tokens: Any = None  # ngshare.tokens.TokenService
    accounts: Any = None  # ngshare.accounts.AccountService
    #: The loaded plugins, in load order.
    plugins: list[Any] = field(default_factory=list)
    #: Per-plugin runtime objects, keyed ``"<plugin>.<name>"`` (e.g. ``"exchange.clock"``).
    state: dict[str, Any] = field(default_factory=dict)
    workers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="ngshare-io")
    )

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run file or CPU work (blob I/O, base64, hashing) off the IOLoop."""
        return await asyncio.get_running_loop().run_in_executor(self.workers, fn, *args)

    def close(self) -> None:
        self.workers.shutdown(wait=True)
        self.db.dispose()
