"""Under load the history writer builds and writes its rows in a worker process (off the
server's GIL), with the same outcome: every run in the history once, the audit chain whole;
and a transaction that fails there (its worker died) loses no run that was already answered:
those writes go again, first, and a later transaction cannot move the spool past them."""

from contextlib import asynccontextmanager

import anyio
import pytest

from mindframe.sdk.agents import AgentRegistry

from .test_registry import verify

pytestmark = pytest.mark.anyio

AGENT = "health-news2"  # a run that ends in one go: answered once durable in the spool
VITALS = {"respiration_rate": 18, "spo2": 96, "systolic_bp": 120, "pulse": 80, "temperature": 37.1}
IN_WORKERS = {"agents": {"writer_process_min_batch": 2}}


async def _burst(nurse, count: int, first: int) -> None:
    answers: list[int] = []

    async def run(n: int) -> None:
        body = {**VITALS, "patient_id": f"p-{n}"}
        answers.append((await nurse.post(f"/api/{AGENT}/run", json=body)).status_code)

    async with anyio.create_task_group() as group:
        for n in range(first, first + count):
            group.start_soon(run, n)
    assert answers == [200] * count


async def _history(kernel) -> list[str]:
    reader = await kernel.as_user(["agents.read"])
    runs = (await reader.get(f"/api/agents/{AGENT}/runs")).json()
    return [run["run_id"] for run in runs]


def _counting(pool, calls: list[int], *, fail_first: bool = False):
    """Count the transactions `pool` takes (by their number of writes); with `fail_first`,
    the first one's worker dies before it commits."""
    transaction = pool.transaction

    async def counted(fn, secret, writes, **options):
        calls.append(len(writes))
        if fail_first and len(calls) == 1:
            await pool.run(_die)  # the worker process ends mid-call, as if killed
        return await transaction(fn, secret, writes, **options)

    pool.transaction = counted


def _die() -> None:
    import os

    os._exit(9)


@asynccontextmanager
async def writing_in_a_worker(boot_kernel, data_dir, *, fail_first: bool = False):
    """The agent and auth served, the writer's worker started, its transactions counted in
    `calls`; yields (kernel, a nurse's client, the store, calls)."""
    async with boot_kernel([AGENT, "auth"], data_dir=data_dir, settings=IN_WORKERS) as kernel:
        nurse = await kernel.as_user([f"{AGENT}.run"])
        store = kernel.runtime.container.resolve(AgentRegistry).store
        pool, calls = store._pool, []
        assert pool is not None and pool.in_workers
        await pool.warm()
        _counting(pool, calls, fail_first=fail_first)
        yield kernel, nurse, store, calls


def assert_chain_whole(data_dir, rows: int) -> None:
    whole = verify(data_dir)
    assert whole.stdout.strip() == f"access audit: {rows} rows, the chain is whole", whole.stderr


async def test_batches_are_written_by_a_worker_process_with_the_chain_whole(boot_kernel, tmp_path):
    async with writing_in_a_worker(boot_kernel, tmp_path / "data") as (kernel, nurse, store, calls):
        await _burst(nurse, 60, 0)
        await store.writer.settled()
        assert sum(calls) >= 30 and store._pool.workers == 1  # most went to the worker
        assert len(set(await _history(kernel))) == 60
    assert_chain_whole(tmp_path / "data", 60)


async def test_a_failed_transaction_loses_no_answered_run(boot_kernel, tmp_path):
    failing = writing_in_a_worker(boot_kernel, tmp_path / "data", fail_first=True)
    async with failing as (kernel, nurse, store, calls):
        await _burst(nurse, 40, 0)
        await _burst(nurse, 40, 40)  # later transactions move the spool's cursor
        with anyio.fail_after(30):
            while store.writer.depth or store.writer.last_error:
                await anyio.sleep(0.05)
        assert calls  # the first transaction went to the worker, which died
        assert len(set(await _history(kernel))) == 80  # the failed batch's runs too
        health = (await kernel.client.get("/health")).json()["plugins"]["agents"]
        assert health["ok"] and health["last_error"] is None
    assert_chain_whole(tmp_path / "data", 80)


async def test_runs_the_database_refused_until_the_stop_are_written_at_the_next_start(
    boot_kernel, tmp_path
):
    data_dir = tmp_path / "data"
    async with boot_kernel([AGENT, "auth"], data_dir=data_dir) as kernel:
        nurse = await kernel.as_user([f"{AGENT}.run"])
        store = kernel.runtime.container.resolve(AgentRegistry).store

        async def refused(items):
            raise OSError("disk full")

        store.writer._transact = refused  # every transaction fails, to the end
        await _burst(nurse, 12, 0)  # answered: durable in the spool
        with anyio.fail_after(10):
            while store.writer.last_error is None:
                await anyio.sleep(0.02)
    async with boot_kernel([AGENT, "auth"], data_dir=data_dir) as kernel:
        store = kernel.runtime.container.resolve(AgentRegistry).store
        assert len(await store.history(AGENT, limit=100)) == 12  # replayed from the spool
    assert_chain_whole(data_dir, 12)
