"""`kernel.websocket(path)`: a WebSocket session onto a booted plugin, in-process."""

import pytest

from mindframe.sdk.websocket import WebSocketClosed

pytestmark = pytest.mark.anyio

ECHO_PLUGIN = """
from typing import Any, ClassVar

from litestar import WebSocket, websocket

from mindframe.sdk import Event, PluginContext, hookimpl


class Said(Event):
    topic: ClassVar[str] = "echo.said"
    text: str


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    @websocket("/live")
    async def live(socket: WebSocket) -> None:
        await socket.accept()
        while True:
            text = await socket.receive_text()
            if text == "bye":
                await socket.close(code=4000, reason="asked to leave")
                return
            await ctx.publish(Said(text=text))
            await socket.send_json({"echo": text.upper(), "plugin": ctx.name})

    return [live]
"""


async def test_websocket_route_echoes_and_publishes_on_the_same_bus(plugin_factory, boot_kernel):
    plugin_factory.make("echo", ECHO_PLUGIN)
    async with boot_kernel(["echo"], builtin=False) as kernel:
        async with kernel.websocket("/api/echo/live") as socket:
            await socket.send_text("hi")
            assert await socket.receive_json() == {"echo": "HI", "plugin": "echo"}
            await socket.send_text("again")
            assert (await socket.receive_json())["echo"] == "AGAIN"
        assert [e.text for e in [await kernel.bus_probe.next("echo.said") for _ in "12"]] == [
            "hi",
            "again",
        ]


async def test_server_close_reaches_the_client_with_code_and_reason(plugin_factory, boot_kernel):
    plugin_factory.make("echo", ECHO_PLUGIN)
    async with (
        boot_kernel(["echo"], builtin=False) as kernel,
        kernel.websocket("/api/echo/live") as socket,
    ):
        await socket.send_text("bye")
        with pytest.raises(WebSocketClosed) as closed:
            await socket.receive_text()
    assert (closed.value.code, closed.value.reason) == (4000, "asked to leave")


async def test_websocket_to_a_path_nobody_serves_is_refused(plugin_factory, boot_kernel):
    plugin_factory.make("echo", ECHO_PLUGIN)
    async with boot_kernel(["echo"], builtin=False) as kernel:
        with pytest.raises(WebSocketClosed) as refused:
            async with kernel.websocket("/api/echo/nowhere"):
                pytest.fail("the upgrade should have been refused")
    assert refused.value.reason == "Not Found"
