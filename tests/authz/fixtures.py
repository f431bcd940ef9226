"""The matrix's server: every installed feature set, Vivere organisers, cheap password hashes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from ngshare_vivere.config import Vivere

from ngshare.app import build, run_hooks
from ngshare.context import ServerContext
from tests.authz.world import ORGANISER
from tests.conftest import empty_all_tables


def empty_every_table(ctx: ServerContext) -> None:
    """The plugins' tables first (their rows point at core users), then the core's."""
    with ctx.db.engine.begin() as conn:
        for plugin in reversed(ctx.plugins):
            if plugin.metadata is not None:
                for table in reversed(plugin.metadata.sorted_tables):
                    conn.execute(sa.delete(table))
    empty_all_tables(ctx.db.engine)


@pytest.fixture
def server(make_config, io_loop):
    """``vngshare --plugins all`` on the session's database, every table empty."""
    ctx, plugins = build(make_config(plugins=["all"]))
    empty_every_table(ctx)
    ctx.state(Vivere).organisers = [ORGANISER]
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    ctx.accounts.scrypt_n = 2**10  # fast hashes: the matrix is about who, not scrypt
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    ctx.close()
