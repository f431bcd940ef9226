"""Hot statements run on the DB-API cursor: compiled once per dialect, no per-call SQLAlchemy.

Every upload and download runs a handful of small statements. Executed through
SQLAlchemy, each costs ~20-40 µs of Python (cache key, parameter processing,
result wrapping) against a few µs in SQLite; on the single SQLite thread that
was half of a feedback upload's database time. A :class:`DriverStatement`
is still written as a Core statement (so its SQL follows the models and the
dialect), compiled once per dialect, and executed on the cursor of the
caller's connection, inside its transaction. Bind and result values go through
the column types' processors, so they are what SQLAlchemy would send and
return (e.g. datetimes stored as text on SQLite).

``NgShare.db_driver_statements = False`` (the engine's execution option
:data:`DRIVER_STATEMENTS`) runs the same statements through plain SQLAlchemy
Core instead, with the same results; docs/performance.md and
benchmarks/results/driver_sql.md have what the cursor path saves.

Only plain statements qualify: no expanding ``IN`` parameters, and an insert
must name every column that has a Python-side default (nothing fills those in).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

#: The execution option (set on the engine) that says whether statements run on
#: the cursor (True or absent) or through SQLAlchemy Core (False).
DRIVER_STATEMENTS: Final = "ngshare_driver_statements"


def on_driver(connection: Connection) -> bool:
    """Do this connection's statements run on the cursor? (see :data:`DRIVER_STATEMENTS`)"""
    return connection.get_execution_options().get(DRIVER_STATEMENTS, True)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: bind names in parameter order (positional paramstyles), else None (named)
    order: list[str] | None
    #: bind name -> the caller's key for it
    keys: dict[str, str]
    #: bind name -> a value fixed in the statement (e.g. ``kind == 'feedback'``)
    fixed: dict[str, Any]
    #: bind name -> the type's bind processor
    to_db: dict[str, Callable[[Any], Any]]
    #: per result column, the type's result processor (or None); None if no column has one
    from_db: list[Callable[[Any], Any] | None] | None
    #: the row class: a named tuple of the result columns' names
    row: type


class DriverStatement:
    """A Core statement executed directly on the DB-API cursor.

    :arg statement: a Core ``select``/``insert``/``update``/``delete`` with
        ``bindparam`` placeholders for the values given at execution.
    :arg column_keys: for an insert, the columns the rows provide.
    """

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None):
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        """Run a query; its rows (named tuples), values processed as SQLAlchemy would."""
        if not on_driver(connection):
            return connection.execute(self.statement, dict(params)).all()
        compiled = self._compiled(connection.dialect)
        cursor = _cursor(connection)
        try:
            cursor.execute(compiled.sql, _bind(compiled, params))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        make = compiled.row._make
        if compiled.from_db is not None:
            procs = compiled.from_db
            return [
                make(v if p is None or v is None else p(v) for p, v in zip(procs, row, strict=True))
                for row in rows
            ]
        return [make(row) for row in rows]

    def first(self, connection: Connection, params: Mapping[str, Any]) -> tuple | None:
        rows = self.rows(connection, params)
        return rows[0] if rows else None

    def run(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run a write; the number of rows it touched."""
        if not on_driver(connection):
            return connection.execute(self.statement, dict(params)).rowcount
        compiled = self._compiled(connection.dialect)
        cursor = _cursor(connection)
        try:
            cursor.execute(compiled.sql, _bind(compiled, params))
            return cursor.rowcount
        finally:
            cursor.close()

    def run_many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a write once per row of parameters (one ``executemany``)."""
        if not rows:
            return
        if not on_driver(connection):
            connection.execute(self.statement, [dict(r) for r in rows])
            return
        compiled = self._compiled(connection.dialect)
        cursor = _cursor(connection)
        try:
            cursor.executemany(compiled.sql, [_bind(compiled, r) for r in rows])
        finally:
            cursor.close()

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = self._compile(dialect)
        return compiled

    def _compile(self, dialect: Dialect) -> _Compiled:
        self._check_defaults()
        kw = {"column_keys": self.column_keys} if self.column_keys is not None else {}
        compiled = self.statement.compile(dialect=dialect, **kw)
        keys, fixed, to_db = {}, {}, {}
        for name, bind in compiled.binds.items():
            if bind.expanding or bind.callable is not None:
                raise ValueError(f"{name}: only plain parameters can run on the driver")
            keys[name] = bind.key
            if not bind.required:
                fixed[name] = bind.value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                to_db[name] = processor
        columns = list(getattr(self.statement, "exported_columns", []))  # select or RETURNING
        from_db = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        if not any(from_db):
            from_db = None
        row = namedtuple("Row", [c.key or f"c{i}" for i, c in enumerate(columns)], rename=True)
        order = list(compiled.positiontup) if compiled.positional else None
        return _Compiled(compiled.string, order, keys, fixed, to_db, from_db, row)

    def _check_defaults(self) -> None:
        if not isinstance(self.statement, Insert):
            return
        given = set(self.column_keys or ())
        for column in self.statement.table.columns:
            if column.default is not None and column.key not in given:
                raise ValueError(f"{column.key} has a Python-side default: pass it")


def _cursor(connection: Connection) -> Any:
    """A cursor of the DB-API connection under ``connection`` (its transaction included)."""
    return connection.connection.driver_connection.cursor()


def _bind(compiled: _Compiled, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    values = {}
    for name, key in compiled.keys.items():
        if key in params:
            value = params[key]
        elif name in compiled.fixed:
            value = compiled.fixed[name]
        else:
            raise KeyError(f"no value for parameter {key!r}")
        processor = compiled.to_db.get(name)
        values[name] = processor(value) if processor is not None and value is not None else value
    if compiled.order is None:
        return values
    return [values[name] for name in compiled.order]
