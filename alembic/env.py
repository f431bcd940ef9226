"""Alembic environment for the core and every enabled plugin.

:mod:`ngshare.migrations` builds the Config: ``version_locations`` lists the
core's versions and each plugin's, and ``config.attributes`` carries the
MetaData objects and, when called from the server, an open connection.
"""

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
target_metadata = config.attributes.get("metadatas")
only_plugin = config.attributes.get("autogenerate_plugin")


def include_object(obj, name, type_, reflected, compare_to):
    """With ``autogenerate_plugin`` set, autogenerate sees only that plugin's tables."""
    if only_plugin is None or type_ != "table":
        return True
    return name.startswith(only_plugin + "_")


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        run(connection)


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
