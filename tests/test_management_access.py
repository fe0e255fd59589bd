"""Who may use the management API and see errors: a client on this machine that connected
directly until an auth plugin has users, then whoever holds `kernel.*` permissions.
Turning sign-in off needs a confirmation and goes to the audit log.

A remote client is the app called with another address in the ASGI scope's `client`, as
a server sets it; the kernel fixture's own client is on loopback (127.0.0.1)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from mindframe.kernel.records import PluginState
from mindframe.sdk.auth import Authenticator
from mindframe.sdk.signed_in import HEADER_PERMISSIONS_PLUGIN

pytestmark = pytest.mark.anyio
REMOTE = ("203.0.113.9", 5000)
LOOPBACK = ("127.0.0.1", 5000)
CHEAP_AUTH = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}

BROKEN = """
from mindframe.sdk import hookimpl

@hookimpl
def startup(ctx):
    raise RuntimeError(f"cannot read the key in {__file__}")
"""


@asynccontextmanager
async def client_at(kernel, address, **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests reach the runtime from `address`."""
    transport = httpx.ASGITransport(app=kernel.runtime.asgi, client=address)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://mindframe.test", headers=headers
    ) as client:
        yield client


async def test_without_auth_a_remote_client_can_neither_change_nor_read_the_runtime(
    boot_kernel, plugin_factory
):
    plugin_factory.make("steady", "")
    async with boot_kernel(["steady"], builtin=False) as kernel:
        async with client_at(kernel, REMOTE) as remote:
            refused = await remote.post("/api/kernel/plugins/steady/reload")
            assert refused.status_code == 401
            assert "loopback only" in refused.json()["detail"]
            for path in (
                "/api/kernel/plugins",
                "/api/kernel/plugins/steady",
                "/api/kernel/bus/dead-letters",
            ):
                assert (await remote.get(path)).status_code == 401, path
            assert (await remote.get("/health")).status_code == 200
            assert (await remote.get("/schema/openapi.json")).status_code == 200
        assert kernel.state("steady") is PluginState.ACTIVE
        assert (await kernel.client.get("/api/kernel/plugins")).status_code == 200


@pytest.mark.parametrize(
    "header", [("X-Forwarded-For", "203.0.113.9"), ("Forwarded", "for=203.0.113.9")]
)
async def test_a_loopback_request_relayed_by_a_proxy_is_not_local(boot_kernel, header):
    async with boot_kernel([], builtin=False) as kernel:
        async with client_at(kernel, LOOPBACK, **dict([header])) as relayed:
            assert (await relayed.get("/api/kernel/plugins")).status_code == 401
        async with client_at(kernel, LOOPBACK) as direct:
            assert (await direct.get("/api/kernel/plugins")).status_code == 200


async def test_before_the_first_user_errors_and_paths_are_for_loopback_only(
    boot_kernel, plugin_factory
):
    folder = plugin_factory.make("broken", BROKEN)
    async with boot_kernel(["broken"], builtin=False) as kernel:
        kernel.runtime.note_restart_needed(folder.parent / "kernel" / "runtime.py")
        async with client_at(kernel, REMOTE) as remote:
            health = await remote.get("/health")
            unavailable = await remote.get("/api/broken/anything")
        assert health.json()["plugins"]["broken"] == {"state": "failed", "ok": False}
        assert health.json()["restart_needed"] is True
        assert unavailable.status_code == 503
        assert unavailable.json()["detail"] == (
            "plugin 'broken' is not available; its state is at GET /api/kernel/plugins/broken"
        )
        for response in (health, unavailable):
            assert str(folder.parent) not in response.text
            assert "cannot read the key" not in response.text

        health = await kernel.client.get("/health")
        assert "cannot read the key in" in health.json()["plugins"]["broken"]["error"]
        assert health.json()["restart_needed"] == [str(folder.parent / "kernel" / "runtime.py")]
        unavailable = await kernel.client.get("/api/broken/anything")
        assert "cannot read the key in" in unavailable.json()["detail"]


