"""Each plugin owns its tables under its prefix; SQLite by default, PostgreSQL by URL."""

import os
import socket
import stat
import uuid

import anyio
import pytest

from mindframe.kernel.records import PluginState

pytestmark = pytest.mark.anyio
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def postgres_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


async def greet_and_count(kernel) -> int:
    response = await kernel.client.post("/api/hello/greetings", json={"name": "Grace"})
    assert response.status_code == 201, response.text
    return response.json()["count"]


async def test_data_outlives_a_restart_on_sqlite(boot_kernel, tmp_path):
    async with boot_kernel(["hello"]) as kernel:
        assert await greet_and_count(kernel) == 1
        assert (tmp_path / "data" / "mindframe.db").is_file()
    async with boot_kernel(["hello"]) as kernel:
        assert await greet_and_count(kernel) == 2


@pytest.fixture
def usual_umask():
    """The umask most shells have (022), so files come out world-readable unless made private."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_data_folder_and_sqlite_files_are_owner_only(boot_kernel, tmp_path, usual_umask):
    data = tmp_path / "data"
    async with boot_kernel(["hello"], data_dir=data) as kernel:
        await greet_and_count(kernel)
        files = [data / name for name in ("mindframe.db", "mindframe.db-wal", "mindframe.db-shm")]
        assert all(path.is_file() for path in files)
        assert mode(data) == 0o700
        assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}


async def test_a_database_left_world_readable_is_narrowed_at_start(boot_kernel, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "mindframe.db").touch(mode=0o644)
    (data / "mindframe.db").chmod(0o644)
    async with boot_kernel(["hello"], data_dir=data) as kernel:
        await greet_and_count(kernel)
        assert mode(data / "mindframe.db") == 0o600


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres-counter")  # one table in the shared database
@pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL is not running at 127.0.0.1:5432")
async def test_hello_runs_on_postgresql(boot_kernel, plugin_factory):
    from sqlalchemy import text

    async with boot_kernel(["hello"], database_url=POSTGRES) as kernel:
        assert kernel.runtime.database.url.get_backend_name() == "postgresql"
        async with kernel.runtime.database.engine.begin() as connection:
            await connection.execute(text("DELETE FROM hello_greetings WHERE name = 'Grace'"))
        assert await greet_and_count(kernel) == 1
        assert await greet_and_count(kernel) == 2
        async with kernel.runtime.database.engine.begin() as connection:
            rows = await connection.execute(
                text("SELECT count(*) FROM hello_greetings WHERE name = 'Grace'")
            )
            assert rows.scalar_one() == 2
            await connection.execute(text("DELETE FROM hello_greetings WHERE name = 'Grace'"))


async def test_table_outside_the_prefix_fails_the_plugin_with_the_rule(boot_kernel, plugin_factory):
    table = f"t_{uuid.uuid4().hex[:8]}"
    plugin_factory.make(
        "squatter",
        f"""
        from sqlalchemy import Column, Integer, MetaData, Table
        from mindframe.sdk import hookimpl
        metadata = MetaData()
        Table("{table}", metadata, Column("id", Integer, primary_key=True))

        @hookimpl
        def register_tables(ctx):
            return metadata
        """,
    )
    async with boot_kernel(["squatter"], builtin=False) as kernel:
        assert kernel.state("squatter") is PluginState.FAILED
        error = kernel.error("squatter")
        assert error.startswith("TableError in register_tables")
        assert (
            f"must be named with the plugin's prefix 'squatter_' (for example squatter_{table})"
            in error
        )


# --- ctx.transaction: a unit of synchronous work in one hop ----------------------------------

COUNTER = """
from sqlalchemy import Column, Integer, MetaData, String, Table
from mindframe.sdk import hookimpl

metadata = MetaData()
counters = Table(
    "counter_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
)

@hookimpl
def register_tables(ctx):
    return metadata
