"""SQLite's writer thread commits the transactions queued together at once.

(ngshare.db.group_commit; NgShare.sqlite_group_commit turns it off.)

Each test holds the thread in a first job until the others are queued, so
they are certain to share one batch.
"""

import asyncio
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from ngshare.db import Database, SqliteSettings
from ngshare.db.group_commit import TransactionLostError


def _database(tmp_path, group_commit=True):
    settings = SqliteSettings(group_commit=group_commit)
    database = Database("sqlite:///" + str(tmp_path / "g.db"), sqlite=settings)
    database.run_sync(lambda s: s.execute(sa.text("CREATE TABLE parent (id INTEGER PRIMARY KEY)")))
    database.run_sync(
        lambda s: s.execute(
            sa.text("CREATE TABLE t (x INTEGER UNIQUE, parent INTEGER REFERENCES parent(id))")
        )
    )
    return database


@pytest.fixture
def db(tmp_path):
    """Group commit on (the default)."""
    database = _database(tmp_path)
    yield database
    database.dispose()


@pytest.fixture(params=[True, False], ids=["grouped", "solo"])
def any_db(request, tmp_path):
    """Group commit on, then off (``NgShare.sqlite_group_commit``): the same answers."""
    database = _database(tmp_path, group_commit=request.param)
    yield database
    database.dispose()


def _insert(x):
    def job(session):
        session.execute(sa.text("INSERT INTO t (x) VALUES (:x)"), {"x": x})
        return x

    return job


def _stored(db):
    with db.engine.connect() as conn:
        return sorted(conn.scalars(sa.text("SELECT x FROM t")))


async def _in_one_batch(db, jobs):
    """Run ``jobs`` (functions of a session) queued behind a job that waits: one batch."""
    gate, started = threading.Event(), threading.Event()

    def hold(session):
        started.set()
        assert gate.wait(10)
        return "held"

    first = asyncio.ensure_future(db.run(hold))
    assert await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
    batches = db.committer.batches
    rest = [asyncio.ensure_future(db.run(job)) for job in jobs]
    await asyncio.sleep(0.05)  # every job is in the queue
    gate.set()
    assert await first == "held"
    outcomes = await asyncio.gather(*rest, return_exceptions=True)
    return outcomes, db.committer.batches - batches - 1  # the holding job's commit aside


@pytest.mark.gen_test
async def test_jobs_queued_together_commit_once_and_each_gets_its_result(any_db):
    outcomes, batches = await _in_one_batch(any_db, [_insert(i) for i in range(10)])
    assert outcomes == list(range(10))
    if any_db.sqlite_settings.group_commit:
        assert batches == 1  # the ten queued jobs: one transaction
    else:
        assert batches == 10  # switched off: a transaction and a commit each
    assert _stored(any_db) == list(range(10))


@pytest.mark.gen_test
async def test_a_lone_job_commits_alone(any_db):
    before = any_db.committer.batches
    for i in range(3):
        assert await any_db.run(_insert(i)) == i
    assert any_db.committer.batches - before == 3
    assert _stored(any_db) == [0, 1, 2]


@pytest.mark.gen_test
async def test_a_failing_job_undoes_only_its_own_writes(any_db):
    def insert_then_fail(session):
        session.execute(sa.text("INSERT INTO t (x) VALUES (100)"))
        raise ValueError("refused")

    jobs = [_insert(1), insert_then_fail, _insert(1), _insert(2)]  # the second 1 is a duplicate
    outcomes, batches = await _in_one_batch(any_db, jobs)
    assert batches == (1 if any_db.sqlite_settings.group_commit else 4)
    assert outcomes[0] == 1 and outcomes[3] == 2
    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], IntegrityError)
    assert _stored(any_db) == [1, 2]  # neither 100 nor the duplicate


@pytest.mark.gen_test
async def test_a_job_sees_the_writes_of_those_before_it(any_db):
    def count(session):
        return session.scalar(sa.text("SELECT count(*) FROM t"))

    outcomes, _ = await _in_one_batch(any_db, [_insert(1), count, _insert(2), count])
    assert outcomes == [1, 1, 2, 2]