async def test_once_auth_enforces_errors_are_for_users_who_may_read_the_management_api(
    boot_kernel, plugin_factory
):
    plugin_factory.make("gate", HEADER_PERMISSIONS_PLUGIN)
    plugin_factory.make("broken", BROKEN)
    async with boot_kernel(["gate", "broken"], builtin=False) as kernel:
        async with client_at(kernel, LOOPBACK) as anonymous:
            assert "error" not in (await anonymous.get("/health")).json()["plugins"]["broken"]
            detail = (await anonymous.get("/api/broken/x")).json()["detail"]
            assert "cannot read the key" not in detail
        async with client_at(kernel, REMOTE, **{"X-Test-Permissions": "kernel.*"}) as admin:
            assert (
                "cannot read" in (await admin.get("/health")).json()["plugins"]["broken"]["error"]
            )
            assert "cannot read the key" in (await admin.get("/api/broken/x")).json()["detail"]


async def test_disabling_the_authenticator_once_users_exist_needs_confirm_and_is_audited(
    boot_kernel,
):
    async with boot_kernel(["auth"], settings={"auth": CHEAP_AUTH}) as kernel:
        auth = kernel.runtime.container.resolve(Authenticator)
        root = await auth.create_user("root", "correct horse battery", admin=True)
        _, secret = await auth.create_token(root["id"], "cli", ["kernel.*"])
        async with client_at(kernel, REMOTE, Authorization=f"Bearer {secret}") as admin:
            asked = await admin.post("/api/kernel/plugins/auth/disable")
            assert asked.status_code == 409
            assert asked.headers["content-type"].startswith("application/problem+json")
            assert asked.json()["confirm"] == "auth"
            assert "disabling 'auth' turns sign-in off" in asked.json()["detail"]
            assert kernel.state("auth") is PluginState.ACTIVE
            assert await auth.audit_log(event="kernel.plugins.disable") == []

            done = await admin.post("/api/kernel/plugins/auth/disable", params={"confirm": "auth"})
            assert (done.status_code, done.json()["stopped"]) == (200, ["auth"])
        async with client_at(kernel, REMOTE) as anonymous:  # no authenticator: loopback only
            assert (await anonymous.get("/api/kernel/plugins")).status_code == 401
        assert (await kernel.client.post("/api/kernel/plugins/auth/enable")).status_code == 200
        auth = kernel.runtime.container.resolve(Authenticator)
        [entry] = await auth.audit_log(event="kernel.plugins.disable")
        assert (entry["username"], entry["client"]) == ("root", REMOTE[0])
        assert entry["detail"] == {"plugin": "auth", "stops": "auth"}


async def test_disabling_a_requirement_of_the_authenticator_needs_confirm_too(
    boot_kernel, plugin_factory, caplog
):
    plugin_factory.make("base", "")
    plugin_factory.make("gate", HEADER_PERMISSIONS_PLUGIN, requires=["base"])
    plugin_factory.make("other", "")
    async with boot_kernel(["gate", "other"], builtin=False) as kernel:
        async with client_at(kernel, LOOPBACK, **{"X-Test-Permissions": "kernel.*"}) as admin:
            assert (await admin.post("/api/kernel/plugins/other/disable")).status_code == 200
            asked = await admin.post("/api/kernel/plugins/base/disable")
            assert asked.status_code == 409
            assert "disabling 'base' turns sign-in off (it stops 'gate')" in asked.json()["detail"]
            done = await admin.post("/api/kernel/plugins/base/disable?confirm=auth")
            assert done.json()["stopped"] == ["gate", "base"]
        assert "audit: kernel.plugins.disable from 127.0.0.1" in caplog.text


async def test_before_the_first_user_auth_is_disabled_without_confirm(boot_kernel):
    async with boot_kernel(["auth"], settings={"auth": CHEAP_AUTH}) as kernel:
        response = await kernel.client.post("/api/kernel/plugins/auth/disable")
        assert (response.status_code, response.json()["stopped"]) == (200, ["auth"])