"""


def _table(kernel):
    return kernel.runtime.plugin("counter").code.module.counters


def _insert(session, table, name):
    from sqlalchemy import insert

    session.execute(insert(table).values(name=name))


def _names(session, table):
    from sqlalchemy import select

    return sorted(session.execute(select(table.c.name)).scalars())


class Refused(Exception):
    pass


def _insert_then_fail(session, table, name):
    _insert(session, table, name)
    session.flush()
    assert name in _names(session, table)  # seen inside the transaction
    raise Refused(name)


async def _exercise_transaction(kernel) -> None:
    from sqlalchemy import func, insert, select

    ctx = kernel.runtime.plugin("counter").context
    table = _table(kernel)

    await ctx.transaction(_insert, table, "committed")
    with pytest.raises(Refused):
        await ctx.transaction(_insert_then_fail, table, "rolled back")
    assert await ctx.transaction(_names, table) == ["committed"]

    async with ctx.session() as session:  # what one path wrote, the other reads
        rows = await session.execute(select(table.c.name))
        assert sorted(rows.scalars()) == ["committed"]
        await session.execute(insert(table).values(name="async"))
        await session.commit()
    assert await ctx.transaction(_names, table) == ["async", "committed"]

    async def many(worker: int) -> None:
        for n in range(10):
            await ctx.transaction(_insert, table, f"w{worker}-{n}")
            async with ctx.session() as session:  # interleaved with the async engine
                await session.execute(select(func.count()).select_from(table))

    with anyio.fail_after(60):  # no deadlock: writers wait on busy_timeout, not forever
        async with anyio.create_task_group() as group:
            for worker in range(20):
                group.start_soon(many, worker)
    names = await ctx.transaction(_names, table)
    assert len(names) == 2 + 200 and len(set(names)) == len(names)
    assert "transaction" not in ctx.ledger.counts()


async def test_transaction_commits_rolls_back_and_shares_data_on_sqlite(
    boot_kernel, plugin_factory
):
    plugin_factory.make("counter", COUNTER)
    async with boot_kernel(["counter"], builtin=False) as kernel:
        assert kernel.runtime.database.sync_engine is not None
        await _exercise_transaction(kernel)


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres-counter")  # one table in the shared database
@pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL is not running at 127.0.0.1:5432")
async def test_transaction_on_postgresql(boot_kernel, plugin_factory):
    from sqlalchemy import delete

    plugin_factory.make("counter", COUNTER)
    async with boot_kernel(["counter"], builtin=False, database_url=POSTGRES) as kernel:
        assert kernel.runtime.database.sync_engine is None
        async with kernel.runtime.database.engine.begin() as connection:
            await connection.execute(delete(_table(kernel)))
        await _exercise_transaction(kernel)
        async with kernel.runtime.database.engine.begin() as connection:
            await connection.execute(delete(_table(kernel)))


async def test_unload_waits_for_a_transaction_in_flight(boot_kernel, plugin_factory):
    import threading

    plugin_factory.make("counter", COUNTER)
    async with boot_kernel(["counter"], builtin=False) as kernel:
        ctx = kernel.runtime.plugin("counter").context
        table = _table(kernel)
        started, go_on = threading.Event(), threading.Event()

        def slow(session):
            started.set()
            go_on.wait(10)
            _insert(session, table, "slow")

        async def run() -> None:
            await ctx.transaction(slow)

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            await anyio.to_thread.run_sync(started.wait, 10)
            assert ctx.ledger.counts().get("transaction") == 1
            release = next(e for e in ctx.ledger.entries() if e.kind == "transaction").release
            with anyio.move_on_after(0.2) as waited:
                await release()
            assert waited.cancelled_caught  # still running: the release waits for it
            go_on.set()
            with anyio.fail_after(10):
                await release()
        assert "transaction" not in ctx.ledger.counts()
        assert await ctx.transaction(_names, table) == ["slow"]


def _insert_on_connection_then_fail(connection, table, name):
    from sqlalchemy import Connection

    assert isinstance(connection, Connection)  # Core, not an ORM Session
    _insert(connection, table, name)
    assert name in _names(connection, table)  # seen inside the transaction
    raise Refused(name)


def _insert_and_count(connection, table, name):
    from sqlalchemy import Connection, func, select

    assert isinstance(connection, Connection)
    _insert(connection, table, name)
    return connection.execute(select(func.count()).select_from(table)).scalar_one()


async def _exercise_core_transaction(kernel) -> None:
    ctx = kernel.runtime.plugin("counter").context
    table = _table(kernel)
    assert await ctx.transaction(_insert_and_count, table, "core", core=True) == 1
    with pytest.raises(Refused):
        await ctx.transaction(_insert_on_connection_then_fail, table, "rolled back", core=True)
    assert await ctx.transaction(_names, table) == ["core"]  # a Session sees what Core wrote

    async def many(worker: int) -> None:
        for n in range(10):
            await ctx.transaction(_insert_and_count, table, f"w{worker}-{n}", core=True)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for worker in range(20):
                group.start_soon(many, worker)
    names = await ctx.transaction(_names, table, core=True)
    assert len(names) == 1 + 200 and len(set(names)) == len(names)
    assert "transaction" not in ctx.ledger.counts()


async def test_transaction_on_a_core_connection_commits_and_rolls_back_on_sqlite(
    boot_kernel, plugin_factory
):
    plugin_factory.make("counter", COUNTER)
    async with boot_kernel(["counter"], builtin=False) as kernel:
        await _exercise_core_transaction(kernel)


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres-counter")  # one table in the shared database
@pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL is not running at 127.0.0.1:5432")
async def test_transaction_on_a_core_connection_on_postgresql(boot_kernel, plugin_factory):
    from sqlalchemy import delete

    plugin_factory.make("counter", COUNTER)
    async with boot_kernel(["counter"], builtin=False, database_url=POSTGRES) as kernel:
        async with kernel.runtime.database.engine.begin() as connection:
            await connection.execute(delete(_table(kernel)))
        await _exercise_core_transaction(kernel)
        async with kernel.runtime.database.engine.begin() as connection:
            await connection.execute(delete(_table(kernel)))


async def test_unload_waits_for_every_transaction_in_flight(boot_kernel, plugin_factory):
    """Two in flight: one running, one waiting for SQLite's write lock at its BEGIN."""
    import threading

    plugin_factory.make("counter", COUNTER)
    async with boot_kernel(["counter"], builtin=False) as kernel:
        ctx = kernel.runtime.plugin("counter").context
        table = _table(kernel)
        started, go_on = threading.Semaphore(0), [threading.Event(), threading.Event()]

        def slow(connection, n):
            started.release()
            go_on[n].wait(10)
            _insert(connection, table, f"slow {n}")

        async with anyio.create_task_group() as group:
            group.start_soon(lambda: ctx.transaction(slow, 0, core=True))
            await anyio.to_thread.run_sync(started.acquire, True, 10)
            group.start_soon(lambda: ctx.transaction(slow, 1, core=True))
            await anyio.sleep(0.05)
            assert ctx.ledger.counts().get("transaction") == 2
            first = next(e for e in ctx.ledger.entries() if e.kind == "transaction").release
            go_on[0].set()  # one ends; a release waits while any is still running
            await anyio.to_thread.run_sync(started.acquire, True, 10)
            with anyio.move_on_after(0.3) as waited:
                await first()
            assert waited.cancelled_caught
            go_on[1].set()
            with anyio.fail_after(10):
                await first()
        assert "transaction" not in ctx.ledger.counts()
        assert await ctx.transaction(_names, table) == ["slow 0", "slow 1"]


