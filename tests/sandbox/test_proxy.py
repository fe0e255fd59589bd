"""A plugin folder whose manifest says `isolation = "process"`, booted by the kernel: its
routes, pages, OpenAPI paths, streaming bodies, the bus, permissions and services, with the
plugin's code in a real child process."""

from __future__ import annotations

import os
import sys

import pytest
from sandbox_testlib import eventually, proxy_of, write_plugin

from mindframe.kernel.bus import Event
from mindframe.kernel.records import PluginState
from plugins import BYSTANDER, FAILING_STARTUP, WORKER, WORKER_PERMISSIONS

pytestmark = pytest.mark.anyio


class Ping(Event):
    topic = "sbx.ping"
    n: int


def _sandbox_modules() -> list[str]:
    return [name for name in sys.modules if name.startswith("mindframe_plugins.worker")]


async def test_route_is_served_from_the_child_under_the_plugin_prefix(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel(["worker"], builtin=False) as kernel:
        assert kernel.state("worker") is PluginState.ACTIVE, kernel.error("worker")
        proxy = proxy_of(kernel, "worker")
        response = await kernel.client.get("/api/worker/hello")
        assert response.status_code == 200
        body = response.json()
        assert body["hello"] == "sandbox"
        assert body["pid"] != os.getpid()
        assert body["pid"] == proxy.details()["pid"]
        missing = await kernel.client.get("/api/worker/nope")
        assert missing.status_code == 404
        assert not _sandbox_modules()  # the plugin's code was never imported here
    assert proxy.supervisor.child.process.returncode is not None  # stopped with the kernel


async def test_pages_are_served_from_the_child_under_the_plugin_path(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel(["worker"], builtin=False) as kernel:
        home = await kernel.client.get("/worker")
        assert home.status_code == 200, home.text
        assert home.headers["content-type"].startswith("text/html")
        assert home.text == f"<h1>worker</h1><p>{proxy_of(kernel, 'worker').details()['pid']}</p>"
        about = await kernel.client.get("/worker/about/caf%C3%A9")
        assert about.text == "<p>about café</p>"
        assert (await kernel.client.get("/worker/nope")).status_code == 404


async def test_the_merged_openapi_document_lists_the_childs_routes(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    plugin_factory.make("bystander", BYSTANDER)
    async with boot_kernel(["worker", "bystander"], builtin=False) as kernel:
        document = (await kernel.client.get("/schema/openapi.json")).json()
        paths = document["paths"]
        assert set(paths["/api/worker/upper"]) == {"post"}
        assert "/api/worker/count/{n}" in paths
        assert "/api/bystander/ok" in paths  # in-process plugins are still merged
        answer = paths["/api/worker/greeting"]["get"]["responses"]["200"]
        reference = answer["content"]["application/json"]["schema"]["$ref"]
        component = reference.rsplit("/", 1)[-1]
        assert set(document["components"]["schemas"][component]["properties"]) == {
            "text",
            "pid",
        }
        assert not [path for path in paths if path.startswith("/worker")]  # pages are not API
        assert {"name": "worker", "description": ""} in document["tags"]


async def test_request_and_response_bodies_stream(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel(["worker"], builtin=False) as kernel:
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


async def test_publish_and_subscribe_go_through_the_parent_bus(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel(["worker"], builtin=False) as kernel:
        response = await kernel.client.post("/api/worker/publish/7")
        assert response.status_code == 201, response.text
        assert (await kernel.bus_probe.next("sbx.pong", timeout=5)).n == 7
        assert [s.owner for s in kernel.runtime.bus.subscriptions("worker")] == ["worker"]

        await kernel.runtime.bus.publish(Ping(n=4))
        assert (await kernel.bus_probe.next("sbx.pong", timeout=5)).n == 40
        state = (await kernel.client.get("/api/worker/state")).json()
        assert state["seen"] == [4]
        record = kernel.runtime.records["worker"]
        assert record.context.ledger.counts()["subscription"] == 1
        await kernel.runtime.disable("worker")
        assert kernel.runtime.bus.subscriptions("worker") == []


async def test_permission_violations_are_refused_audited_and_the_plugin_keeps_running(
    boot_kernel, plugin_factory
):
    write_plugin(plugin_factory, "worker", WORKER, permissions=WORKER_PERMISSIONS)
    async with boot_kernel(["worker"], builtin=False) as kernel:
        proxy = proxy_of(kernel, "worker")
        refused = (await kernel.client.post("/api/worker/publish-secret")).json()["refused"]
        assert refused.startswith("PermissionDenied: plugin 'worker' may not publish")
        assert "`publish` under [permissions] in plugin.toml" in refused
        assert "secret.plans" not in kernel.bus_probe.topics()

        refused = (await kernel.client.post("/api/worker/connect")).json()["refused"]
        assert refused.startswith("PermissionDenied: plugin 'worker' may not open a socket")
        assert "network = true" in refused

        state = (await kernel.client.get("/api/worker/state")).json()
        assert "`subscribe` under [permissions]" in state["refused"][0]

        await eventually(lambda: len(proxy.audit_log) >= 3)
        assert sorted(record.action for record in proxy.audit_log) == [
            "network",
            "publish",
            "subscribe",
        ]
        entry = (await kernel.runtime.health())["plugins"]["worker"]
        assert entry["ok"] is True
        assert entry["audit_total"] == 3
        assert (await kernel.client.get("/api/worker/hello")).status_code == 200


async def test_services_are_called_only_when_granted(boot_kernel, plugin_factory):
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
    write_plugin(plugin_factory, "caller", caller, permissions='services = ["greeting_service"]')
    async with boot_kernel(["greeter", "caller"], builtin=False) as kernel:
        said = (await kernel.client.get("/api/caller/greet/greeting_service")).json()
        assert said == {"said": "hello sandbox"}
        refused = (await kernel.client.get("/api/caller/greet/mail_service")).json()
        assert "`services` under [permissions]" in refused["refused"]
        assert [r.action for r in proxy_of(kernel, "caller").audit_log] == ["service"]


async def test_a_plugin_whose_startup_raises_is_failed_like_an_inprocess_one(
    boot_kernel, plugin_factory
):
    plugin_factory.make("bystander", BYSTANDER)
    write_plugin(plugin_factory, "broken", FAILING_STARTUP)
    async with boot_kernel(["bystander", "broken"], builtin=False) as kernel:
        assert kernel.state("broken") is PluginState.FAILED
        error = kernel.error("broken")
        assert "in startup" in error and "RuntimeError" in error, error
        assert "no database configured" in error
        record = kernel.runtime.records["broken"]
        assert len(record.context.ledger) == 0  # the child and its supervisor were released
        assert proxy_of(kernel, "broken").supervisor.child.process.returncode is not None
        response = await kernel.client.get("/api/broken/anything")
        assert response.status_code == 503
        assert "no database configured" in response.json()["detail"]
        assert (await kernel.client.get("/api/bystander/ok")).json() == {"ok": True}


async def test_a_plugin_that_cannot_be_imported_is_failed_with_the_childs_error(
    boot_kernel, plugin_factory
):
    write_plugin(plugin_factory, "broken", "import not_a_module_anywhere\n")
    async with boot_kernel(["broken"], builtin=False) as kernel:
        assert kernel.state("broken") is PluginState.FAILED
        assert "not_a_module_anywhere" in kernel.error("broken")
        assert len(kernel.runtime.records["broken"].context.ledger) == 0
