"""The server's settings: :class:`NgShare` (``ngshare``) and :class:`VNgShare` (``vngshare``).

Configuration comes from traits, settable in ``ngshare_config.py``
(``c.NgShare.admins = ["root"]``) or on the command line with ngshare 0.6's
flags (``--prefix --database --storage --admins --host --port --debug
--no-upgrade-db``). The commands themselves, and their sub-commands, are in
:mod:`ngshare.cli`.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from traitlets import (
    Bool,
    Enum,
    Float,
    Integer,
    List,
    TraitError,
    Unicode,
    default,
    observe,
    validate,
)
from traitlets.config import Application

from ngshare import __version__
from ngshare.logs import DATE_FORMAT, TEXT_FORMAT, logging_config

DEV_BANNER = """
**************************************************************************
*  vngshare: DEVELOPMENT SERVER - NOT FOR PRODUCTION.                     *
*  Anyone who can reach it acts as any user by naming them in `user=`.    *
**************************************************************************
"""


class NgShare(Application):
    """The ngshare server: the notebook exchange plus enabled plugins."""

    name = "ngshare"
    version = __version__
    description = "ngshare: the nbgrader notebook-exchange server for JupyterHub."

    aliases = {
        "prefix": "NgShare.prefix",
        "database": "NgShare.db_url",
        "storage": "NgShare.storage_path",
        "admins": "NgShare.admins",
        "host": "NgShare.host",
        "port": "NgShare.port",
        "data-dir": "NgShare.data_dir",
        "plugins": "NgShare.plugins",
        "config": "NgShare.config_file",
        "log-level": "Application.log_level",
    }
    flags = {
        "debug": ({"NgShare": {"debug": True}, "Application": {"log_level": 10}}, "Debug logging."),
        "no-upgrade-db": (
            {"NgShare": {"upgrade_db": False}},
            "Do not upgrade the database schema at start (refuse to run if it is old).",
        ),
        "generate-config": (
            {"NgShare": {"generate_config": True}},
            "Write a config file (at --config) with every setting of every class, and exit.",
        ),
        "show-config": (
            {"Application": {"show_config": True}},
            "Show the configuration loaded from the config file and command line, and exit.",
        ),
        "show-config-json": (
            {"Application": {"show_config_json": True}},
            "Show the loaded configuration as JSON, and exit.",
        ),
    }

    dev_mode = False

    config_file = Unicode(
        "ngshare_config.py", help="Python config file to load (if it exists)."
    ).tag(config=True)

    generate_config = Bool(
        False,
        help="""Write a config file at config_file listing every setting of the
        server, its services and the installed plugins (commented out, with
        their help), then exit. An existing file is left alone.""",
    ).tag(config=True)

    prefix = Unicode(
        help="""URL prefix of the API; must start and end with '/'.
        Default: $JUPYTERHUB_SERVICE_PREFIX when run as a hub service, else '/api/'.""",
    ).tag(config=True)

    @default("prefix")
    def _default_prefix(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/api/"

    @validate("prefix")
    def _validate_prefix(self, proposal):
        value = proposal["value"]
        if not value.startswith("/") or not value.endswith("/"):
            raise ValueError(f"prefix must start and end with '/': {value!r}")
        if value.startswith("/healthz/"):
            raise ValueError("prefix must not start with /healthz/")
        return value

    data_dir = Unicode(
        help="""Folder for the default SQLite database and blob storage.
        Default: /srv/ngshare for ngshare, ./vngshare-data for vngshare.""",
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return os.path.abspath("vngshare-data") if self.dev_mode else "/srv/ngshare"

    db_url = Unicode(
        help="SQLAlchemy database URL. Default: SQLite file ngshare.db in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host/dbname",
    ).tag(config=True)

    @default("db_url")
    def _default_db_url(self) -> str:
        return "sqlite:///" + str(Path(self.data_dir) / "ngshare.db")

    storage_path = Unicode(help="Blob storage folder. Default: files/ in data_dir.").tag(
        config=True
    )

    @default("storage_path")
    def _default_storage_path(self) -> str:
        return str(Path(self.data_dir) / "files")

    storage_backend = Enum(
        ["filesystem", "s3"],
        "filesystem",
        help="""Where files larger than inline_blob_bytes are kept: 'filesystem'
        (storage_path; several replicas need it on one shared filesystem) or 's3'
        (an S3-compatible bucket: AWS S3, MinIO, Ceph RGW; see the s3_* settings).
        Temp files of uploads stay in storage_path/tmp either way.
        `ngshare storage migrate` copies the blobs from one to the other.""",
    ).tag(config=True)

    s3_bucket = Unicode(
        "", help="S3 backend: the bucket (it must exist). $NGSHARE_S3_BUCKET if set."
    ).tag(config=True)

    @default("s3_bucket")
    def _default_s3_bucket(self) -> str:
        return os.environ.get("NGSHARE_S3_BUCKET", "")

    s3_prefix = Unicode(
        "", help="S3 backend: a key prefix for the blobs (blobs are <prefix>/ab/cdef...)."
    ).tag(config=True)

    s3_endpoint_url = Unicode(
        "",
        help="""S3 backend: the object store's URL (MinIO, Ceph RGW: http://host:9000);
        empty for AWS S3. Default: $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL, else empty.""",
    ).tag(config=True)

    @default("s3_endpoint_url")
    def _default_s3_endpoint_url(self) -> str:
        return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL", "")

    s3_region = Unicode(
        "", help="S3 backend: the region; empty: boto3's default ($AWS_DEFAULT_REGION, ~/.aws)."
    ).tag(config=True)

    s3_access_key_id = Unicode(
        "",
        help="""S3 backend: access key id, with s3_secret_access_key. Empty: boto3's
        credential chain ($AWS_ACCESS_KEY_ID..., ~/.aws/credentials, an instance or pod role).""",
    ).tag(config=True)

    s3_secret_access_key = Unicode(
        "", help="S3 backend: secret access key (see s3_access_key_id)."
    ).tag(config=True)

    s3_connections = Integer(
        16, help="S3 backend: most connections kept open to the object store."
    ).tag(config=True)

    admins = List(Unicode(), help="Admin usernames (comma-separated on the command line).").tag(
        config=True
    )

    @validate("admins")
    def _validate_admins(self, proposal):
        return [n.strip() for v in proposal["value"] for n in v.split(",") if n.strip()]

    identity = Unicode(
        "auto",
        help="""Who identifies callers: 'hub' (JupyterHub tokens and OAuth), 'dev'
        (a `user` argument; vngshare only), 'none'. 'auto': 'dev' for vngshare,
        else 'hub' when $JUPYTERHUB_API_TOKEN is set, else 'none'.""",
    ).tag(config=True)

    @property
    def identity_kind(self) -> str:
        if self.dev_mode:
            return "dev"
        if self.identity == "auto":
            return "hub" if os.environ.get("JUPYTERHUB_API_TOKEN") else "none"
        if self.identity == "dev":
            raise ValueError("identity 'dev' is only for vngshare")
        return self.identity

    host = Unicode(
        help="Interface to bind. Default: the host of $JUPYTERHUB_SERVICE_URL, else 127.0.0.1."
    ).tag(config=True)

    @default("host")
    def _default_host(self) -> str:
        return urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "")).hostname or "127.0.0.1"

    port = Integer(
        help="Port to listen on. Default: the port of $JUPYTERHUB_SERVICE_URL, else 10101."
    ).tag(config=True)

    @default("port")
    def _default_port(self) -> int:
        return urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "")).port or 10101

    cookie_secret_file = Unicode(
        help="""File holding the secret that signs login cookies; created (mode 0600)
        if missing, so sessions survive restarts. Default: cookie_secret in data_dir.
        $NGSHARE_COOKIE_SECRET (hex) takes precedence.""",
    ).tag(config=True)

    @default("cookie_secret_file")
    def _default_cookie_secret_file(self) -> str:
        return str(Path(self.data_dir) / "cookie_secret")

    secrets_in_database = Bool(
        False,
        help="""Keep the cookie secret and the Web Push VAPID key in the database
        (table shared_secrets), made by the first server to start and read by
        every other, instead of in files of data_dir. Turn it on when several
        replicas share one database (docs/replicas.md). $NGSHARE_COOKIE_SECRET
        and c.WebPushProvider.vapid_private_key still take precedence.""",
    ).tag(config=True)

    replica_id = Unicode(
        help="""This server's name among replicas of one database: recorded with
        every job run it claims ({prefix}jobs shows who ran what). Must differ
        between replicas. Default: hostname:pid.""",
    ).tag(config=True)

    @default("replica_id")
    def _default_replica_id(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    job_lease_seconds = Float(
        60.0,
        help="""How long a claimed job run stays this server's without a renewal.
        A running job's lease is renewed every third of this; when its server
        dies, another replica takes the run over once the lease has run out.""",
    ).tag(config=True)

    @validate("job_lease_seconds")
    def _validate_job_lease_seconds(self, proposal):
        if proposal["value"] < 1:
            raise TraitError("job_lease_seconds must be at least 1")
        return proposal["value"]

    debug = Bool(False, help="Debug logging (error messages are the same either way).").tag(
        config=True
    )
    upgrade_db = Bool(True, help="Upgrade the database schema to the newest version at start.").tag(
        config=True
    )

    freeze_startup_objects = Bool(
        True,
        help="""Once started, leave the objects of startup out of the garbage
        collector's full passes (gc.freeze(); see ngshare.gc_freeze): each such
        pass otherwise stopped the server for ~50 ms.""",
    ).tag(config=True)

    max_body_bytes = Integer(
        1 << 30, help="Largest accepted request body; larger ones get a JSON 413."
    ).tag(config=True)

    inline_blob_bytes = Integer(
        256 * 1024,
        help="""Files up to this size are kept in the database, larger ones as files
        in storage_path (0: every file is a file). A small file costs a file
        creation and two fsync rounds on disk, but only a few pages of the
        transaction that records it in the database.""",
    ).tag(config=True)

    blob_packing_enabled = Bool(
        True,
        help="""Store a small file kept in the database LZ4-packed when that saves a
        third of it (HTML feedback does). Files stored packed are read either way.""",
    ).tag(config=True)

    blob_threads_enabled = Bool(
        True,
        help="""For an upload that is alone in progress, stage its files side by side
        and compute small files' md5 and packing on extra threads (the store's
        own). Off: every upload is staged on the thread that reads it.""",
    ).tag(config=True)

    db_workers = Integer(
        8, help="Database worker threads (PostgreSQL; SQLite always uses one)."
    ).tag(config=True)

    # The database's performance mechanisms (ngshare.db; docs/performance.md says
    # what each buys). Each can be turned off; none changes what clients see.
    db_driver_statements = Bool(
        True,
        help="""Run the exchange's hot statements (permission checks, file rows,
        small-file inserts) directly on the database driver's cursor, compiled
        once (ngshare.db.driver_sql). Off: the same statements through plain
        SQLAlchemy Core, which costs more CPU per request.""",
    ).tag(config=True)

    db_retry_stale_connections = Bool(
        True,
        help="""PostgreSQL: check pooled connections out without a test query (one
        round trip less per transaction); a transaction whose connection proves
        dead before its commit runs once more on a fresh connection
        (ngshare.db.postgresql). Off: a test query at every check-out.""",
    ).tag(config=True)

    db_toast_lz4 = Bool(
        True,
        help="""PostgreSQL (14 and later): compress large values, such as small
        files kept in the database, with LZ4 instead of pglz: several times less
        database CPU per upload (ngshare.db.postgresql). A server that cannot is
        left at its default. Off: the database's default_toast_compression.""",
    ).tag(config=True)

    db_synchronous_commit = Enum(
        ["", "on", "off", "local", "remote_write", "remote_apply"],
        default_value="",
        help="""PostgreSQL: synchronous_commit for the server's connections. Empty:
        the database's own setting (normally on). "off" acknowledges uploads
        before their commit is flushed to disk: faster, but a crash of the
        database (not of ngshare) can lose the last moments of acknowledged
        uploads. Opt-in only; see docs/performance.md.""",
    ).tag(config=True)

    sqlite_group_commit = Bool(
        True,
        help="""SQLite: when several transactions are queued for the database
        thread, run them in one transaction, each in a SAVEPOINT of its own, and
        commit once (ngshare.db.group_commit). Off: every transaction commits on
        its own. Answers are sent only after their commit either way.""",
    ).tag(config=True)

    sqlite_wal_checkpoint_thread = Bool(
        True,
        help="""SQLite: copy the write-ahead log back into the database file on a
        thread of its own, shortly after writes (ngshare.db.wal), with SQLite's own
        checkpoint as a backstop at 40 MiB of log. Off: SQLite checkpoints inside
        whichever commit crosses its default mark (1000 pages).""",
    ).tag(config=True)

    sqlite_page_bytes = Integer(
        16384,
        help="""SQLite: page size of a database created by the server (a power of
        two, 512-65536; an existing database keeps its own). 0: SQLite's default
        (4096).""",
    ).tag(config=True)

    @validate("sqlite_page_bytes")
    def _validate_sqlite_page_bytes(self, proposal):
        value = proposal["value"]
        if value and not (512 <= value <= 65536 and value & (value - 1) == 0):
            raise TraitError(f"sqlite_page_bytes must be 0 or a power of two 512-65536: {value}")
        return value

    sqlite_cache_kib = Integer(
        8192,
        help="""SQLite: page cache of each connection, in KiB (a ceiling, filled as
        pages are read). 0: SQLite's default (2000 KiB).""",
    ).tag(config=True)

    @validate("sqlite_cache_kib")
    def _validate_sqlite_cache_kib(self, proposal):
        if proposal["value"] < 0:
            raise TraitError("sqlite_cache_kib must be 0 or more")
        return proposal["value"]

    plugins = List(
        Unicode(),
        help="Plugins to enable besides the exchange (entry points in 'ngshare.plugins').",
    ).tag(config=True)

    log_style = Enum(
        ["text", "json"],
        "text",
        help="""How log lines are written to stderr: 'text' for people (level,
        timestamp, logger, message), 'json' for log collectors (one object per
        line: time, level, logger, message, and the access log's method, path,
        status, duration_ms, user).""",
    ).tag(config=True)

    metrics_token = Unicode(
        help="""A bearer token that lets a Prometheus scraper read {prefix}metrics
        (`Authorization: Bearer <token>`) without being a signed-in admin.
        Empty: admins only. Default: $NGSHARE_METRICS_TOKEN.""",
    ).tag(config=True)

    @default("metrics_token")
    def _default_metrics_token(self) -> str:
        return os.environ.get("NGSHARE_METRICS_TOKEN", "")

    @default("log_level")
    def _default_log_level(self) -> int:
        return logging.INFO  # the start-up lines and the access log are for operators

    @default("log_format")
    def _default_log_format(self) -> str:
        return TEXT_FORMAT

    @default("log_datefmt")
    def _default_log_datefmt(self) -> str:
        return DATE_FORMAT

    def get_default_logging_config(self) -> dict:
        """The console handler for this application's, ngshare's and Tornado's loggers."""
        level = self.log_level
        if isinstance(level, str):
            level = getattr(logging, level)
        return logging_config(
            self.__class__.__name__, level, self.log_style, self.log_format, self.log_datefmt
        )

    @observe("log_style")
    def _observe_log_style(self, change) -> None:
        self._configure_logging()

    @validate("plugins")
    def _validate_plugins(self, proposal):
        return [n.strip() for v in proposal["value"] for n in v.split(",") if n.strip()]

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        if self.config_file and os.path.exists(self.config_file):
            self.load_config_file(self.config_file)
            # command-line options win over the file
            self.update_config(self.cli_config)

    @property
    def plugin_names(self) -> list[str]:
        return ["exchange"] + [p for p in self.plugins if p != "exchange"]


class VNgShare(NgShare):
    """vngshare: a stand-alone development server (``user=`` names the caller)."""

    name = "vngshare"
    dev_mode = True
