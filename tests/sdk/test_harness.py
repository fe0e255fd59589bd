"""The fixtures as an author meets them: where `boot_kernel` looks, `MINDFRAME_*` variables
when asked for, and clients signed in as users with chosen permissions."""

import pytest

from mindframe.kernel.discovery import builtin_plugins_dir

pytestmark = pytest.mark.anyio

GREETER = """
from litestar import get
from mindframe.sdk import hookimpl

@hookimpl
def register_routes(ctx):
    @get("/greeting")
    async def greeting() -> str:
        return ctx.settings["greeting"]
    return [greeting]
"""

DIARY = """
from litestar import post
from litestar.di import NamedDependency
from mindframe.sdk import hookimpl
from mindframe.sdk.auth import IDENTITY, Identity, requires_permission

@hookimpl
def register_routes(ctx):
    writers = requires_permission("diary.write")

    @post("/entries", guards=[writers], dependencies={"identity": IDENTITY})
    async def write(identity: NamedDependency[Identity]) -> str:
        return f"written by {identity.username}"
    return [write]
"""


async def test_boot_kernel_refuses_a_plugin_it_cannot_find_saying_where_it_looked(
    boot_kernel, plugin_factory
):
    with pytest.raises(LookupError) as refused:
        async with boot_kernel(["notse"]):
            pass
    message = str(refused.value)
    assert "no plugin named 'notse'" in message
    assert str(builtin_plugins_dir()) in message and str(plugin_factory.root) in message
    assert "hello" in message  # what it did find


async def test_mindframe_variables_apply_only_when_passed_as_env(
    boot_kernel, plugin_factory, monkeypatch
):
    plugin_factory.make("greeter", GREETER, extra_manifest='[settings]\ngreeting = "Hello"\n')
    monkeypatch.setenv("MINDFRAME_GREETER__GREETING", "Hej")
    async with boot_kernel(["greeter"]) as kernel:
        assert (await kernel.client.get("/api/greeter/greeting")).text == "Hello"
    async with boot_kernel(["greeter"], env={"MINDFRAME_GREETER__GREETING": "Hei"}) as kernel:
        assert (await kernel.client.get("/api/greeter/greeting")).text == "Hei"
    mine = {"greeter": {"greeting": "Hallo"}}
    async with boot_kernel(
        ["greeter"], env={"MINDFRAME_GREETER__GREETING": "Hei"}, settings=mine
    ) as kernel:
        assert (await kernel.client.get("/api/greeter/greeting")).text == "Hallo"


async def test_as_user_signs_in_a_new_user_holding_just_those_permissions(
    boot_kernel, plugin_factory
):
    plugin_factory.make("diary", DIARY, requires=["auth"])
    async with boot_kernel(["diary"]) as kernel:
        writer = await kernel.as_user(["diary.write"])
        written = await writer.post("/api/diary/entries")
        assert (written.status_code, written.text) == (201, "written by user1")
        stranger = await kernel.as_user(username="eve")
        assert (await stranger.get("/api/auth/me")).json()["username"] == "eve"
        assert (await stranger.post("/api/diary/entries")).status_code == 403
        assert (await kernel.client.post("/api/diary/entries")).status_code == 401


async def test_as_user_without_the_auth_plugin_says_to_require_it(boot_kernel, plugin_factory):
    plugin_factory.make("lonely", GREETER, extra_manifest='[settings]\ngreeting = "Hi"\n')
    async with boot_kernel(["lonely"]) as kernel:
        with pytest.raises(RuntimeError, match=r'auth plugin, which is not booted.*"auth"'):
            await kernel.as_user(["anything"])
