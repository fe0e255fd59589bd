"""The proxy module driven by the kernel's own Lifecycle: routes, streaming bodies, the bus,
permissions and health, with the plugin in a real child process."""

from __future__ import annotations

import os
import sys

import pytest
from sandbox_testlib import eventually, load_record, proxy_of, start_sandboxed, write_plugin

from mindframe.kernel.bus import Event
from mindframe.kernel.records import PluginState
from plugins import BYSTANDER, FAILING_STARTUP, WORKER, WORKER_PERMISSIONS

pytestmark = pytest.mark.anyio


class Ping(Event):
    topic = "sbx.ping"
    n: int


async def test_route_is_served_from_the_child_under_the_plugin_prefix(
    boot_kernel, plugin_factory, sandbox_root
):
    folder = write_plugin(sandbox_root, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with (
        boot_kernel([], builtin=False) as kernel,
        start_sandboxed(kernel, folder) as record,
    ):
        assert record.state is PluginState.ACTIVE, record.error
        proxy = proxy_of(record)
        response = await kernel.client.get("/api/worker/hello")
        assert response.status_code == 200
        body = response.json()
        assert body["hello"] == "sandbox"
        assert body["pid"] != os.getpid()
        assert body["pid"] == proxy.details()["pid"]
        missing = await kernel.client.get("/api/worker/nope")
        assert missing.status_code == 404
        assert not [name for name in sys.modules if name.startswith("mindframe_plugins.worker")]
    assert proxy.supervisor.child.process.returncode is not None  # stopped with the plugin


async def test_request_and_response_bodies_stream(boot_kernel, sandbox_root):
    folder = write_plugin(sandbox_root, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel([], builtin=False) as kernel, start_sandboxed(kernel, folder):
        chunks = [b"abc" * 1000] * 40  # more chunks than the flow-control window

        async def body():
            for chunk in chunks:
                yield chunk

        response = await kernel.client.post("/api/worker/upper", content=body())
        assert response.status_code == 201
        assert response.content == b"".join(chunks).upper()
        assert int(response.headers["x-chunks"]) > 16  # it arrived in pieces, not at once

        lines = []
        async with kernel.client.stream("GET", "/api/worker/count/500") as streamed:
            async for line in streamed.aiter_lines():
                lines.append(line)
        assert lines == [str(i) for i in range(500)]


async def test_publish_and_subscribe_go_through_the_parent_bus(boot_kernel, sandbox_root):
    folder = write_plugin(sandbox_root, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with (
        boot_kernel([], builtin=False) as kernel,
        start_sandboxed(kernel, folder) as record,
    ):
        response = await kernel.client.post("/api/worker/publish/7")
        assert response.status_code == 201, response.text
        pong = await kernel.bus_probe.next("sbx.pong", timeout=5)
        assert pong.n == 7
        owners = {s.owner for s in kernel.runtime.bus.subscriptions()}
        assert "worker" in owners

        await kernel.runtime.bus.publish(Ping(n=4))
        pong = await kernel.bus_probe.next("sbx.pong", timeout=5)
        assert pong.n == 40
        state = (await kernel.client.get("/api/worker/state")).json()
        assert state["seen"] == [4]
        assert record.context.ledger.counts()["subscription"] == 1
    assert "worker" not in {s.owner for s in kernel.runtime.bus.subscriptions()}


async def test_permission_violations_are_refused_audited_and_the_plugin_keeps_running(
    boot_kernel, sandbox_root
):
    folder = write_plugin(sandbox_root, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with (
        boot_kernel([], builtin=False) as kernel,
        start_sandboxed(kernel, folder) as record,
    ):
        proxy = proxy_of(record)
        refused = (await kernel.client.post("/api/worker/publish-secret")).json()["refused"]
        assert refused.startswith("PermissionDenied: plugin 'worker' may not publish")
        assert "`publish` under [permissions] in plugin.toml" in refused
        assert "secret.plans" not in kernel.bus_probe.topics()

        refused = (await kernel.client.post("/api/worker/connect")).json()["refused"]
        assert refused.startswith("PermissionDenied: plugin 'worker' may not connect")
        assert "network = true" in refused

        state = (await kernel.client.get("/api/worker/state")).json()
        assert "`subscribe` under [permissions]" in state["refused"][0]

        await eventually(lambda: len(proxy.audit_log) >= 3)
        actions = sorted(record.action for record in proxy.audit_log)
        assert actions == ["network", "publish", "subscribe"]
        health = await kernel.runtime.health()
        entry = health["plugins"]["worker"]
        assert entry["ok"] is True
        assert entry["audit_total"] == 3
        assert (await kernel.client.get("/api/worker/hello")).status_code == 200


async def test_services_are_called_only_when_granted(boot_kernel, plugin_factory, sandbox_root):
    plugin_factory.make(
        "greeter",
        """
        from mindframe.sdk import hookimpl

        class GreetingService:
            def greet(self, name: str) -> str:
                return f"hello {name}"

        @hookimpl
        def register_services(ctx) -> None:
            ctx.provide(GreetingService, GreetingService())
        """,
    )
    caller = """
        from typing import Any
        from litestar import get
        from mindframe.sdk import hookimpl

        CTX: Any = None

        @get("/greet/{service:str}")
        async def greet(service: str) -> dict[str, str]:
            try:
                return {"said": await CTX.service(service).greet("sandbox")}
            except PermissionError as error:
                return {"refused": str(error)}

        @hookimpl
        def register_routes(ctx) -> list[Any]:
            global CTX
            CTX = ctx
            return [greet]
    """
    granted = write_plugin(
        sandbox_root, "caller", caller, permissions='services = ["greeting_service"]'
    )
    async with (
        boot_kernel(["greeter"], builtin=False) as kernel,
        start_sandboxed(kernel, granted) as record,
    ):
        said = (await kernel.client.get("/api/caller/greet/greeting_service")).json()
        assert said == {"said": "hello sandbox"}
        refused = (await kernel.client.get("/api/caller/greet/mail_service")).json()
        assert "`services` under [permissions]" in refused["refused"]
        assert [r.action for r in proxy_of(record).audit_log] == ["service"]


async def test_a_plugin_whose_startup_raises_is_failed_like_an_inprocess_one(
    boot_kernel, plugin_factory, sandbox_root
):
    plugin_factory.make("bystander", BYSTANDER)
    folder = write_plugin(sandbox_root, "broken", FAILING_STARTUP)
    async with boot_kernel(["bystander"], builtin=False) as kernel:
        record = load_record(kernel, folder)
        await kernel.runtime.lifecycle.start(record)
        assert record.state is PluginState.FAILED
        assert "RuntimeError" in record.error and "no database configured" in record.error
        assert len(record.context.ledger) == 0  # the child and its supervisor were released
        assert proxy_of(record).supervisor.child.process.returncode is not None
        response = await kernel.client.get("/api/broken/anything")
        assert response.status_code == 503
        assert (await kernel.client.get("/api/bystander/ok")).json() == {"ok": True}
