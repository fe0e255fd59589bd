"""Core statements run on SQLite's own cursor, compiled once, for a hot path inside
`ctx.transaction(fn, core=True)`.

Why: for a statement already in SQLAlchemy's compiled cache, `Connection.execute` still
spends ~15 µs of CPU (an execution context, its parameters, a result) on top of the ~7 µs
SQLite takes to run a read by primary key or a small insert, and an executemany through it
~6 µs more a row of fifteen columns (in-process, SQLAlchemy 2.1, Python 3.11). Here a
statement is compiled once per dialect and set of keys into its SQL, the order of its
parameters and their types' bind processors (a datetime becomes the text SQLAlchemy
writes, a bool 0 or 1, JSON its text), and a row it returns goes through its columns'
result processors, so rows read back the same either way. Same DBAPI connection, so the
same transaction: the one the `Connection` commits.

    PAYMENT = select(payments).where(payments.c.id == bindparam("id"))  # built once
    row = direct_sql.one_or_none(connection, PAYMENT, {"id": payment_id})  # dict or None
    changed = direct_sql.rowcount(connection, MARK_PAID, {"payment": payment_id})  # UPDATE
    direct_sql.insert_rows(connection, runs, [{...}, {...}])  # one executemany

Only on SQLite, through a Core `Connection` in a transaction, with no execution events
listened for (a tracer, a test's hook; other events, such as the kernel's own `begin`,
do not count): otherwise the statement goes through `execute` as usual, so the outcome is
the same on PostgreSQL. A DBAPI error is raised as SQLAlchemy's `DBAPIError`
(`IntegrityError`, ...), and a missing value as its `StatementError`, as `execute` raises
them. Statements are meant to be built once (module constants): the compiled forms are
kept by statement, dialect and keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError, MultipleResultsFound, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

__all__ = ["execute_many", "insert_rows", "one_or_none", "rowcount"]

Processor = Callable[[Any], Any]
Binder = Callable[[Mapping[str, Any]], Sequence[Any]]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    bind: Binder
    """A mapping of values to the parameters of the `?`s, in order, processed."""
    columns: tuple[tuple[str, Processor | None], ...]
    """Per column returned: its key (as in SQLAlchemy's `Row._mapping`) and result processor."""

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        return {
            key: value if processor is None else processor(value)
            for (key, processor), value in zip(self.columns, raw, strict=True)
        }


def _single(key: str) -> Callable[[Mapping[str, Any]], tuple[Any]]:
    """`itemgetter(key)`, but giving a tuple of the one value."""
    return lambda values: (values[key],)


def _binder(keys: list[str | None], fixed: list[Any], processors: list[Processor | None]) -> Binder:
    """The function that turns a mapping of values into the statement's parameters. Per `?`:
    the key of its value (None for a value the statement fixes, already processed in `fixed`)
    and its processor. Picks the values with one `itemgetter` and converts only the columns
    that have a processor: the cost per row of the plain tuples this replaces."""
    if None in keys:  # values fixed by the statement (`.values(state="paid")`)
        keyed = [
            (at, key, processor)
            for at, (key, processor) in enumerate(zip(keys, processors, strict=True))
            if key is not None
        ]

        def bind_with_fixed(values: Mapping[str, Any]) -> list[Any]:
            bound = fixed.copy()
            for at, key, processor in keyed:
                value = values[key]
                bound[at] = value if processor is None else processor(value)
            return bound

        return bind_with_fixed
    if not keys:
        return lambda _values: ()
    pick = itemgetter(*keys) if len(keys) > 1 else _single(keys[0])
    converting = tuple((at, p) for at, p in enumerate(processors) if p is not None)
    if not converting:
        return pick

    def bind(values: Mapping[str, Any]) -> list[Any]:
        bound = list(pick(values))
        for at, processor in converting:
            bound[at] = processor(bound[at])
        return bound

    return bind


def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or not compiled.positional
    ):
        raise TypeError(f"not runnable directly (Python-side defaults?): {compiled.string}")
    names: list[str | None] = []
    fixed: list[Any] = []
    processors: list[Processor | None] = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in keys:
            names.append(name)
            fixed.append(None)
            processors.append(processor)
            continue
        if bind.required:
            message = f"A value is required for bind parameter {name!r}"
            raise StatementError(message, compiled.string, [], InvalidRequestError(message))
        if bind.callable is not None:
            raise TypeError(f"not runnable directly (parameter {name}): {compiled.string}")
        value = bind.effective_value
        names.append(None)
        fixed.append(value if processor is None else processor(value))
        processors.append(None)
    columns = tuple(
        (key, type_.dialect_impl(dialect).result_processor(dialect, None))
        for key, _name, _objects, type_ in compiled._result_columns
    )
    return _Compiled(compiled.string, _binder(names, fixed, processors), columns)