async def test_transactions_one_at_a_time_reuse_the_connection_used_last(
    boot_kernel, plugin_factory
):
    """Its page cache is still valid (in WAL mode SQLite drops a connection's cache when
    another one has written since), so a hot path does not re-read its pages each time."""
    plugin_factory.make("counter", COUNTER)
    async with boot_kernel(["counter"], builtin=False) as kernel:
        ctx = kernel.runtime.plugin("counter").context
        table = _table(kernel)
        engine = kernel.runtime.database.sync_engine
        held = [engine.connect() for _ in range(4)]  # four pooled connections
        for connection in held:
            connection.exec_driver_sql("SELECT 1")
            connection.close()

        def which(connection):
            _insert(connection, table, "x")
            return id(connection.connection.dbapi_connection)

        used = [await ctx.transaction(which, core=True) for _ in range(6)]
        assert len(set(used)) == 1


async def test_a_query_cancelled_midway_leaves_no_task_or_thread_behind(tmp_path):
    """A task cancelled inside a statement (a plugin stopping under a running read) has its
    connection invalidated; closing that connection must finish, not leave a close task
    that never completes (it hung the event loop's shutdown) or an aiosqlite thread."""
    import asyncio
    import threading

    from sqlalchemy import text

    from mindframe.kernel.storage import Database

    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'cancel.db'}")
    slow = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
        " SELECT count(*) FROM n"
    )
    threads_before = threading.active_count()
    tasks_before = asyncio.all_tasks()
    with anyio.move_on_after(0.2) as scope:
        async with database.session() as session:
            await session.execute(slow)
    assert scope.cancelled_caught
    for _ in range(100):  # the worker thread finishes the statement, then closes
        await anyio.sleep(0.05)
        leftovers = list(asyncio.all_tasks() - tasks_before)
        if not leftovers and threading.active_count() <= threads_before:
            break
    assert leftovers == []
    assert threading.active_count() <= threads_before, threading.enumerate()
    async with database.session() as session:  # the pool still serves
        assert (await session.execute(text("SELECT 1"))).scalar() == 1
    await database.engine.dispose()


