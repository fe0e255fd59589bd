"""Two runtimes in one process each enforce their own users and permissions: guards find the
authenticator, and the auth plugin the declared permissions, in the runtime serving the
request, never in process-global state."""

import pytest

from mindframe.sdk.auth import Authenticator
from mindframe.sdk.testing import boot

pytestmark = pytest.mark.anyio
FAST = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 8,
    "argon2_parallelism": 1,
    "cookie_secure": False,
}
PASSWORD = "correct horse battery"
SENDER = """
from litestar import post
from litestar.di import NamedDependency
from mindframe.sdk import hookimpl
from mindframe.sdk.auth import IDENTITY, Identity, declare_permissions, requires_permission

@hookimpl
def register_services(ctx):
    declare_permissions(ctx, {"sender.send": "Send things"})

@hookimpl
def register_routes(ctx):
    @post("/send", guards=[requires_permission("sender.send")], dependencies={"identity": IDENTITY})
    async def send(identity: NamedDependency[Identity]) -> str:
        return f"sent by {identity.username}"
    return [send]
"""


def booted(tmp_path, name, plugin_factory, plugins):
    return boot(
        plugins,
        data_dir=tmp_path / name,
        plugins_dirs=[plugin_factory.root],
        settings={"auth": FAST},
    )


async def sign_in(kernel, username):
    response = await kernel.client.post(
        "/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    return response


async def test_two_runtimes_in_one_process_each_enforce_their_own_users(tmp_path, plugin_factory):
    plugin_factory.make("sender", SENDER, requires=["auth"])
    async with (
        booted(tmp_path, "first", plugin_factory, ["sender"]) as first,
        booted(tmp_path, "second", plugin_factory, ["sender"]) as second,
    ):
        first_auth = first.runtime.container.resolve(Authenticator)
        second_auth = second.runtime.container.resolve(Authenticator)
        await first_auth.set_role("senders", ["sender.send"])
        await first_auth.create_user("ada", PASSWORD, roles_=["senders"])
        await second_auth.create_user("ada", PASSWORD)
        await second_auth.create_user("bob", PASSWORD, roles_=["senders"])

        csrf = {"X-CSRF-Token": (await sign_in(first, "ada")).json()["csrf_token"]}
        sent = await first.client.post("/api/sender/send", headers=csrf)
        assert (sent.status_code, sent.text) == (201, "sent by ada")
        csrf = {"X-CSRF-Token": (await sign_in(second, "ada")).json()["csrf_token"]}
        refused = await second.client.post("/api/sender/send", headers=csrf)
        assert refused.status_code == 403
        assert (await sign_in(first, "bob")).status_code == 401

        user = await first_auth.user_by_name("ada")
        _, secret = await first_auth.create_token(user["id"], "ci", ["*"])
        bearer = {"Authorization": f"Bearer {secret}"}
        assert (await first.client.post("/api/sender/send", headers=bearer)).status_code == 201
        assert (await second.client.post("/api/sender/send", headers=bearer)).status_code == 401
        assert [row["event"] for row in await second_auth.audit_log(event="login")] == ["login"]


async def test_declared_permissions_are_listed_per_runtime(tmp_path, plugin_factory):
    plugin_factory.make("sender", SENDER, requires=["auth"])
    async with (
        booted(tmp_path, "with-sender", plugin_factory, ["sender"]) as with_sender,
        booted(tmp_path, "auth-only", plugin_factory, ["auth"]) as auth_only,
    ):
        for kernel in (with_sender, auth_only):
            service = kernel.runtime.container.resolve(Authenticator)
            await service.create_user("root", PASSWORD, admin=True)
            await sign_in(kernel, "root")
        listed = (await with_sender.client.get("/api/auth/permissions")).json()
        assert listed["sender.send"] == "Send things"
        assert "kernel.plugins.reload" in listed
        alone = (await auth_only.client.get("/api/auth/permissions")).json()
        assert "sender.send" not in alone and "kernel.plugins.reload" in alone

        assert (await with_sender.runtime.disable("sender")) == ["sender"]
        listed = (await with_sender.client.get("/api/auth/permissions")).json()
        assert "sender.send" not in listed


async def test_a_runtime_without_auth_refuses_guarded_routes_while_another_has_auth(
    tmp_path, plugin_factory
):
    plugin_factory.make("sender", SENDER)
    async with (
        booted(tmp_path, "with-auth", plugin_factory, ["sender", "auth"]) as with_auth,
        booted(tmp_path, "no-auth", plugin_factory, ["sender"]) as no_auth,
    ):
        service = with_auth.runtime.container.resolve(Authenticator)
        await service.create_user("root", PASSWORD, admin=True)
        csrf = {"X-CSRF-Token": (await sign_in(with_auth, "root")).json()["csrf_token"]}
        assert (await with_auth.client.post("/api/sender/send", headers=csrf)).status_code == 201
        refused = await no_auth.client.post("/api/sender/send")
        assert refused.status_code == 401
        assert "no auth plugin is active" in refused.json()["detail"]
