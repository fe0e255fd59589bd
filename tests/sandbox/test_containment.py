"""Containment: a crashing, hanging or greedy sandboxed plugin is restarted with backoff and
reported, and nothing else in the kernel notices."""

from __future__ import annotations

import logging
import signal
import time

import pytest
from sandbox_testlib import eventually, proxy_of, write_plugin

from mindframe.kernel.bus import Event
from mindframe.kernel.records import PluginState
from mindframe.sandbox.limits import HEARTBEAT_INTERVAL
from mindframe.sandbox.output import BURST, LINE_MAX, RATE
from plugins import BYSTANDER, HOSTILE, WORKER, WORKER_PERMISSIONS

pytestmark = pytest.mark.anyio


async def _restarted(kernel, proxy, old_pid: int) -> dict:
    """Wait until a new child answers, and return the proxy's details."""

    async def up() -> bool:
        response = await kernel.client.get("/api/worker/hello")
        return response.status_code == 200 and response.json()["pid"] != old_pid

    await eventually(up, timeout=15)
    return proxy.details()


class Ping(Event):
    topic = "sbx.ping"
    n: int


async def test_crashes_restart_the_child_with_backoff_and_spare_other_plugins(
    boot_kernel, plugin_factory
):
    plugin_factory.make("bystander", BYSTANDER)
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel(["bystander", "worker"], builtin=False) as kernel:
        proxy = proxy_of(kernel, "worker")
        expected = {
            "/abort": "aborted (SIGABRT)",
            "/segfault": "segmentation fault (SIGSEGV)",
            "/exit": "crashed: SystemExit: the plugin gave up",
        }
        for index, (path, reason) in enumerate(expected.items(), start=1):
            pid = proxy.details()["pid"]
            crashed = await kernel.client.post(f"/api/worker{path}")
            assert crashed.status_code == 503
            assert crashed.headers["retry-after"] == "1"
            assert reason in crashed.json()["detail"]
            health = (await kernel.runtime.health())["plugins"]["worker"]
            if health["child"] == "restarting":  # not back yet: the reason is shown
                assert health["ok"] is False and reason in health["reason"]
                down = await kernel.client.get("/api/worker/hello")
                assert down.status_code in (200, 503)
            # the other plugin never noticed
            assert (await kernel.client.get("/api/bystander/ok")).json() == {"ok": True}
            details = await _restarted(kernel, proxy, pid)
            assert details["restarts"] == index
            assert reason in details["exits"][-1]["reason"]
        backoffs = [exit["backoff"] for exit in proxy.details()["exits"]]
        assert backoffs == sorted(backoffs) and backoffs[-1] > backoffs[0]
        assert kernel.state("worker") is PluginState.ACTIVE
        assert kernel.state("bystander") is PluginState.ACTIVE
        assert (await kernel.runtime.health())["plugins"]["worker"]["ok"] is True


@pytest.mark.slow
async def test_a_hung_child_is_killed_and_restarted(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel(["worker"], builtin=False) as kernel:
        proxy = proxy_of(kernel, "worker")
        pid = proxy.details()["pid"]
        hung = await kernel.client.post("/api/worker/hang")
        assert hung.status_code == 503
        assert "hung: no heartbeat for 1.5 s; killed" in hung.json()["detail"]
        details = await _restarted(kernel, proxy, pid)
        assert details["restarts"] == 1


@pytest.mark.slow
async def test_memory_limit_marks_it_failed_with_the_reason_then_restarts(
    boot_kernel, plugin_factory
):
    limits = """
    [settings.sandbox]
    memory_mb = 400
    heartbeat_timeout = 1.5
    backoff_initial = 1.0
    """
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS, limits=limits)
    async with boot_kernel(["worker"], builtin=False) as kernel:
        proxy = proxy_of(kernel, "worker")
        pid = proxy.details()["pid"]
        hog = await kernel.client.post("/api/worker/hog")
        assert hog.status_code == 503
        assert "ran out of memory (MemoryError; memory_mb = 400)" in hog.json()["detail"]
        health = (await kernel.runtime.health())["plugins"]["worker"]
        assert health["ok"] is False
        assert "memory_mb = 400" in health["reason"]
        await _restarted(kernel, proxy, pid)


