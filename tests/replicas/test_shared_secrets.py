"""Two ``ngshare`` servers on one database share the cookie secret and the VAPID key.

Real server processes (hub identity against a stand-in for the hub's
``/hub/api/user``), on SQLite and on PostgreSQL: a login cookie signed with
the stored secret is accepted by both, one signed with any other secret by
neither, and both give browsers the same Web Push public key.
"""

from __future__ import annotations

import json
import secrets

import sqlalchemy as sa
from tornado.web import create_signed_value

from ngshare.notifications.vapid import VapidKey, _parse
from tests.replicas.cluster import fresh_postgresql_database, replica_cluster
from tests.replicas.hub_standin import hub_standin

CONFIG = """
c.NgShare.secrets_in_database = True
c.NotificationService.channels = {"webpush": "log"}
"""
COOKIE = "service-ngshare"


def stored_secrets(db_url: str) -> dict[str, str]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT name, value FROM shared_secrets")).all())
    finally:
        engine.dispose()


def courses_with_cookie(replica, secret: bytes) -> int:
    cookie = create_signed_value(secret, COOKIE, "tok-kevin").decode()
    status, _ = replica.get("/api/courses", headers={"Cookie": f"{COOKIE}={cookie}"})
    return status


def check_two_servers_share_secrets(tmp_path, db_url: str, together: bool) -> None:
    for name in ("replica-0", "replica-1"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ngshare_config.py").write_text(CONFIG)
    with hub_standin() as hub_env:
        with replica_cluster(
            tmp_path, db_url, 2, command="ngshare", env=hub_env, together=together
        ) as cluster:
            stored = stored_secrets(db_url)
            assert set(stored) == {"cookie_secret", "vapid_private_key"}
            secret = bytes.fromhex(stored["cookie_secret"])
            assert [courses_with_cookie(r, secret) for r in cluster.replicas] == [200, 200]
            other = secrets.token_bytes(32)
            assert [courses_with_cookie(r, other) for r in cluster.replicas] == [401, 401]
            keys = [
                json.loads(r.get("/api/notifications/vapid-public-key")[1])["public_key"]
                for r in cluster.replicas
            ]
            stored_key = VapidKey(_parse(stored["vapid_private_key"].encode(), "db"), "db")
            assert keys == [stored_key.public_key] * 2
    # no per-process secret files were made
    for name in ("replica-0", "replica-1"):
        assert not (tmp_path / name / "cookie_secret").exists()
        assert not (tmp_path / name / "vapid_private_key.pem").exists()


def test_two_servers_on_one_sqlite_database_share_the_secrets(tmp_path):
    db_url = "sqlite:///" + str(tmp_path / "shared.db")
    check_two_servers_share_secrets(tmp_path, db_url, together=False)


def test_two_servers_on_one_postgresql_database_share_the_secrets(tmp_path):
    with fresh_postgresql_database() as db_url:
        check_two_servers_share_secrets(tmp_path, db_url, together=True)


def test_without_the_setting_each_server_keeps_its_own_files(tmp_path):
    db_url = "sqlite:///" + str(tmp_path / "shared.db")
    with hub_standin() as hub_env:
        with replica_cluster(
            tmp_path, db_url, 2, command="ngshare", env=hub_env, together=False
        ) as cluster:
            files = [tmp_path / r.name / "cookie_secret" for r in cluster.replicas]
            secrets_ = [bytes.fromhex(f.read_text().strip()) for f in files]
            assert secrets_[0] != secrets_[1]
            # a cookie of one server is not accepted by the other: why the setting exists
            assert courses_with_cookie(cluster[0], secrets_[0]) == 200
            assert courses_with_cookie(cluster[1], secrets_[0]) == 401
            assert stored_secrets(db_url) == {}
