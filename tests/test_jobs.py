"""Singleton jobs (`ctx.singleton`): run periodically or as a restarted loop, woken on
demand, kept running through errors, stopped with their plugin and started again by its
next version."""

from __future__ import annotations

import anyio
import pytest

from mindframe.sdk import Job

pytestmark = pytest.mark.anyio

TICKER = """
from mindframe.sdk import Job, hookimpl

state = {"calls": 0}


@hookimpl
async def startup(ctx):
    async def tick():
        state["calls"] += 1
        if state["calls"] == 2:
            raise RuntimeError("second call fails")

    job = ctx.singleton("tick", tick, every=EVERY)
    ctx.provide(Job, job, name="ticker.job")
"""


def ticker(every: float) -> str:
    return TICKER.replace("EVERY", repr(every))


def job_of(kernel) -> Job:
    return kernel.runtime.container.by_key("ticker.job").get()


async def until(condition, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


async def test_a_periodic_job_runs_at_once_on_wake_and_survives_an_error(
    boot_kernel, plugin_factory
):
    plugin_factory.make("ticker", ticker(every=3600))
    async with boot_kernel(["ticker"], builtin=False) as kernel:
        job = job_of(kernel)
        await until(lambda: job.runs == 1)  # the first run starts with the plugin
        job.wake()
        await until(lambda: job.runs == 2)  # not an hour later
        assert job.last_error == "RuntimeError: second call fails"
        job.wake()
        await until(lambda: job.runs == 3)
        assert job.last_error is None


async def test_a_job_stops_with_its_plugin_and_the_next_version_runs_its_own(
    boot_kernel, plugin_factory
):
    plugin_factory.make("ticker", ticker(every=0.01))
    async with boot_kernel(["ticker"], builtin=False) as kernel:
        old = job_of(kernel)
        await until(lambda: old.runs >= 3)
        result = await kernel.runtime.reload("ticker")
        assert result.ok, result.error  # the name is free again for the new version
        stopped_at = old.runs
        new = job_of(kernel)
        assert new is not old
        await until(lambda: new.runs >= 3)
        assert old.runs == stopped_at


async def test_one_name_is_one_job(boot_kernel, plugin_factory):
    plugin_factory.make(
        "twice",
        """
        from mindframe.sdk import hookimpl

        @hookimpl
        async def startup(ctx):
            async def nothing():
                pass
            ctx.singleton("sweep", nothing, every=60)
            ctx.singleton("sweep", nothing, every=60)
        """,
    )
    async with boot_kernel(["twice"], builtin=False) as kernel:
        assert "already runs a job named 'sweep'" in kernel.error("twice")


async def test_a_loop_job_that_returns_is_started_again():
    calls = []

    async def loop() -> None:
        calls.append(anyio.current_time())

    job = Job("p", "loop", loop, None, lambda error, context: None)
    with anyio.move_on_after(1.0):
        await job.run()
    assert len(calls) >= 3  # restarted after 0.1 s, 0.5 s…: not once and never again
    assert calls[1] - calls[0] >= 0.09