CACHE_SIZE = 256
_COMPILED: dict[tuple[int, int, tuple[str, ...]], tuple[Executable, Dialect, _Compiled]] = {}
"""By statement, dialect (both kept alive beside the compiled form, so their ids are not
reused; a dialect holds an engine's settings, such as its JSON serializer) and keys."""


def _compiled(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    cache_key = (id(statement), id(dialect), keys)
    cached = _COMPILED.get(cache_key)
    if cached is None or cached[0] is not statement or cached[1] is not dialect:
        if len(_COMPILED) >= CACHE_SIZE:  # statements built per call: pointless, but bounded
            _COMPILED.clear()
        cached = _COMPILED[cache_key] = (statement, dialect, _compile(statement, dialect, keys))
    return cached[2]


def _direct(connection: Connection | Session) -> bool:
    """Whether `connection` may skip `execute`: SQLite, a Core connection already in its
    transaction (a statement sent before would not begin it), and nothing listening for the
    events `execute` dispatches. SQLAlchemy's own flags say whether anything listens at all;
    only when one is set (the kernel listens for `begin`) are the execution events looked
    at one by one."""
    if not isinstance(connection, Connection):
        return False
    dialect = connection.dialect
    if dialect.name != "sqlite" or getattr(dialect, "_has_events", True):
        return False  # a dialect event (do_execute, handle_error) is SQLAlchemy's to run
    if not connection.in_transaction():
        return False
    if getattr(connection, "_has_events", True) or getattr(connection.engine, "_has_events", True):
        listening = connection.dispatch  # the connection's own listeners and its engine's
        return not (
            listening.before_execute
            or listening.after_execute
            or listening.before_cursor_execute
            or listening.after_cursor_execute
        )
    return True


def _fail(error: Exception, connection: Connection, sql: str, parameters: Any) -> DBAPIError:
    dialect = connection.dialect
    return DBAPIError.instance(sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect)


def _run(connection: Connection, statement: Executable, values: Mapping[str, Any]) -> Any:
    """The DBAPI cursor that ran `statement` with `values`, and how to read its rows."""
    dialect = connection.dialect
    keys = tuple(values)
    cached = _COMPILED.get((id(statement), id(dialect), keys))
    if cached is None or cached[0] is not statement or cached[1] is not dialect:
        compiled = _compiled(statement, dialect, keys)
    else:
        compiled = cached[2]
    parameters = compiled.bind(values)
    try:
        cursor = connection.connection.dbapi_connection.execute(  # type: ignore[union-attr]
            compiled.sql, parameters
        )
    except dialect.loaded_dbapi.Error as error:
        raise _fail(error, connection, compiled.sql, parameters) from error
    return cursor, compiled


def rowcount(
    connection: Connection | Session, statement: Executable, values: Mapping[str, Any]
) -> int:
    """Run `statement` with `values`; how many rows it changed."""
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
    """The one row `statement` returns (a SELECT, or RETURNING) as a dict, or None; raises
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


def execute_many(
    connection: Connection | Session, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Run `statement` (an INSERT, UPDATE or DELETE returning nothing) once per row, in one
    executemany; every row has the keys of the first. How many rows it changed."""
    if not rows:
        return 0
    if not _direct(connection):
        return int(connection.execute(statement, list(rows)).rowcount)  # type: ignore[attr-defined]
    direct: Connection = connection  # type: ignore[assignment]
    dialect = direct.dialect
    compiled = _compiled(statement, dialect, tuple(rows[0]))
    if compiled.columns:
        raise TypeError(f"execute_many returns no rows: {compiled.sql}")
    bind = compiled.bind
    try:
        parameters = [bind(row) for row in rows]
    except KeyError as missing:
        group = next(i for i, row in enumerate(rows) if missing.args[0] not in row)
        message = (
            f"A value is required for bind parameter {missing.args[0]!r}, "
            f"in parameter group {group}"
        )
        raise StatementError(
            message, compiled.sql, list(rows), InvalidRequestError(message)
        ) from None
    cursor = direct.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(compiled.sql, parameters)
        return int(cursor.rowcount)
    except dialect.loaded_dbapi.Error as error:
        raise _fail(error, direct, compiled.sql, parameters) from error
    finally:
        cursor.close()


@cache
def _insert(table: Table) -> Executable:
    return insert(table)


def insert_rows(
    connection: Connection | Session, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `rows` into `table` in this transaction: `execute_many` of `insert(table)`,
    so each column's type converts its values (datetimes, booleans, JSON) as SQLAlchemy does."""
    execute_many(connection, _insert(table), rows)
