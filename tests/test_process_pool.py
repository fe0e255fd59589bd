"""`ctx.process_pool()`: a plugin's module-level functions run in worker processes of that
plugin version, beside the server's GIL; failures come back as errors, never as hangs."""

import os

import anyio
import pytest

pytestmark = pytest.mark.anyio

INIT = """
from mindframe.sdk import hookimpl

@hookimpl
def startup(ctx):
    ctx.provide(object, ctx.process_pool(size=2), name="pool")
"""

WORK = """
import os
import time

from .constants import VERSION


def version(): return VERSION
def pid(): return os.getpid()
def square(x): return x * x
def chatty(x):
    print("a stray print must not corrupt the answer" * 100)
    return x
def boom(x): raise ValueError(f"bad input {x}")
def die(): os._exit(3)
def slow(seconds):
    time.sleep(seconds)
    return os.getpid()
def unsendable(): return lambda: None
"""


def _make(plugin_factory, version: str = "1"):
    return plugin_factory.make(
        "crunch",
        INIT,
        files={"work.py": WORK, "constants.py": f"VERSION = {version!r}\n"},
    )


def _pool(kernel):
    return kernel.runtime.container.resolve(object, name="pool")


def _work():
    import mindframe_plugins.crunch.work as work

    return work


async def test_a_call_runs_in_another_process_and_returns_its_result(boot_kernel, plugin_factory):
    _make(plugin_factory)
    async with boot_kernel(["crunch"], builtin=False) as kernel:
        pool, work = _pool(kernel), _work()
        assert pool.workers == 0  # started on first use, not at boot
        assert await pool.run(work.square, 12) == 144
        child = await pool.run(work.pid)
        assert child != os.getpid()
        assert await pool.run(work.pid) == child  # the worker is kept for the next call
        assert await pool.run(work.chatty, "answer") == "answer"


async def test_failures_come_back_as_errors_and_the_pool_keeps_serving(boot_kernel, plugin_factory):
    from mindframe.sdk.processes import WorkerProcessError

    _make(plugin_factory)
    async with boot_kernel(["crunch"], builtin=False) as kernel:
        pool, work = _pool(kernel), _work()
        with pytest.raises(ValueError, match="bad input 7"):
            await pool.run(work.boom, 7)
        with pytest.raises(WorkerProcessError, match="exit code 3"):
            await pool.run(work.die)
        with pytest.raises(TypeError, match="cannot be sent back"):
            await pool.run(work.unsendable)
        with pytest.raises(Exception, match="pickle"):
            await pool.run(lambda: 1)  # not a module-level function: refused before sending
        assert await pool.run(work.square, 3) == 9


async def test_calls_run_side_by_side_up_to_the_size(boot_kernel, plugin_factory):
    _make(plugin_factory)
    async with boot_kernel(["crunch"], builtin=False) as kernel:
        pool, work = _pool(kernel), _work()
        pids: list[int] = []

        async def one() -> None:
            pids.append(await pool.run(work.slow, 0.5))

        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(one)
        assert len(set(pids)) == 2 and pool.workers == 2


async def test_a_reload_stops_the_workers_and_the_new_version_runs_its_own_code(
    boot_kernel, plugin_factory
):
    folder = _make(plugin_factory, "1")
    async with boot_kernel(["crunch"], builtin=False) as kernel:
        pool = _pool(kernel)
        assert await pool.run(_work().version) == "1"
        old = await pool.run(_work().pid)
        (folder / "constants.py").write_text("VERSION = '2'\n")
        response = await kernel.client.post("/api/kernel/plugins/crunch/reload")
        assert response.status_code == 200, response.text
        assert pool.workers == 0 and not _alive(old)
        new_pool = _pool(kernel)
        assert await new_pool.run(_work().version) == "2"


async def test_a_caller_cancelled_mid_call_stops_that_worker(boot_kernel, plugin_factory):
    _make(plugin_factory)
    async with boot_kernel(["crunch"], builtin=False) as kernel:
        pool, work = _pool(kernel), _work()
        busy = await pool.run(work.pid)
        with anyio.move_on_after(0.3):
            await pool.run(work.slow, 30)
        assert pool.workers == 0
        for _ in range(100):  # killed at once, reaped a moment later
            if not _alive(busy):
                break
            await anyio.sleep(0.05)
        assert not _alive(busy)
        assert await pool.run(work.square, 5) == 25


async def _answer_after_both_places_are_cancelled(pool, fn, *args, taken_after: float) -> int:
    """Both places taken by `fn(*args)` calls, a third caller waiting for one; the first two
    cancelled `taken_after` seconds in: what the third call answers (within 20 s)."""
    answers: list[int] = []

    async def waiting() -> None:
        await anyio.sleep(taken_after / 2)  # once both places are taken
        answers.append(await pool.run(_work().square, 6))

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(waiting)
            async with anyio.create_task_group() as taking:
                for _ in range(2):
                    taking.start_soon(pool.run, fn, *args)
                await anyio.sleep(taken_after)
                taking.cancel_scope.cancel()
    [answer] = answers
    return answer


async def test_a_caller_waiting_for_a_worker_gets_one_when_the_busy_callers_are_cancelled(
    boot_kernel, plugin_factory
):
    """A cancelled caller frees its worker's place at once: a caller waiting for a worker
    is never left waiting for a wake-up the cancellation skipped (it hung the errors digest
    during a reload)."""
    _make(plugin_factory)
    async with boot_kernel(["crunch"], builtin=False) as kernel:
        pool, work = _pool(kernel), _work()
        assert (
            await _answer_after_both_places_are_cancelled(pool, work.slow, 30, taken_after=1.0)
            == 36
        )


