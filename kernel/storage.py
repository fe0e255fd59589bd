"""The database every plugin shares: SQLAlchemy 2 async, SQLite by default, PostgreSQL by URL.

Each plugin owns only tables under its own prefix; the kernel creates them before the
plugin starts and never drops them when it unloads, so data outlives code versions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Engine, MetaData, Table, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from . import sqlite_file
from .migrations import Revisions, reconcile

T = TypeVar("T")
log = logging.getLogger(__name__)


class TableError(ValueError):
    """A table a plugin may not own, or a `register_tables` result of the wrong shape."""


class Database:
    """The engine and session factory, plus which plugin owns which table."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        if sqlite_file.is_file(self.url):
            keep_private(Path(self.url.database))
        self.engine: AsyncEngine = create_async_engine(self.url, pool_pre_ping=False)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", sqlite_file.tune)
            self.engine.dialect.do_terminate = _stop_aiosqlite  # type: ignore[method-assign]
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.sync_engine: Engine | None = None
        """SQLite only (a file, not `:memory:`): the same file through plain `sqlite3`, for
        `transaction`; None elsewhere."""
        if sqlite_file.is_file(self.url):
            self.sync_engine = sqlite_file.file_engine(self.url)
        self.owners: dict[str, str] = {}  # table name -> plugin

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def session(self) -> AsyncSession:
        return self.sessions()

    async def transaction(
        self, fn: Callable[..., T], *args: Any, core: bool = False, read_only: bool = False
    ) -> T:
        """Run `fn(session, *args)`, plain synchronous SQLAlchemy on a `Session`, to the end
        in one transaction: committed when it returns, rolled back when it raises (the
        exception propagates). Returns what `fn` returned.

        With `core=True`, `fn` gets a Core `Connection` instead (`fn(connection, *args)`), in
        the same one transaction: for a hot path written in Core statements, it saves what
        setting up, tracking and committing an ORM `Session` costs on top of the statements
        (~40 µs of CPU of the ~190 µs a billing webhook's three statements and commit take;
        `benchmarks/mail_db_roundtrip.py` has the rows).

        Why: on SQLite every statement through the async engine crosses to aiosqlite's
        thread and back about four times (cursor, execute, fetchall, close), and a session
        adds its commit and the pool's reset: ~6 hops of ~150 µs each per statement, against
        a few µs for the statement itself. Here the whole unit of work is one hop: a worker
        thread (`anyio.to_thread`) runs it on the synchronous `sqlite3` engine of the same
        file (same pragmas: WAL, busy_timeout, ...). On other databases (PostgreSQL over
        asyncpg, which has no synchronous driver) it is `AsyncSession.run_sync`, where the
        statements already run on the event loop's thread through greenlets.

        On a SQLite file the transaction is `BEGIN IMMEDIATE`: it holds the write lock from
        its first statement, so a unit of work that reads and then writes what it computed
        (the next invoice number, a draft's status) never interleaves with another writer.
        `read_only=True` promises `fn` only reads: it then reads one snapshot beside the
        writer (WAL) instead of waiting for the write lock, and a write it attempts anyway
        may fail with "database is locked". Elsewhere `read_only` changes nothing.

        `fn` runs on another thread: it must not touch the event loop or async objects, and
        should not hold the transaction open longer than needed (a write locks SQLite).
        Once started it runs to completion even if the caller is cancelled."""
        if self.sync_engine is None:
            if core:
                async with self.engine.begin() as connection:
                    return await connection.run_sync(fn, *args)
            async with self.sessions() as session, session.begin():
                return await session.run_sync(fn, *args)
        run = sqlite_file.run_on_connection if core else sqlite_file.run_in_transaction
        return await anyio.to_thread.run_sync(run, self.sync_engine, fn, args, read_only)

    async def claim_tables(
        self,
        owner: str,
        prefix: str,
        declared: Any,
        migrations: Revisions | None = None,
        *,
        additive: bool = False,
    ) -> list[Table]:
        """Check the plugin's tables are its own, bring the database to them (its pending
        migrations, new tables, and additive changes when `additive`; see
        `kernel/migrations.py`), and record the owner. Raises SchemaChangeRefused, with the
        differences, for a change that needs a migration; the database is then untouched."""
        tables = normalise_tables(declared)
        for table in tables:
            if not table.name.startswith(prefix):
                raise TableError(
                    f"table {table.name!r} of plugin '{owner}' must be named with the "
                    f"plugin's prefix {prefix!r} (for example {prefix}{table.name})"
                )
            held = self.owners.get(table.name)
            if held is not None and held != owner:
                raise TableError(f"table {table.name!r} already belongs to plugin '{held}'")
        # one hop for the whole comparison and creation on a SQLite file (see `transaction`):
        # a fresh database's tables are a few hundred statements, each ~4 hops through aiosqlite
        outcome = await self.transaction(
            lambda connection: reconcile(
                connection, owner, prefix, tables, migrations, additive=additive
            ),
            core=True,
        )
        for line in outcome.describe():
            log.info("plugin %s: schema: %s", owner, line)
        for table in tables:
            self.owners[table.name] = owner
        return tables

    def release_tables(self, tables: Iterable[Table]) -> None:
        for table in tables:
            self.owners.pop(table.name, None)

    async def close(self) -> None:
        await self.engine.dispose()
        if self.sync_engine is not None:
            self.sync_engine.dispose()


def normalise_tables(declared: Any) -> list[Table]:
    """Accept a MetaData, a Table, a declarative model class, or an iterable of those."""
    if declared is None:
        return []
    if isinstance(declared, MetaData):
        return list(declared.sorted_tables)
    if isinstance(declared, Table):
        return [declared]
    table = getattr(declared, "__table__", None)
    if isinstance(table, Table):
        return [table]
    if isinstance(declared, Iterable) and not isinstance(declared, str | bytes):
        return [table for item in declared for table in normalise_tables(item)]
    raise TableError(
        "register_tables must return a MetaData, Tables or declarative model classes, "
        f"got {type(declared).__name__}"
    )


def _stop_aiosqlite(dbapi_connection: Any) -> None:
    """End an invalidated aiosqlite connection (its task was cancelled inside a statement) by
    stopping its worker thread, which closes the `sqlite3` connection first.

    Why not SQLAlchemy's default: it first tries a "graceful" close in a shielded task, and
    when the cancellation reaches the waiting caller it stops the thread as well; the shielded
    close then queues a second stop behind the first and waits for an answer the exited thread
    never gives, so the task is pending forever and the event loop's shutdown hangs on it. A
    file on this machine has no peer to say goodbye to: stopping is the whole close."""
    dbapi_connection._terminate_force_close()


def keep_private(database: Path) -> None:
    """Make the SQLite database readable by its owner only (its folder `0700` when created
    here, the file `0600`): it holds password hashes, sessions and API tokens. SQLite gives
    the `-wal` and `-shm` files the database file's mode, so the file is created `0600`
    before SQLite opens it; files left wider by an older version are narrowed."""
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(database, os.O_CREAT | os.O_RDWR, 0o600))
    for path in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
