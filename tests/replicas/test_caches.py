"""A write through one replica is what another replica answers next (its caches included).

The fetch answer of a release is cached per process; a new release made
through replica A under the same name must be what replica B serves, not
B's cached copy of the old one.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from urllib.parse import urlencode

from tests.replicas.cluster import fresh_postgresql_database, replica_cluster


def form(**fields) -> bytes:
    return urlencode(fields).encode()


def files(content: bytes) -> str:
    return json.dumps([{"path": "p1.ipynb", "content": base64.b64encode(content).decode()}])


def fetched(replica) -> bytes:
    status, body = replica.get("/api/assignment/c1/a1?user=s1")
    assert status == 200, body
    return base64.b64decode(json.loads(body)["files"][0]["content"])


def ok(answer) -> None:
    status, body = answer
    assert status == 200 and json.loads(body)["success"], body


def test_a_release_replaced_through_one_replica_is_fetched_fresh_from_another(tmp_path):
    with fresh_postgresql_database() as db_url:
        with replica_cluster(tmp_path, db_url, 2) as cluster:
            a, b = cluster[0], cluster[1]
            ok(a.post("/api/course/c1", form(user="root", instructors=json.dumps(["kevin"]))))
            students = [{"username": "s1", "first_name": "", "last_name": "", "email": ""}]
            ok(a.post("/api/students/c1", form(user="kevin", students=json.dumps(students))))
            ok(a.post("/api/assignment/c1/a1", form(user="kevin", files=files(b"version 1"))))
            assert fetched(b) == b"version 1"  # now in B's response cache
            assert fetched(b) == b"version 1"
            request = urllib.request.Request(
                a.base + "/api/assignment/c1/a1?user=kevin", method="DELETE"
            )
            with urllib.request.urlopen(request, timeout=10) as r:
                assert r.status == 200
            ok(a.post("/api/assignment/c1/a1", form(user="kevin", files=files(b"version 2"))))
            assert fetched(b) == b"version 2"