async def test_a_caller_waiting_for_a_worker_gets_one_when_the_starting_callers_are_cancelled(
    boot_kernel, plugin_factory, monkeypatch
):
    """Cancelled while their workers start: their places are free again at once."""
    from mindframe.kernel import process_pool

    start = process_pool._Worker.start.__func__

    async def slow_start(cls, settings):  # as on a loaded machine: a start takes a while
        await anyio.sleep(1.0)
        return await start(cls, settings)

    _make(plugin_factory)
    async with boot_kernel(["crunch"], builtin=False) as kernel:
        pool, work = _pool(kernel), _work()
        monkeypatch.setattr(process_pool._Worker, "start", classmethod(slow_start))
        assert (
            await _answer_after_both_places_are_cancelled(pool, work.square, 1, taken_after=0.5)
            == 36
        )


async def test_closing_the_pool_fails_the_callers_waiting_for_a_worker(boot_kernel, plugin_factory):
    from mindframe.sdk.processes import WorkerProcessError

    _make(plugin_factory)
    async with boot_kernel(["crunch"], builtin=False) as kernel:
        pool, work = _pool(kernel), _work()
        outcomes: list[str] = []

        async def call(seconds: float) -> None:
            try:
                await pool.run(work.slow, seconds)
                outcomes.append("answered")
            except WorkerProcessError:
                outcomes.append("failed")

        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                for _ in range(3):  # the third waits for a place
                    group.start_soon(call, 30)
                await anyio.sleep(0.5)
                await pool.close()
        assert outcomes == ["failed"] * 3


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_warm_starts_one_worker_ahead_of_the_first_call(boot_kernel, plugin_factory):
    _make(plugin_factory)
    async with boot_kernel(["crunch"], builtin=False) as kernel:
        pool, work = _pool(kernel), _work()
        await pool.warm()
        await pool.warm()  # one is alive: no second
        assert pool.workers == 1
        first = await pool.run(work.pid)
        assert await pool.run(work.pid) == first


LEDGER_INIT = """
from sqlalchemy import Column, Integer, MetaData, Table

from mindframe.sdk import hookimpl

metadata = MetaData()
Table("ledger_rows", metadata, Column("n", Integer, primary_key=True, autoincrement=False))


@hookimpl
def register_tables(ctx):
    return metadata


@hookimpl
def startup(ctx):
    ctx.provide(object, ctx.process_pool(), name="pool")
    ctx.provide(object, ctx, name="ctx")
"""

LEDGER_WORK = """
import os
import time

from sqlalchemy import column, insert, select, table

rows = table("ledger_rows", column("n"))


def add(connection, n):
    connection.execute(insert(rows).values(n=n))
    return os.getpid()


def add_then_fail(connection, n):
    connection.execute(insert(rows).values(n=n))
    raise ValueError(f"refused after writing {n}")


def add_then_die(connection, n):
    connection.execute(insert(rows).values(n=n))
    os._exit(5)


def add_slowly(connection, n, seconds):
    connection.execute(insert(rows).values(n=n))
    time.sleep(seconds)


def stored(connection):
    return sorted(connection.execute(select(rows.c.n)).scalars())
"""


def _make_ledger(plugin_factory):
    return plugin_factory.make("ledger", LEDGER_INIT, files={"work.py": LEDGER_WORK})


def _ledger(kernel):
    import mindframe_plugins.ledger.work as work

    resolve = kernel.runtime.container.resolve
    return resolve(object, name="pool"), resolve(object, name="ctx"), work


async def test_a_transaction_in_a_worker_commits_to_the_servers_database(
    boot_kernel, plugin_factory
):
    from mindframe.sdk.processes import WorkerProcessError

    _make_ledger(plugin_factory)
    async with boot_kernel(["ledger"], builtin=False) as kernel:
        pool, ctx, work = _ledger(kernel)
        assert pool.in_workers
        assert await pool.transaction(work.add, 1) != os.getpid()
        with pytest.raises(ValueError, match="refused after writing 2"):
            await pool.transaction(work.add_then_fail, 2)  # rolled back
        with pytest.raises(WorkerProcessError, match="exit code 5"):
            await pool.transaction(work.add_then_die, 3)  # died mid-transaction: nothing kept
        assert await pool.transaction(work.add, 4) != os.getpid()
        assert await ctx.transaction(work.stored, core=True, read_only=True) == [1, 4]
        assert await pool.transaction(work.stored, read_only=True) == [1, 4]


async def test_a_transaction_begun_runs_to_its_end_though_its_caller_is_cancelled(
    boot_kernel, plugin_factory
):
    _make_ledger(plugin_factory)
    async with boot_kernel(["ledger"], builtin=False) as kernel:
        pool, ctx, work = _ledger(kernel)
        await pool.warm()
        with anyio.move_on_after(0.2):
            await pool.transaction(work.add_slowly, 7, 0.6)  # waits for its commit
        assert await ctx.transaction(work.stored, core=True, read_only=True) == [7]


async def test_a_database_a_worker_cannot_open_runs_the_transaction_in_the_server(
    boot_kernel, plugin_factory
):
    _make_ledger(plugin_factory)
    async with boot_kernel(["ledger"], builtin=False, database_url="sqlite+aiosqlite://") as kernel:
        pool, ctx, work = _ledger(kernel)
        assert not pool.in_workers
        assert await pool.transaction(work.add, 1) == os.getpid()
        with pytest.raises(ValueError):
            await pool.transaction(work.add_then_fail, 2)
        assert await ctx.transaction(work.stored, core=True) == [1]
        assert pool.workers == 0
