"""Checkpoint SQLite's write-ahead log on a thread of its own.

In WAL mode SQLite copies the log back into the database file every
``wal_autocheckpoint`` pages, inside whichever commit crosses the mark: that
request waits for a few MB to be copied and the database file fsynced. With
uploads of a few hundred KB it is every dozen commits, and it was the slow
tail of sequential feedback uploads. Here the commits only append to the log;
a background thread runs a ``PASSIVE`` checkpoint (which never blocks readers
or writers) shortly after writes, outside the GIL, and SQLite's own
checkpoint stays as a backstop at a higher mark.
``NgShare.sqlite_wal_checkpoint_thread = False`` leaves it all to SQLite.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

#: Seconds a checkpoint waits after a write, so one run covers a burst of commits.
CHECKPOINT_DELAY_SECONDS = 0.05
#: SQLite's own checkpoint, for when this thread falls behind (set in pages:
#: see :func:`backstop_pages`).
BACKSTOP_BYTES = 40 << 20


def backstop_pages(page_size: int) -> int:
    """``wal_autocheckpoint`` for a database with pages of ``page_size`` bytes."""
    return max(1000, BACKSTOP_BYTES // page_size)


class WalCheckpointer:
    """A thread that checkpoints after :meth:`after_transaction`, until :meth:`stop`.

    :arg connect: returns a DB-API connection to the database (the thread's own).
    """

    def __init__(self, connect: Any) -> None:
        self._connect = connect
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0  # runs so far (for tests and curiosity)
        self._thread = threading.Thread(target=self._run, name="ngshare-wal", daemon=True)
        self._thread.start()

    def after_transaction(self) -> None:
        """A transaction ended (it may have written): checkpoint soon. Costs an Event.set."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        conn = self._connect()
        try:
            while True:
                self._wake.wait()
                if self._stopping:
                    return
                time.sleep(CHECKPOINT_DELAY_SECONDS)  # one run for a burst of commits
                self._wake.clear()
                try:
                    cursor = conn.cursor()
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    cursor.fetchall()
                    cursor.close()
                    self.checkpoints += 1
                except Exception:  # noqa: BLE001 - the backstop checkpoint still runs
                    log.exception("WAL checkpoint failed")
                if self._stopping:
                    return
        finally:
            conn.close()
