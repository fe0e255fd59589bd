"""Management calls on one plugin at once (reload, enable, disable): each waits its turn,
so none leaves the plugin half-started with its service registered twice."""

import anyio
import pytest

from mindframe.kernel.records import PluginState

pytestmark = pytest.mark.anyio

ROUNDS = 50

PROVIDER = """
from typing import Any
from litestar import get
from litestar.di import NamedDependency
from sqlalchemy import Column, Integer, MetaData, Table
from mindframe.sdk import PluginContext, hookimpl

metadata = MetaData()
Table("provider_counts", metadata, Column("id", Integer, primary_key=True))

class Counter:
    def __init__(self) -> None:
        self.value = 0

@get("/count")
async def count(counter: NamedDependency[Counter]) -> dict[str, int]:
    counter.value += 1
    return {"count": counter.value}

@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(Counter, Counter())

@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return metadata  # claiming tables awaits the database: a call in flight yields here

@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [count]
"""


async def test_concurrent_reload_enable_and_disable_leave_the_plugin_serving(
    boot_kernel, plugin_factory
):
    plugin_factory.make("provider", PROVIDER)
    async with boot_kernel(["provider"], builtin=False) as kernel:
        runtime = kernel.runtime
        owned_when_fresh = runtime.plugin("provider").context.ledger.counts()
        statuses: list[int] = []

        async def call(action: str) -> None:
            response = await kernel.client.post(f"/api/kernel/plugins/provider/{action}")
            statuses.append(response.status_code)

        for _ in range(ROUNDS):
            async with anyio.create_task_group() as group:
                for action in ("reload", "enable", "reload", "disable", "enable", "reload"):
                    group.start_soon(call, action)
            await call("enable")
            record = runtime.plugin("provider")
            assert record.state is PluginState.ACTIVE, record.error
            response = await kernel.client.get("/api/provider/count")
            assert response.status_code == 200, response.text
        assert set(statuses) == {200}
        assert [r.key for r in runtime.container.registrations(owner="provider")] == ["counter"]
        assert runtime.plugin("provider").context.ledger.counts() == owned_when_fresh


async def test_disable_and_enable_recover_a_plugin_left_with_a_lost_context(
    boot_kernel, plugin_factory
):
    plugin_factory.make("provider", PROVIDER)
    async with boot_kernel(["provider"], builtin=False) as kernel:
        runtime = kernel.runtime
        record = runtime.plugin("provider")
        await runtime.disable("provider")
        record.state = PluginState.LOADED
        # the race management calls now prevent, on the lifecycle itself: the second start
        # replaces the first one's context, whose Counter nobody can release any more
        async with anyio.create_task_group() as group:
            group.start_soon(runtime.lifecycle.start, record)
            group.start_soon(runtime.lifecycle.start, record)
        assert (await kernel.client.post("/api/kernel/plugins/provider/disable")).status_code == 200
        assert (await kernel.client.post("/api/kernel/plugins/provider/enable")).status_code == 200
        assert record.state is PluginState.ACTIVE, record.error
        assert (await kernel.client.get("/api/provider/count")).json() == {"count": 1}
