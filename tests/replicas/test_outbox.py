"""Three replicas' notification workers send each queued message once.

Messages are queued straight into the outbox (as a plugin's transaction
would, through the store's own insert); every replica's workers claim from
it. Under ``vngshare`` every channel goes to the log provider, which logs
one line per message it is handed: each message must appear in exactly one
replica's log, and be recorded as sent.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ngshare.notifications.models import PENDING, SENT
from ngshare.notifications.store import insert_message
from tests.replicas.cluster import fresh_postgresql_database, replica_cluster

MESSAGES = 300
LINE = re.compile(r"notification (\d+) \(not sent: log provider\)")


def test_three_replicas_send_each_queued_message_once(tmp_path):
    with fresh_postgresql_database() as db_url:
        engine = sa.create_engine(db_url)
        try:
            with replica_cluster(tmp_path, db_url, 3) as cluster:
                with Session(engine) as session, session.begin():
                    ids = [
                        insert_message(
                            session,
                            plugin="tests",
                            channel="email",
                            to=f"student{i}@example.org",
                            body=f"message {i}",
                            subject=None,
                            data=None,
                            user_pk=None,
                            key=None,
                            status=PENDING,
                            error=None,
                        )[0]
                        for i in range(MESSAGES)
                    ]
                deadline = time.monotonic() + 60
                while True:
                    with engine.connect() as conn:
                        statuses = dict(
                            conn.execute(
                                sa.text(
                                    "SELECT status, count(*) FROM notifications_messages"
                                    " GROUP BY status"
                                )
                            ).all()
                        )
                    if statuses.get(SENT) == MESSAGES:
                        break
                    assert time.monotonic() < deadline, statuses
                    time.sleep(0.2)
                time.sleep(1)  # a second send, if there were one, would be logged by now
                logs = {r.name: r.log() for r in cluster.replicas}
        finally:
            engine.dispose()
    sent_by = {name: [int(n) for n in LINE.findall(log)] for name, log in logs.items()}
    counts = Counter(n for found in sent_by.values() for n in found)
    assert sorted(counts) == sorted(ids)
    assert set(counts.values()) == {1}, [n for n, c in counts.items() if c > 1]
