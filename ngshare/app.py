"""Build and run the server: config -> database -> storage -> identity -> plugins -> routes.

Tests and embedding code use :func:`build` and :func:`make_application`; the
command line (:mod:`ngshare.cli`) uses :func:`serve` and :func:`db_command`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from pathlib import Path

from alembic import command as alembic_command
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from ngshare import (
    accounts,
    admin,
    events,
    migrations,
    notifications,
    openapi,
    scheduler,
    tokens,
    ui,
)
from ngshare.access_log import log_request
from ngshare.auth import DevIdentity, IdentityProvider, NoIdentity, TokenFirstIdentity
from ngshare.config import NgShare
from ngshare.context import ServerContext
from ngshare.db import Database, is_sqlite
from ngshare.gc_freeze import freeze_startup_objects
from ngshare.health import DatabaseProbe, HealthHandler
from ngshare.lifecycle import StartupError, run_hooks
from ngshare.metrics import ServerMetrics
from ngshare.metrics.handlers import routes as metrics_routes
from ngshare.pages import HomeHandler
from ngshare.plugin import (
    Plugin,
    PluginError,
    check_handler_access,
    check_no_overlaps,
    discover,
    load_plugins,
)
from ngshare.shared_secrets import COOKIE_SECRET, shared_secret
from ngshare.startup_log import redacted_url, startup_lines
from ngshare.storage import BlobStore
from ngshare.storage_backend import FileBackend, FilesystemBackend
from ngshare.ui.server_facts import ServerStart
from ngshare.web import NotFoundHandler, answer_field_limits_in_json

#: Bytes read from a socket per step, and the size of the body pieces the
#: handlers receive. Tornado allocates (and zeroes) a buffer this large for
#: every ``recv``, which seldom returns more than 64 KiB on loopback: 256 KiB
#: cost sequential feedback uploads 3.7 % (benchmarks/ab.py, 5/5 rounds);
#: 512 MiB uploads take as long either way.
READ_CHUNK_BYTES = 64 * 1024

#: The core services, in start order: later ones may use earlier ones. Each
#: is a :class:`~ngshare.plugin.Plugin` mounted at the bare prefix, so it
#: contributes routes, OpenAPI paths, jobs, hooks and commands the way a
#: feature set does; it is always loaded and sets its ``ctx.<service>``.
CORE_SERVICES: list[Plugin] = [
    scheduler.service,
    events.service,
    tokens.service,
    accounts.service,
    notifications.service,
]


def make_identity(config: NgShare) -> TokenFirstIdentity:
    kind = config.identity_kind
    if kind == "hub":
        from ngshare.hub import HubIdentity

        provider: IdentityProvider = HubIdentity(parent=config)
    elif kind == "dev":
        provider = DevIdentity(parent=config)
    elif kind == "none":
        provider = NoIdentity(parent=config)
    else:
        raise StartupError(f"unknown identity {kind!r}: use hub, dev or none")
    provider.admin_users = set(config.admins)
    return TokenFirstIdentity(provider, origin=kind)


def load_cookie_secret(config: NgShare, db: Database | None = None) -> bytes:
    """The cookie-signing secret: from the environment, else the database or a file made once.

    With ``secrets_in_database`` (and ``db``) every replica reads the one
    stored in ``shared_secrets``, so a cookie signed by one verifies on all.
    """
    env = os.environ.get("NGSHARE_COOKIE_SECRET")
    if env:
        return _secret_from_hex(env, "$NGSHARE_COOKIE_SECRET")
    if config.secrets_in_database and db is not None:
        stored = shared_secret(db.engine, COOKIE_SECRET, lambda: secrets.token_hex(32))
        return _secret_from_hex(stored, "the database's cookie_secret")
    path = Path(config.cookie_secret_file)
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise StartupError(f"{path} must not be readable by others (chmod 600)")
        return _secret_from_hex(path.read_text().strip(), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret.hex())
    return secret


def _secret_from_hex(text: str, source: str) -> bytes:
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < 32:
        raise StartupError(
            f"{source} must hold a secret of at least 32 bytes, in hex "
            "(remove the file to have a new one made)"
        )
    return secret


def _create_private_sqlite_file(db_url: str) -> None:
    """Make a new SQLite database file readable by its owner only (like the cookie secret)."""
    if not (is_sqlite(db_url) and db_url.startswith("sqlite:///")):
        return
    path = Path(db_url[len("sqlite:///") :].partition("?")[0])
    if not path.name or path.name == ":memory:":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def open_database(config: NgShare) -> Database:
    """The configured database; :class:`StartupError` (one clear line) if it cannot be opened."""
    _create_private_sqlite_file(config.db_url)
    try:
        return Database.for_config(config)
    except ImportError as e:
        raise StartupError(
            f"the database driver for {redacted_url(config.db_url)} is not installed ({e.name}): "
            "for PostgreSQL, pip install 'ngshare[postgresql]'"
        ) from e
    except Exception as e:  # noqa: BLE001 - a malformed URL and the like
        raise StartupError(f"cannot open the database {redacted_url(config.db_url)}: {e}") from e


def make_storage_backend(config: NgShare, kind: str) -> FileBackend:
    """The blob backend ``kind`` ('filesystem' or 's3') as the settings describe it."""
    if kind == "filesystem":
        return FilesystemBackend(config.storage_path)
    if kind == "s3":
        from ngshare.storage_s3 import S3Backend  # boto3 is imported only when used

        return S3Backend(
            config.s3_bucket,
            config.s3_prefix,
            endpoint_url=config.s3_endpoint_url,
            region=config.s3_region,
            access_key_id=config.s3_access_key_id,
            secret_access_key=config.s3_secret_access_key,
            connections=config.s3_connections,
        )
    raise ValueError(f"unknown storage backend {kind!r}: use filesystem or s3")


def build(config: NgShare) -> tuple[ServerContext, list[Plugin]]:
    """Open the database (migrating it), the blob store and the plugins."""
    available = discover()  # one scan of the installed distributions (~15 ms)
    try:
        plugins = load_plugins(config.plugin_names, available)
        check_no_overlaps([*CORE_SERVICES, *plugins])
    except PluginError as e:
        raise StartupError(str(e)) from e
    db = open_database(config)
    cfg = migrations.alembic_config(config.db_url, plugins, available)
    if config.upgrade_db:
        migrations.upgrade(db.engine, cfg)
    elif not migrations.is_up_to_date(db.engine, cfg):
        db.dispose()
        raise StartupError(
            "the database schema is not up to date; run `ngshare db upgrade` "
            "or start without --no-upgrade-db"
        )
    try:
        backend = make_storage_backend(config, config.storage_backend)
    except ValueError as e:
        db.dispose()
        raise StartupError(str(e)) from e
    storage = BlobStore(
        config.storage_path,
        db.engine,
        config.inline_blob_bytes,
        packing=config.blob_packing_enabled,
        threads=config.blob_threads_enabled,
        backend=backend,
    )
    try:
        identity = make_identity(config)
    except (StartupError, ValueError) as e:
        db.dispose()
        raise StartupError(str(e)) from e
    ctx = ServerContext(
        config=config,
        db=db,
        storage=storage,
        identity=identity,
        log=config.log,
        services=list(CORE_SERVICES),
        plugins=plugins,
    )
    for plugin in plugins:
        if plugin.config is not None:
            try:
                ctx.set_state(plugin.config(parent=config))
            except Exception as e:  # traitlets validation errors and the like
                ctx.close()
                raise StartupError(f"plugin {plugin.name!r}: invalid configuration: {e}") from e
    return ctx, plugins


def make_application(ctx: ServerContext, plugins: list[Plugin]) -> web.Application:
    """Mount the core's routes, the core services' and every plugin's.

    Refuses (:class:`StartupError`) a handler method that is neither
    ``@authenticated`` nor ``@public``.
    """
    prefix = ctx.config.prefix
    answer_field_limits_in_json()
    probe = DatabaseProbe(ctx.db)
    metrics = ServerMetrics()
    routes: list[tuple] = [
        (r"/healthz/?", HealthHandler, {"ctx": ctx, "probe": probe, "readiness": False}),
        (prefix + r"healthz/?", HealthHandler, {"ctx": ctx, "probe": probe, "readiness": True}),
        *admin.routes(ctx),
        *metrics_routes(ctx, metrics),
        *ui.page_routes(ctx),
    ]
    for service in ctx.services:
        routes.extend(service.routes(prefix, ctx))
    try:
        check_handler_access(routes, "core")
        for plugin in plugins:
            plugin_routes = plugin.routes(prefix, ctx)
            check_handler_access(plugin_routes, f"plugin {plugin.name!r}")
            routes.extend(plugin_routes)
    except PluginError as e:
        raise StartupError(str(e)) from e
    routes.extend(openapi.routes(ctx, openapi.build_spec(ctx, plugins)))
    routes.extend(ui.asset_routes(ctx))
    ctx.set_state(ServerStart())
    settings: dict = {}
    hub_auth = ctx.identity.hub_auth
    if hub_auth is not None:
        from ngshare.hub import OAuthCallbackHandler

        routes.append((prefix + "oauth_callback", OAuthCallbackHandler, {"hub_auth": hub_auth}))
        settings["hub_auth"] = hub_auth
        settings["cookie_secret"] = load_cookie_secret(ctx.config, ctx.db)
    routes.append((prefix, HomeHandler, {"ctx": ctx}))
    routes.append((prefix + r".*", NotFoundHandler, {"ctx": ctx}))
    metrics.index_routes(routes, unmatched={NotFoundHandler})

    def request_done(handler: web.RequestHandler) -> None:
        log_request(handler)
        metrics.observe(handler)

    return web.Application(
        routes,
        **settings,
        default_handler_class=NotFoundHandler,
        default_handler_args={"ctx": ctx},
        debug=False,
        serve_traceback=False,
        log_function=request_done,
    )


def serve(config: NgShare) -> None:
    """Run the server until SIGINT/SIGTERM.

    The port is bound first: a port in use is one line and exit status 1,
    before the database is opened or migrated.
    """
    try:
        sockets = bind_sockets(config.port, config.host)
    except OSError as e:
        config.log.critical(
            "cannot start: cannot listen on %s:%d: %s", config.host, config.port, e.strerror or e
        )
        sys.exit(1)
    if config.identity_kind == "hub":
        from ngshare.hub import use_pycurl_if_installed

        if use_pycurl_if_installed():
            config.log.info("asking the hub through pycurl (kept-alive connections)")
    try:
        ctx, plugins = build(config)
    except StartupError as e:
        config.log.critical("cannot start: %s", e)
        sys.exit(1)
    asyncio.run(_serve(ctx, plugins, sockets))


async def _serve(ctx: ServerContext, plugins: list[Plugin], sockets: list) -> None:
    config = ctx.config
    try:
        await run_hooks(ctx, plugins, "startup")
    except StartupError as e:
        config.log.critical("cannot start: %s", e)
        sys.exit(1)
    try:
        app = make_application(ctx, plugins)
    except StartupError as e:
        config.log.critical("cannot start: %s", e)
        sys.exit(1)
    if config.freeze_startup_objects:
        config.log.debug("%d objects of startup frozen", freeze_startup_objects())
    server = HTTPServer(
        app, max_body_size=config.max_body_bytes + 1, xheaders=True, chunk_size=READ_CHUNK_BYTES
    )
    server.add_sockets(sockets)
    for level, line in startup_lines(ctx, plugins):
        config.log.log(level, "%s", line)
    config.log.info(
        "ngshare %s listening on http://%s:%d%s",
        config.version,
        config.host,
        config.port,
        config.prefix,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    config.log.info("shutting down")
    server.stop()
    await run_hooks(ctx, plugins, "shutdown")
    ctx.close()


def _new_revision(db: Database, cfg, plugins: list[Plugin], plugin_name: str, message: str) -> int:
    """Autogenerate a migration for one plugin's tables only, on its own branch.

    The first revision of a plugin starts its branch (label = plugin name) and
    depends on the core's head; later ones extend ``<plugin>@head``.
    """
    from alembic.script import ScriptDirectory

    plugin = next((p for p in plugins if p.name == plugin_name), None)
    if plugin is None or not plugin.migrations:
        print(
            f"plugin {plugin_name!r} is not enabled or declares no migrations folder",
            file=sys.stderr,
        )
        return 2
    if not migrations.is_up_to_date(db.engine, cfg):
        migrations.upgrade(db.engine, cfg)  # autogenerate compares against the newest schema
    Path(plugin.migrations).mkdir(parents=True, exist_ok=True)
    script = ScriptDirectory.from_config(cfg)
    has_branch = any(plugin_name in r.branch_labels for r in script.walk_revisions())
    cfg.attributes["autogenerate_plugin"] = plugin_name
    options: dict = {"version_path": plugin.migrations}
    if has_branch:
        options["head"] = f"{plugin_name}@head"
    else:
        options.update(
            head="base",
            branch_label=plugin_name,
            depends_on=script.get_revision("core@head").revision,
        )
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        alembic_command.revision(cfg, message=message, autogenerate=True, **options)
    return 0


def db_command(config: NgShare, argv: list[str]) -> int:
    """``ngshare db upgrade|current|history|revision PLUGIN MESSAGE``."""
    action = argv[0] if argv else "current"
    try:
        plugins = load_plugins(config.plugin_names)
        db = open_database(config)
    except (PluginError, StartupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    cfg = migrations.alembic_config(config.db_url, plugins)
    try:
        if action == "upgrade":
            migrations.upgrade(db.engine, cfg)
            print("database upgraded to: " + ", ".join(sorted(migrations.current(db.engine))))
        elif action == "current":
            have, want = migrations.current(db.engine), migrations.heads(cfg)
            print("current: " + (", ".join(sorted(have)) or "(empty)"))
            print("heads:   " + ", ".join(sorted(want)))
            ok = migrations.is_up_to_date(db.engine, cfg)
            print("up to date" if ok else "needs upgrade: ngshare db upgrade")
        elif action == "history":
            alembic_command.history(cfg)
        elif action == "revision" and len(argv) == 3:
            return _new_revision(db, cfg, plugins, plugin_name=argv[1], message=argv[2])
        else:
            print(
                "usage: ngshare db upgrade|current|history|revision PLUGIN MESSAGE",
                file=sys.stderr,
            )
            return 2
    finally:
        db.dispose()
    return 0


__all__ = [
    "CORE_SERVICES",
    "StartupError",
    "build",
    "make_application",
    "db_command",
    "run_hooks",
    "serve",
]
