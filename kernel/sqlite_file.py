"""A SQLite file through plain `sqlite3`: the engine `ctx.transaction` runs units of work on,
in the server (a worker thread) and in a process pool's workers (`pool.transaction`).

One place for how such a connection is set up (WAL, busy timeout, BEGIN IMMEDIATE) so a
worker process writes to the file exactly as the server does. Kept free of the async engine
and of the rest of the kernel: a worker process imports this and SQLAlchemy's core only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

T = TypeVar("T")
POOL_SIZE = 4  # connections of the one-hop SQLite path (plus as many again on demand)

_this_thread = threading.local()
"""`reading`: the transaction this thread is about to begin only reads."""


def is_file(url: URL) -> bool:
    """Whether `url` is a SQLite database in a file (which another process can open)."""
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def file_engine(url: URL) -> Engine:
    """The synchronous engine for the SQLite file `url`."""
    engine = create_engine(
        url.set(drivername="sqlite+pysqlite"),
        poolclass=QueuePool,
        pool_size=POOL_SIZE,
        max_overflow=POOL_SIZE,
        # the connection returned last is taken next: in WAL mode SQLite drops a
        # connection's page cache when another has written since its last use, so
        # taking them in turn re-read every page a transaction touches (~20 reads a
        # billing webhook); this way calls that come one at a time keep one warm
        pool_use_lifo=True,
        connect_args={"check_same_thread": False},
    )
    event.listen(engine, "connect", tune)
    # BEGIN is ours: by itself Python's sqlite3 opens a transaction only at the first
    # write, so the reads before it saw no lock and another writer could slip between a
    # read and the write computed from it. The dialect's own hook, not a `begin` event:
    # a listener switches SQLAlchemy (and mindframe.sdk.direct_sql) onto slower paths
    engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign]
    return engine


def tune(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; busy_timeout waits instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def run_in_transaction(
    engine: Engine, fn: Callable[..., T], args: tuple[Any, ...], read_only: bool
) -> T:
    """`fn` in one session and transaction (commit, or rollback)."""
    _this_thread.reading = read_only
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return fn(session, *args)


def run_on_connection(
    engine: Engine, fn: Callable[..., T], args: tuple[Any, ...], read_only: bool
) -> T:
    """`fn` on one Core connection in one transaction."""
    _this_thread.reading = read_only
    with engine.begin() as connection:
        return fn(connection, *args)


def _begin_immediate(dbapi_connection: Any) -> None:
    """Take the write lock at BEGIN (waiting up to busy_timeout for it), not at the first
    write: a deferred transaction that read, then found another had written since, would
    fail with SQLITE_BUSY instead of waiting. A transaction declared read-only takes a
    snapshot instead (plain BEGIN), beside the writer."""
    reading = getattr(_this_thread, "reading", False)
    dbapi_connection.execute("BEGIN" if reading else "BEGIN IMMEDIATE")


_ENGINES: dict[str, Engine] = {}


def in_worker_process(url: str, fn: Callable[..., T], args: tuple[Any, ...], read_only: bool) -> T:
    """In a process pool's worker: `fn(connection, *args)` in one transaction on the SQLite
    file `url`, on an engine the worker keeps for its life."""
    engine = _ENGINES.get(url)
    if engine is None:
        from sqlalchemy.engine import make_url

        engine = _ENGINES[url] = file_engine(make_url(url))
    return run_on_connection(engine, fn, args, read_only)
