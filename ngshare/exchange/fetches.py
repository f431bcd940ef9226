"""Who fetched which release: one row per student and assignment, written once.

The fetch route is the hottest read of a deadline, so a server remembers the
(assignment, user) pairs it has already recorded and writes only on a pair's
first fetch; another replica's row or a restart costs one ``INSERT ... ON
CONFLICT DO NOTHING`` that changes nothing.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ngshare.exchange.models import Fetch
from ngshare.plugin_api import utcnow

#: Pairs remembered at most; past this the memory starts again (a few repeated writes).
MAX_REMEMBERED = 200_000


class FetchLog:
    """The pairs this server has recorded (a server's state, see ``ServerContext.set_state``)."""

    def __init__(self) -> None:
        self._seen: set[tuple[int, int]] = set()

    def is_new(self, assignment_pk: int, user_pk: int) -> bool:
        return (assignment_pk, user_pk) not in self._seen

    def remember(self, assignment_pk: int, user_pk: int) -> None:
        if len(self._seen) >= MAX_REMEMBERED:
            self._seen.clear()
        self._seen.add((assignment_pk, user_pk))


def record_fetch(session: Session, assignment_pk: int, user_pk: int) -> None:
    """Insert the pair's row unless it exists (first fetch time kept)."""
    values = {"assignment_pk": assignment_pk, "user_pk": user_pk, "fetched_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        make = sqlite_insert if dialect == "sqlite" else pg_insert
        session.execute(make(Fetch).values(values).on_conflict_do_nothing())
        return
    try:
        with session.begin_nested():
            session.execute(insert(Fetch).values(values))
    except IntegrityError:
        pass
