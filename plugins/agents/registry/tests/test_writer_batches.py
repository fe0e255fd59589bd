"""The history writer takes at most `MAX_BATCH` writes a transaction: it holds SQLite's write
lock while it runs, and a backlog of thousands in one transaction held it for seconds, so
another plugin's writer (the auth plugin recording a token's use) waited out its busy
timeout and failed its request with "database is locked"."""

import anyio
import pytest

from mindframe.sdk.agents import AgentRegistry

pytestmark = pytest.mark.anyio

AGENT = "demo-refill"
DUE = {"patient_id": "p-1001", "medication": "atorvastatin", "days_left": 3}


async def test_a_backlog_is_written_in_transactions_of_at_most_max_batch(boot_kernel):
    from mindframe_plugins.agents.writer import MAX_BATCH

    async with boot_kernel([AGENT, "auth"]) as kernel:
        nurse = await kernel.as_user([f"{AGENT}.run"])
        store = kernel.runtime.container.resolve(AgentRegistry).store
        sizes: list[int] = []
        written = store.writer._done

        def counted(items, committed):
            sizes.append(len(items))
            written(items, committed)

        store.writer._done = counted
        go_on = anyio.Event()
        transact = store.writer._transact

        async def held(items):  # the first transaction waits for the backlog
            with anyio.fail_after(30):
                await go_on.wait()
            await transact(items)

        store.writer._transact = held
        try:
            runs = MAX_BATCH * 2 + 50
            answers: list[int] = []

            async def run() -> None:
                answers.append((await nurse.post(f"/api/{AGENT}/run", json=DUE)).status_code)

            async with anyio.create_task_group() as group:
                for _ in range(runs):
                    group.start_soon(run)
                with anyio.fail_after(30):
                    while store.writer.depth < runs:
                        await anyio.sleep(0.05)
                go_on.set()
            await store.writer.settled()
        finally:
            go_on.set()
        assert answers == [200] * runs
        assert sum(sizes) >= runs
        assert max(sizes) <= MAX_BATCH, sizes
