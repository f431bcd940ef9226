"""SQLite's one writer thread, committing the transactions queued together at once.

SQLite has a single writer, so the server gives it a single thread, and under
load that thread is the queue every upload waits in. Each commit writes its
log pages and waits for ``fdatasync`` (about a millisecond here, and up to
tens while a checkpoint flushes the database file), and the thread can do
nothing else meanwhile. When several requests are already waiting, this runs
them in one transaction instead, each inside a ``SAVEPOINT`` so that one
request's error undoes only its own writes, and commits once: the sync, the
shared index and table pages and the commit bookkeeping are paid once per
batch. Nothing waits to fill a batch: a lone request commits alone, as before.
Every request's answer (result or exception) is delivered only after the
commit that made it durable; if that commit fails, every request in the batch
gets the error. ``NgShare.sqlite_group_commit = False`` keeps the thread but
gives every transaction a commit of its own (``max_batch=1``). What callers
may rely on either way: :meth:`ngshare.db.Database.run`.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

#: The most transactions one commit takes (each upload's blobs are in it, so
#: this also bounds the size of one commit).
MAX_BATCH = 16


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    future: Future = field(default_factory=Future)


class TransactionLostError(RuntimeError):
    """SQLite rolled the whole batch back on its own (e.g. disk full) mid-batch."""


class GroupCommitter:
    """A thread that runs ``fn(session, ...)`` jobs in order, several per commit.

    :arg make_session: the sessionmaker of a SQLite engine.
    :arg after_commit: called after every batch (e.g. to wake the checkpointer).
    """

    def __init__(
        self,
        make_session: sessionmaker,
        after_commit: Callable[[], None] | None = None,
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._make_session = make_session
        self._after_commit = after_commit
        self.max_batch = max_batch
        self._queue: collections.deque[_Job] = collections.deque()
        self._ready = threading.Condition(threading.Lock())
        self._stopping = False
        self.batches = 0  # commits so far (for tests and curiosity)
        self._thread = threading.Thread(target=self._run, name="ngshare-db", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Queue ``fn(session, *args, **kwargs)``; the future settles after its commit."""
        job = _Job(fn, args, kwargs)
        with self._ready:
            if self._stopping:
                raise RuntimeError("the database is closed")
            self._queue.append(job)
            self._ready.notify()
        return job.future

    def stop(self) -> None:
        """Run what is queued, then end the thread."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    return
                n = min(len(self._queue), self.max_batch)
                batch = [self._queue.popleft() for _ in range(n)]
            batch = [job for job in batch if job.future.set_running_or_notify_cancel()]
            if batch:
                self._run_batch(batch)

    def _run_batch(self, batch: list[_Job]) -> None:
        results: dict[int, Any] = {}
        errors: dict[int, BaseException] = {}  # each job's own exception
        ran, failure = len(batch), None
        try:
            with self._make_session.begin() as session:
                # Take the write lock now: every job sees one snapshot, and a
                # read followed by a write cannot be refused as stale.
                dbapi = session.connection().connection.driver_connection
                dbapi.execute("BEGIN IMMEDIATE")  # on the driver: SQLAlchemy's own costs ~30 µs
                if len(batch) == 1:
                    job = batch[0]
                    results[0] = job.fn(session, *job.args, **job.kwargs)
                    if not dbapi.in_transaction:  # see _run_each; the commit would be empty
                        raise TransactionLostError("SQLite rolled the transaction back")
                else:
                    self._run_each(session, dbapi, batch, results, errors)
        except _Lost as lost:
            ran, failure = lost.ran, TransactionLostError("SQLite rolled the transaction back")
        except BaseException as exc:  # noqa: BLE001 - the commit (or a lone job) failed
            failure = exc
        finally:
            if self._after_commit is not None:
                self._after_commit()
        self.batches += 1
        for i, job in enumerate(batch[:ran]):
            if i in errors or failure is not None:
                job.future.set_exception(errors.get(i, failure))
            else:
                job.future.set_result(results[i])
        if ran < len(batch):  # not run before the transaction was lost: run them now
            self._run_batch(batch[ran:])

    def _run_each(
        self, session: Session, dbapi: Any, batch: list[_Job], results: dict, errors: dict
    ) -> None:
        """Run each job in a savepoint of its own (its error undoes only its writes)."""
        for i, job in enumerate(batch):
            try:
                with session.begin_nested():
                    results[i] = job.fn(session, *job.args, **job.kwargs)
            except Exception as exc:  # noqa: BLE001 - it is this job's answer
                errors[i] = exc
            if not dbapi.in_transaction:
                # SQLite ends the whole transaction on some errors (SQLITE_FULL,
                # SQLITE_IOERR...): what ran so far is gone, whatever it returned.
                raise _Lost(i + 1)
            # the next job sees what the database holds, not this one's objects
            session.expunge_all()


class _Lost(Exception):
    def __init__(self, ran: int) -> None:
        self.ran = ran
