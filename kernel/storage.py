"""The database every plugin shares: SQLAlchemy 2 async, SQLite by default, PostgreSQL by URL.

Each plugin owns only tables under its own prefix; the kernel creates them before the
plugin starts and never drops them when it unloads, so data outlives code versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


class TableError(ValueError):
    """A table a plugin may not own, or a `register_tables` result of the wrong shape."""


class Database:
    """The engine and session factory, plus which plugin owns which table."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        if self.url.get_backend_name() == "sqlite" and self.url.database not in (
            None,
            "",
            ":memory:",
        ):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(self.url, pool_pre_ping=False)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _tune_sqlite)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.owners: dict[str, str] = {}  # table name -> plugin

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def session(self) -> AsyncSession:
        return self.sessions()

    async def claim_tables(self, owner: str, prefix: str, declared: Any) -> list[Table]:
        """Check the plugin's tables are its own, create the missing ones, record the owner."""
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
        by_metadata: dict[int, tuple[MetaData, list[Table]]] = {}
        for table in tables:
            by_metadata.setdefault(id(table.metadata), (table.metadata, []))[1].append(table)
        async with self.engine.begin() as connection:
            for metadata, group in by_metadata.values():
                await connection.run_sync(metadata.create_all, tables=group, checkfirst=True)
        for table in tables:
            self.owners[table.name] = owner
        return tables

    def release_tables(self, tables: Iterable[Table]) -> None:
        for table in tables:
            self.owners.pop(table.name, None)

    async def close(self) -> None:
        await self.engine.dispose()


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


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; busy_timeout waits instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
