"""Core statements of the webhook's hot path, run on SQLite's own cursor, compiled once.

Why: for a statement already in SQLAlchemy's compiled cache, `Connection.execute` still
spends ~60 µs of CPU (an execution context, its parameters, a result) where SQLite needs
~10 µs to run it; a webhook's transaction runs three. Here a statement is compiled once
per dialect and set of keys into its SQL, the order of its parameters and their types'
bind processors (a datetime becomes the same SQLite text SQLAlchemy writes), and a row it
returns goes through its columns' result processors, so rows read the same either way.
Same DBAPI connection, so the same transaction: the one the Core `Connection` commits.

Only on SQLite through a Core `Connection` (`ctx.transaction(..., core=True)`) with no
execution events listened for (a tracer, a test's hook): otherwise the statement goes
through `execute` as usual. A DBAPI error is raised as SQLAlchemy's `DBAPIError`, as
`execute` raises it, so callers tell a failing database apart the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

Processor = Callable[[Any], Any] | None
_UNSET = object()


@dataclass(frozen=True)
class _Compiled:
    sql: str
    parameters: tuple[tuple[str, Any, Processor], ...]
    """Per `?`: the key of its value, the value when the statement fixes it, its processor."""
    columns: tuple[tuple[str, Processor], ...]
    """Per column returned: its key and result processor."""

    def bind(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        bound = []
        for key, fixed, processor in self.parameters:
            value = values[key] if fixed is _UNSET else fixed
            bound.append(value if processor is None else processor(value))
        return tuple(bound)

    def row(self, raw: tuple[Any, ...]) -> dict[str, Any]:
        return {
            key: value if processor is None else processor(value)
            for (key, processor), value in zip(self.columns, raw, strict=True)
        }


CACHE_SIZE = 256
_COMPILED: dict[tuple[int, str, tuple[str, ...]], tuple[Executable, _Compiled]] = {}
"""By the statement (kept alive beside its compiled form, so its id is not reused), dialect
and keys: meant for statements built once, as module constants."""


def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    if compiled.insert_prefetch or compiled.update_prefetch or not compiled.positional:
        raise TypeError(f"not runnable directly (Python-side defaults): {compiled.string}")
    parameters = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.expanding or (name not in keys and bind.callable is not None):
            raise TypeError(f"not runnable directly (parameter {name}): {compiled.string}")
        fixed = _UNSET if name in keys else bind.effective_value
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        parameters.append((name, fixed, processor))
    returned = getattr(statement, "exported_columns", None) or ()
    columns = tuple(
        (column.key, column.type.dialect_impl(dialect).result_processor(dialect, None))
        for column in returned
    )
    return _Compiled(compiled.string, tuple(parameters), columns)


def _direct(connection: Connection | Session) -> bool:
    """Whether `connection` may skip `execute`: SQLite, and nothing listening for execution
    events (the flags SQLAlchemy itself checks before dispatching them; set on the first
    listener and never cleared, so a doubt takes the usual path)."""
    if not isinstance(connection, Connection):
        return False
    dialect = connection.dialect
    return dialect.name == "sqlite" and not (
        getattr(connection, "_has_events", True)
        or getattr(connection.engine, "_has_events", True)
        or getattr(dialect, "_has_events", True)
    )


def _run(connection: Connection, statement: Executable, values: Mapping[str, Any]) -> Any:
    """The DBAPI cursor that ran `statement` with `values`, and how to read its rows."""
    dialect = connection.dialect
    keys = tuple(values)
    cache_key = (id(statement), dialect.name, keys)
    cached = _COMPILED.get(cache_key)
    if cached is None or cached[0] is not statement:
        if len(_COMPILED) >= CACHE_SIZE:  # statements built per call: pointless, but bounded
            _COMPILED.clear()
        cached = _COMPILED[cache_key] = (statement, _compile(statement, dialect, keys))
    compiled = cached[1]
    parameters = compiled.bind(values)
    try:
        cursor = connection.connection.dbapi_connection.execute(  # type: ignore[union-attr]
            compiled.sql, parameters
        )
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            compiled.sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
        ) from error
    return cursor, compiled


def rowcount(
    connection: Connection | Session, statement: Executable, values: Mapping[str, Any]
) -> int:
    """How many rows `statement` changed."""
    if not _direct(connection):
        return int(connection.execute(statement, values).rowcount)  # type: ignore[attr-defined]
    cursor, _ = _run(connection, statement, values)  # type: ignore[arg-type]
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def one_or_none(
    connection: Connection | Session, statement: Executable, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The one row `statement` returns (a SELECT, or RETURNING), or None; raises
    `MultipleResultsFound` for more, as `Result.one_or_none` does."""
    if not _direct(connection):
        row = connection.execute(statement, values).one_or_none()
        return None if row is None else dict(row._mapping)
    cursor, compiled = _run(connection, statement, values)  # type: ignore[arg-type]
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if len(rows) > 1:
        raise MultipleResultsFound("Multiple rows were found when one or none was required")
    return compiled.row(rows[0]) if rows else None