@pytest.mark.slow
async def test_cpu_limit_kills_the_child_with_the_reason(boot_kernel, plugin_factory):
    limits = """
    [settings.sandbox]
    cpu_seconds = 3
    heartbeat_timeout = 20
    backoff_initial = 0.2
    """
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS, limits=limits)
    async with boot_kernel(["worker"], builtin=False) as kernel:
        proxy = proxy_of(kernel, "worker")
        pid = proxy.details()["pid"]
        spun = await kernel.client.post("/api/worker/spin")
        assert spun.status_code == 503
        assert "exceeded its CPU limit (cpu_seconds = 3) (SIGXCPU)" in spun.json()["detail"]
        await _restarted(kernel, proxy, pid)


async def test_reload_is_a_restart_of_the_child_with_state_handed_over(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel(["worker"], builtin=False) as kernel:
        old = proxy_of(kernel, "worker")
        old_pid = old.details()["pid"]
        await kernel.runtime.bus.publish(Ping(n=1))
        await kernel.bus_probe.next("sbx.pong", timeout=5)

        response = await kernel.client.post("/api/kernel/plugins/worker/reload")
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True
        assert old.supervisor.child.process.returncode is not None  # the old child is gone
        new = proxy_of(kernel, "worker")
        assert new is not old and new.details()["pid"] not in (None, old_pid)
        assert kernel.state("worker") is PluginState.ACTIVE

        await kernel.runtime.bus.publish(Ping(n=2))
        await kernel.bus_probe.next("sbx.pong", timeout=5)
        hello = (await kernel.client.get("/api/worker/hello")).json()
        assert hello["pid"] == new.details()["pid"]
        assert (await kernel.client.get("/api/worker/state")).json()["seen"] == [1, 2]
        assert [s.owner for s in kernel.runtime.bus.subscriptions("worker")] == ["worker"]

        result = await kernel.runtime.reload("worker")  # the runtime's own call, again
        assert result.ok, result.error
        assert (await kernel.client.get("/api/worker/state")).json()["seen"] == [1, 2]


async def test_the_watchdog_kills_a_hung_child_within_its_heartbeat_timeout(
    boot_kernel, plugin_factory
):
    timeout = 1.0
    limits = f"""
    [settings.sandbox]
    heartbeat_timeout = {timeout}
    backoff_initial = 0.2
    """
    write_plugin(plugin_factory, "hostile", HOSTILE, limits=limits)
    async with boot_kernel(["hostile"], builtin=False) as kernel:
        child = proxy_of(kernel, "hostile").supervisor.child
        hung_at = time.monotonic()
        response = await kernel.client.post("/api/hostile/hang")
        answered_at = time.monotonic()
        assert response.status_code == 503
        assert child.process.returncode == -signal.SIGKILL
        # Its last heartbeat may precede the hang by up to one interval, and the watchdog
        # looks every half interval; 0.5 s more for killing, reaping and answering.
        elapsed = answered_at - hung_at
        assert timeout - HEARTBEAT_INTERVAL <= elapsed <= timeout + HEARTBEAT_INTERVAL / 2 + 0.5


async def test_a_flood_on_stdout_is_cut_and_rate_limited_in_the_log(
    boot_kernel, plugin_factory, caplog
):
    caplog.set_level(logging.INFO, logger="mindframe.sandbox.output")

    def output(level: int) -> list:
        return [
            r.args[1] for r in caplog.records if r.name.endswith("output") and r.levelno == level
        ]

    def lines() -> list[str]:
        return output(logging.INFO)

    def suppressed() -> list[int]:
        return output(logging.WARNING)  # `… suppressed N bytes`

    write_plugin(plugin_factory, "hostile", HOSTILE)
    async with boot_kernel(["hostile"], builtin=False) as kernel:
        await kernel.client.post("/api/hostile/print-line/1000000")
        long_line = await eventually(lambda: [line for line in lines() if "[cut" in line])
        assert long_line == ["L" * LINE_MAX + f" … [cut {1000000 - LINE_MAX} bytes]"]
        caplog.clear()

        started = time.monotonic()
        flood = await kernel.client.post("/api/hostile/print/20")
        written = flood.json()["written"]
        assert written > 20_000_000

        def accounted() -> bool:  # every byte either logged (with its newline) or counted
            return sum(suppressed()) + sum(len(line) + 1 for line in lines()) == written

        await eventually(accounted)
        elapsed = time.monotonic() - started
        logged = sum(len(line) for line in lines())
        assert logged <= BURST + RATE * elapsed + LINE_MAX
        assert (await kernel.client.get("/api/hostile/who")).status_code == 200
