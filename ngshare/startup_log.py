"""The start-up report: one log line per mode the server runs in, so an operator sees at once
which identity provider, database, storage and plugins it uses, and where it listens."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from ngshare.context import ServerContext
    from ngshare.plugin import Plugin

#: Why a server without an identity source refuses every request that needs a caller.
NO_IDENTITY_REASON = (
    "identity: none - every request that needs a caller is refused (401): "
    "$JUPYTERHUB_API_TOKEN is not set, so the hub cannot be asked who calls. "
    "Run ngshare as a JupyterHub service (the hub sets it), or set "
    "c.NgShare.identity = 'hub' with the JUPYTERHUB_* variables"
)


def redacted_url(url: str) -> str:
    """A database URL without its password (for logs and messages)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all
        return "(a malformed database URL)"


def identity_line(ctx: ServerContext) -> tuple[int, str]:
    kind = ctx.config.identity_kind
    if kind == "hub":
        hub_auth = ctx.identity.hub_auth
        api_url = getattr(hub_auth, "api_url", "?")
        name = getattr(ctx.identity.fallback, "service_name", "?")
        return logging.INFO, f"identity: JupyterHub at {api_url} (service {name!r})"
    if kind == "dev":
        return logging.WARNING, (
            "identity: dev - callers are whoever `user=` names (vngshare; not for production)"
        )
    return logging.WARNING, NO_IDENTITY_REASON


def startup_lines(ctx: ServerContext, plugins: list[Plugin]) -> list[tuple[int, str]]:
    """``(level, line)`` for identity, database, storage and plugins (in that order)."""
    config = ctx.config
    inline = config.inline_blob_bytes
    where = config.storage_path
    if ctx.storage.files.local is False:  # a remote backend: say which, temp files stay local
        where = f"{ctx.storage.files.describe()} (temp files in {config.storage_path})"
    storage = f"storage: {where}" + (
        f" (files up to {inline} bytes kept in the database)" if inline else ""
    )
    enabled = ", ".join(f"{p.name} {p.version}".strip() for p in plugins)
    return [
        identity_line(ctx),
        (logging.INFO, f"database: {redacted_url(config.db_url)}"),
        (logging.INFO, storage),
        (logging.INFO, f"plugins: {enabled}"),
    ]
