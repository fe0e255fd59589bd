"""Start order, stop order, the ownership ledger, enable and disable."""

import json

import pytest

from mindframe.kernel.records import PluginState

pytestmark = pytest.mark.anyio

RECORDER = """
from pathlib import Path
from mindframe.sdk import PluginContext, hookimpl

@hookimpl
async def startup(ctx: PluginContext) -> None:
    with open(ctx.settings["log"], "a") as log:
        log.write(f"start {ctx.name}\\n")

@hookimpl
async def shutdown(ctx: PluginContext) -> None:
    with open(ctx.settings["log"], "a") as log:
        log.write(f"stop {ctx.name}\\n")
"""


async def test_plugins_start_in_dependency_order_and_stop_in_reverse(
    boot_kernel, plugin_factory, tmp_path
):
    log = tmp_path / "order.log"
    plugin_factory.make("alpha", RECORDER, requires=["middle"])
    plugin_factory.make("middle", RECORDER, requires=["zeta>=1"])
    plugin_factory.make("zeta", RECORDER, version="1.5")
    settings = {name: {"log": str(log)} for name in ("alpha", "middle", "zeta")}
    async with boot_kernel(["alpha"], builtin=False, settings=settings) as kernel:
        assert {kernel.state(n) for n in ("alpha", "middle", "zeta")} == {PluginState.ACTIVE}
    assert log.read_text().split("\n")[:-1] == [
        "start zeta",
        "start middle",
        "start alpha",
        "stop alpha",
        "stop middle",
        "stop zeta",
    ]


HOARDER = """
from typing import Any
import anyio
from litestar import get
from sqlalchemy import Column, Integer, MetaData, Table
from mindframe.sdk import Event, PluginContext, hookimpl

metadata = MetaData()
things = Table("hoarder_things", metadata, Column("id", Integer, primary_key=True))
state = {"ticks": 0, "task_cancelled": False, "unload_called": False}

class Hoard:
    pass

class Poked(Event):
    topic = "hoarder.poked"

@get("/ticks")
async def ticks() -> dict[str, int]:
    return {"ticks": state["ticks"]}

async def tick() -> None:
    try:
        while True:
            state["ticks"] += 1
            await anyio.sleep(0.01)
    except anyio.get_cancelled_exc_class():
        state["task_cancelled"] = True
        raise

async def on_poke(event: Poked) -> None:
    pass

@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(Hoard, Hoard())

@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return metadata

@hookimpl
def register_subscriptions(ctx: PluginContext) -> None:
    ctx.subscribe("hoarder.*", on_poke)

@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [ticks]

@hookimpl
async def startup(ctx: PluginContext) -> None:
    ctx.spawn(tick)
    ctx.on_unload(lambda: state.update(unload_called=True), "flag")
"""


async def test_disabling_releases_exactly_what_the_plugin_acquired(boot_kernel, plugin_factory):
    plugin_factory.make("hoarder", HOARDER)
    plugin_factory.make("bystander", "from mindframe.sdk import hookimpl\n")
    async with boot_kernel(["hoarder", "bystander"], builtin=False) as kernel:
        runtime = kernel.runtime
        ctx = runtime.plugin("hoarder").context
        assert ctx.ledger.counts() == {
            "service": 1,
            "table": 1,
            "subscription": 1,
            "routes": 1,
            "task": 1,
            "callback": 1,
        }
        module = runtime.plugin("hoarder").code.module
        assert (await kernel.client.get("/api/hoarder/ticks")).status_code == 200
        bus_owners = {s["owner"] for s in runtime.bus.stats()["subscriptions"]}
        assert "hoarder" in bus_owners

        response = await kernel.client.post("/api/kernel/plugins/hoarder/disable")
        assert response.status_code == 200
        assert response.json()["stopped"] == ["hoarder"]

        assert len(ctx.ledger) == 0
        assert runtime.container.registrations(owner="hoarder") == []
        assert "hoarder" not in runtime.dispatcher.mounts
        assert "hoarder" not in runtime.database.owners.values()
        assert not any(s["owner"] == "hoarder" for s in runtime.bus.stats()["subscriptions"])
        assert module.state["task_cancelled"] and module.state["unload_called"]
        ticks = module.state["ticks"]
        assert (await kernel.client.get("/api/hoarder/ticks")).status_code == 503
        assert module.state["ticks"] == ticks
        assert kernel.state("bystander") is PluginState.ACTIVE

        response = await kernel.client.post("/api/kernel/plugins/hoarder/enable")
        assert response.json()["started"] == ["hoarder"]
        assert (await kernel.client.get("/api/hoarder/ticks")).status_code == 200


async def test_disable_stops_dependents_first_and_enable_brings_them_back(
    boot_kernel, plugin_factory, tmp_path
):
    log = tmp_path / "order.log"
    plugin_factory.make("base", RECORDER)
    plugin_factory.make("top", RECORDER, requires=["base"])
    settings = {n: {"log": str(log)} for n in ("base", "top")}
    async with boot_kernel(["top"], builtin=False, settings=settings) as kernel:
        log.write_text("")
        stopped = (await kernel.client.post("/api/kernel/plugins/base/disable")).json()["stopped"]
        assert stopped == ["top", "base"]
        assert log.read_text() == "stop top\nstop base\n"
        assert kernel.error("top") == "held back: requires 'base', which is disabled"
        started = (await kernel.client.post("/api/kernel/plugins/base/enable")).json()["started"]
        assert started == ["base", "top"]
        assert kernel.state("top") is PluginState.ACTIVE and kernel.error("top") is None


async def test_unknown_plugin_in_management_api_is_a_404_problem(boot_kernel):
    async with boot_kernel([], builtin=False) as kernel:
        response = await kernel.client.post("/api/kernel/plugins/ghost/disable")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert json.loads(response.text)["detail"] == "no plugin named 'ghost'"


async def test_disabled_setting_keeps_a_plugin_from_starting(boot_kernel, plugin_factory):
    plugin_factory.make("quiet", "")
    plugin_factory.make("loud", "")
    async with boot_kernel(None, builtin=False, kernel_settings={"disabled": ["quiet"]}) as kernel:
        assert kernel.state("quiet") is PluginState.DISABLED
        assert kernel.state("loud") is PluginState.ACTIVE


async def test_ledger_stops_background_tasks_before_anything_they_use():
    from mindframe.kernel.ledger import Ledger

    released = []
    ledger = Ledger("poller")
    ledger.record("service", "cache", lambda: released.append("service"))
    ledger.record("task", "poll", lambda: released.append("task"))
    ledger.record("session", "AsyncSession", lambda: released.append("session"))
    ledger.record("subscription", "x.*", lambda: released.append("subscription"))
    assert await ledger.release_all() == []
    assert released == ["task", "subscription", "session", "service"]
    assert len(ledger) == 0