async def test_claiming_tables_on_a_sqlite_file_is_one_hop_off_the_event_loop(tmp_path):
    """A fresh database's tables are hundreds of statements at boot (issue 16): on a SQLite
    file they run on the synchronous engine in one worker thread, none through aiosqlite
    (each of its statements is several thread hops)."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, event

    from mindframe.kernel.storage import Database

    metadata = MetaData()
    for name in ("notes_items", "notes_tags"):
        Table(name, metadata, Column("id", Integer, primary_key=True), Column("x", String(9)))
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    through: dict[str, list[str]] = {"aiosqlite": [], "sqlite3": []}

    def count(into: list[str]):
        return lambda _c, _cursor, statement, *_rest: into.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count(through["aiosqlite"]))
    assert database.sync_engine is not None
    event.listen(database.sync_engine, "before_cursor_execute", count(through["sqlite3"]))
    try:
        tables = await database.claim_tables("notes", "notes_", metadata)
    finally:
        await database.close()
    assert [t.name for t in tables] == ["notes_items", "notes_tags"]
    created = [s.split("(")[0].split()[-1] for s in through["sqlite3"] if "CREATE TABLE" in s]
    assert {"notes_items", "notes_tags"} <= set(created)
    assert through["aiosqlite"] == []


async def test_a_read_then_write_transaction_on_sqlite_sees_no_write_in_between(tmp_path):
    """`transaction` is one transaction from its first statement: a unit of work that reads
    a value and writes what it computed from it (an invoice's next number, a draft's
    status) must not interleave with another doing the same. Python's sqlite3 by itself
    starts the transaction only at the first write, so both read the same value and one
    increment was lost (billing finalised one draft twice under concurrency)."""
    import threading

    from sqlalchemy import text

    from mindframe.kernel.storage import Database

    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'counter.db'}")
    await database.transaction(
        lambda connection: connection.exec_driver_sql(
            "CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"
        ),
        core=True,
    )
    await database.transaction(
        lambda connection: connection.exec_driver_sql("INSERT INTO counter VALUES (1, 0)"),
        core=True,
    )
    all_read = threading.Event()
    readers = []

    def increment(connection):
        value = connection.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
        readers.append(value)
        all_read.wait(0.3)  # give the others every chance to read the same value
        connection.execute(text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1})

    try:
        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(lambda: database.transaction(increment, core=True))
        final = await database.transaction(
            lambda c: c.exec_driver_sql("SELECT value FROM counter").scalar_one(), core=True
        )
    finally:
        await database.close()
    assert final == 6, readers
    assert sorted(readers) == [0, 1, 2, 3, 4, 5]


async def test_a_read_only_transaction_reads_beside_a_writer_holding_the_lock(tmp_path):
    """`read_only=True` does not queue behind the write lock: the errors digest prepares its
    next batch while the last one is written, and a long report does not stall writers."""
    import threading

    from mindframe.kernel.storage import Database

    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'beside.db'}")
    await database.transaction(
        lambda c: c.exec_driver_sql("CREATE TABLE notes (text TEXT)"), core=True
    )
    writing, finish = threading.Event(), threading.Event()

    def slow_write(connection):
        connection.exec_driver_sql("INSERT INTO notes VALUES ('uncommitted')")
        writing.set()
        finish.wait(10)

    def count(connection):
        return connection.exec_driver_sql("SELECT count(*) FROM notes").scalar_one()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: database.transaction(slow_write, core=True))
            await anyio.to_thread.run_sync(writing.wait, 10)
            with anyio.fail_after(3):  # the writer holds the lock until told to finish
                assert await database.transaction(count, core=True, read_only=True) == 0
            after: list[int] = []  # a plain one waits its turn, then sees the write

            async def plain() -> None:
                after.append(await database.transaction(count, core=True))

            group.start_soon(plain)
            await anyio.sleep(0.3)
            assert after == []
            finish.set()
        assert after == [1]
    finally:
        await database.close()
