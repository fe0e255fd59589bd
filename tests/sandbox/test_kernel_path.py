"""The same behaviour through the kernel's own loading path: a plugin folder whose manifest
says `isolation = "process"`, booted, reloaded and health-checked by the runtime."""

from __future__ import annotations

import os
import sys

import pytest
from sandbox_testlib import eventually, write_plugin

from mindframe.kernel.bus import Event
from mindframe.kernel.records import PluginState
from plugins import BYSTANDER, WORKER, WORKER_PERMISSIONS

pytestmark = pytest.mark.anyio


class Ping(Event):
    topic = "sbx.ping"
    n: int


async def test_a_process_plugin_is_served_from_a_child(boot_kernel, plugin_factory):
    write_plugin(plugin_factory.root, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    plugin_factory.make("bystander", BYSTANDER)
    async with boot_kernel(["worker", "bystander"], builtin=False) as kernel:
        assert kernel.state("worker") is PluginState.ACTIVE, kernel.error("worker")
        body = (await kernel.client.get("/api/worker/hello")).json()
        assert body["pid"] != os.getpid()
        assert not [n for n in sys.modules if n.startswith("mindframe_plugins.worker")]
        await kernel.runtime.bus.publish(Ping(n=3))
        assert (await kernel.bus_probe.next("sbx.pong", timeout=5)).n == 30
        refused = (await kernel.client.post("/api/worker/publish-secret")).json()["refused"]
        assert "PermissionDenied" in refused
        crashed = await kernel.client.post("/api/worker/abort")
        assert crashed.status_code == 503
        assert (await kernel.client.get("/api/bystander/ok")).status_code == 200

        async def back() -> bool:
            response = await kernel.client.get("/api/worker/hello")
            return response.status_code == 200 and response.json()["pid"] != body["pid"]

        await eventually(back, timeout=15)
        health = (await kernel.runtime.health())["plugins"]["worker"]
        assert health["ok"] is True and health["restarts"] == 1
        assert health["audit_total"] >= 1


async def test_reload_restarts_the_child(boot_kernel, plugin_factory):
    write_plugin(plugin_factory.root, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel(["worker"], builtin=False) as kernel:
        before = (await kernel.client.get("/api/worker/hello")).json()["pid"]
        await kernel.runtime.bus.publish(Ping(n=1))
        await kernel.bus_probe.next("sbx.pong", timeout=5)
        result = await kernel.runtime.reload("worker")
        assert result.ok, result.error
        after = (await kernel.client.get("/api/worker/hello")).json()["pid"]
        assert after != before
        assert (await kernel.client.get("/api/worker/state")).json()["seen"] == [1]