@pytest.mark.gen_test
async def test_results_arrive_only_once_committed(any_db):
    seen = []

    def visible_elsewhere(_future):
        seen.append(_stored(any_db))  # another connection: only committed rows

    futures = []
    gate = threading.Event()
    any_db.committer.submit(lambda _s: gate.wait(10))  # the next ones queue up together
    for x in (1, 2, 3):
        futures.append(any_db.committer.submit(_insert(x)))
        futures[-1].add_done_callback(visible_elsewhere)
    gate.set()
    assert [await asyncio.wrap_future(f) for f in futures] == [1, 2, 3]
    if any_db.sqlite_settings.group_commit:
        assert seen == [[1, 2, 3]] * 3  # one commit, then every answer
    else:
        assert seen == [[1], [1, 2], [1, 2, 3]]  # each answer after its own commit


@pytest.mark.gen_test
async def test_a_failed_commit_fails_every_job_in_the_batch(db):
    # checked only when the transaction commits: the whole batch's commit fails
    outcomes, batches = await _in_one_batch(db, [_insert(1), _orphan, _insert(2)])
    assert batches == 1
    assert all(isinstance(o, IntegrityError) for o in outcomes), outcomes
    assert _stored(db) == []  # nothing half-written
    assert await db.run(_insert(3)) == 3  # and the thread goes on


@pytest.mark.gen_test
async def test_with_group_commit_off_a_failed_commit_fails_only_its_own_job(tmp_path):
    db = _database(tmp_path, group_commit=False)
    try:
        outcomes, batches = await _in_one_batch(db, [_insert(1), _orphan, _insert(2)])
        assert batches == 3
        assert outcomes[0] == 1 and outcomes[2] == 2
        assert isinstance(outcomes[1], IntegrityError)
        assert _stored(db) == [1, 2]
    finally:
        db.dispose()


def _orphan(session):
    """A write whose foreign key is checked only at commit, and fails there."""
    session.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
    session.execute(sa.text("INSERT INTO t (x, parent) VALUES (50, 999)"))
    return "orphan"


@pytest.mark.gen_test
async def test_a_transaction_lost_mid_batch_is_reported_and_the_rest_run_again(db):
    def end_everything(session):
        # what SQLite does itself on SQLITE_FULL or an I/O error: the whole
        # transaction, savepoints and all, is rolled back
        session.connection().exec_driver_sql("ROLLBACK")

    outcomes, _ = await _in_one_batch(db, [_insert(1), end_everything, _insert(2), _insert(3)])
    assert isinstance(outcomes[0], TransactionLostError)  # its row went with the rollback
    assert isinstance(outcomes[1], Exception)
    assert outcomes[2:] == [2, 3]  # run again, in a transaction of their own
    assert _stored(db) == [2, 3]


@pytest.mark.gen_test
async def test_stopping_runs_what_is_queued(tmp_path):
    database = Database("sqlite:///" + str(tmp_path / "s.db"))
    database.run_sync(lambda s: s.execute(sa.text("CREATE TABLE t (x INTEGER)")))
    futures = [database.committer.submit(_insert(i)) for i in range(5)]
    database.dispose()
    assert [f.result(timeout=0) for f in futures] == list(range(5))
    with pytest.raises(RuntimeError, match="closed"):
        database.committer.submit(_insert(9))


@pytest.mark.gen_test
async def test_a_lone_job_whose_transaction_was_lost_is_not_told_it_committed(any_db):
    def swallow_the_loss(session):
        session.execute(sa.text("INSERT INTO t (x) VALUES (7)"))
        session.connection().exec_driver_sql("ROLLBACK")  # as SQLite does on SQLITE_FULL
        return "done"  # as if the job had caught the error

    with pytest.raises(TransactionLostError):
        await any_db.run(swallow_the_loss)
    assert _stored(any_db) == []
    assert await any_db.run(_insert(8)) == 8


@pytest.mark.gen_test
async def test_a_job_that_commits_itself_is_answered_with_an_error(any_db):
    """Database.run's contract: fn must not commit. If it does, its caller is not told success
    (the rows written before the commit stay: the contract says so, this shows it)."""

    def commit_early(session):
        session.execute(sa.text("INSERT INTO t (x) VALUES (5)"))
        session.commit()
        return "done"

    with pytest.raises((TransactionLostError, InvalidRequestError)):
        await any_db.run(commit_early)
    assert _stored(any_db) == [5]
