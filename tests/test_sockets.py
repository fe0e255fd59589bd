"""WebSockets belong to the kernel: a plugin declares an endpoint with `ctx.socket`, the kernel
holds every socket, and a reload hands the open ones to the new version without closing any.
Real clients (the `websockets` library) over a real loopback port."""

import json
import sys
import types

import anyio
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from mindframe.sdk.browser import serving
from mindframe.sdk.sockets import RECONNECT_NOW, TRY_AGAIN_LATER

pytestmark = pytest.mark.anyio
TIMEOUT = 10

ECHO = """
from mindframe.sdk import hookimpl

VERSION = "{version}"


class Echo:
    async def on_connect(self, conn):
        conn.state["frames"] = 0
        await conn.send_json({{"hello": VERSION, "id": conn.id}})

    async def on_message(self, conn, data):
        if data == "boom":
            raise RuntimeError("a handler bug")
        if data.startswith("flood "):
            for i in range(int(data.split()[1])):
                await conn.send_json({{"i": i, "pad": "x" * 16000}})
            return
        if data == "wait":
            import socket_test_gate
            socket_test_gate.handling.set()
            await socket_test_gate.proceed.wait()
        conn.state["frames"] += 1
        await conn.send_json({{"version": VERSION, "echo": data, "frames": conn.state["frames"]}})

    async def on_resume(self, conn):
        await conn.send_json({{"resumed": VERSION, "frames": conn.state["frames"]}})


@hookimpl
async def startup(ctx):
    {startup}
"""
DECLARE = 'ctx.socket("/ws", Echo())'


def echo(version: str, startup: str = DECLARE) -> str:
    return ECHO.format(version=version, startup=startup)


@pytest.fixture
def gate():
    """Events a test's plugin code waits on (imported by name, so every version sees them)."""
    module = types.ModuleType("socket_test_gate")
    module.starting, module.proceed, module.handling = anyio.Event(), anyio.Event(), anyio.Event()
    sys.modules["socket_test_gate"] = module
    yield module
    del sys.modules["socket_test_gate"]


@pytest.fixture
async def served(boot_kernel, plugin_factory):
    folder = plugin_factory.make("echo", echo("1"))
    async with boot_kernel(["echo"], builtin=False) as kernel, serving(kernel.runtime) as url:
        kernel.folder, kernel.url = folder, url.replace("http://", "ws://")
        yield kernel


async def reload(kernel) -> dict:
    response = await kernel.client.post("/api/kernel/plugins/echo/reload")
    assert response.status_code == 200, response.text
    return response.json()


async def receive(ws) -> dict:
    with anyio.fail_after(TIMEOUT):
        return json.loads(await ws.recv())


async def test_a_declared_socket_is_the_kernels_and_its_handler_answers(served):
    async with connect(f"{served.url}/api/echo/ws") as ws:
        hello = await receive(ws)
        assert hello["hello"] == "1"
        await ws.send("hi")
        assert await receive(ws) == {"version": "1", "echo": "hi", "frames": 1}
        endpoint = served.runtime.dispatcher.sockets.find("/api/echo/ws")
        assert [c.id for c in endpoint.live()] == [hello["id"]]
    with anyio.fail_after(TIMEOUT):
        while endpoint.live():
            await anyio.sleep(0.01)


async def test_sockets_stay_open_through_reloads_and_each_new_version_takes_them_over(served):
    async with (
        connect(f"{served.url}/api/echo/ws") as first,
        connect(f"{served.url}/api/echo/ws") as second,
    ):
        clients = [first, second]
        for ws in clients:
            await receive(ws)
        for version in range(2, 7):
            (served.folder / "__init__.py").write_text(echo(str(version)))
            assert (await reload(served))["ok"] is True
            for n, ws in enumerate(clients):
                assert await receive(ws) == {"resumed": str(version), "frames": version - 2}
                await ws.send(f"after {version}")
                answer = await receive(ws)
                # the new code answers, and the state it finds is the one the old code left
                assert answer == {
                    "version": str(version),
                    "echo": f"after {version}",
                    "frames": version - 1,
                }, n
        assert first.close_code is None and second.close_code is None


async def test_frames_sent_during_a_reload_wait_and_go_to_the_new_version(served, gate):
    slow_start = (
        "import socket_test_gate\n    socket_test_gate.starting.set()\n"
        "    await socket_test_gate.proceed.wait()\n    " + DECLARE
    )
    async with connect(f"{served.url}/api/echo/ws") as ws:
        await receive(ws)
        (served.folder / "__init__.py").write_text(echo("2", slow_start))
        async with anyio.create_task_group() as group:
            group.start_soon(reload, served)
            with anyio.fail_after(TIMEOUT):
                await gate.starting.wait()  # the old version is stopped, the new one starting
            await ws.send("during")
            await ws.send("and again")
            hold = served.runtime.dispatcher.holds["echo"]
            with anyio.fail_after(TIMEOUT):
                while hold.statistics().tasks_waiting < 1:  # the frame waits on the hold
                    await anyio.sleep(0.01)
            gate.proceed.set()
        assert await receive(ws) == {"resumed": "2", "frames": 0}
        assert await receive(ws) == {"version": "2", "echo": "during", "frames": 1}
        assert await receive(ws) == {"version": "2", "echo": "and again", "frames": 2}


async def test_a_frame_in_flight_when_a_reload_starts_finishes_on_the_old_version(served, gate):
    async with connect(f"{served.url}/api/echo/ws") as ws:
        await receive(ws)
        await ws.send("wait")
        with anyio.fail_after(TIMEOUT):
            await gate.handling.wait()
        (served.folder / "__init__.py").write_text(echo("2"))
        async with anyio.create_task_group() as group:
            group.start_soon(reload, served)
            gate.proceed.set()
        assert await receive(ws) == {"version": "1", "echo": "wait", "frames": 1}
        assert await receive(ws) == {"resumed": "2", "frames": 1}


async def test_a_new_version_without_the_endpoint_closes_its_sockets_with_reconnect_now(served):
    async with connect(f"{served.url}/api/echo/ws") as ws:
        await receive(ws)
        (served.folder / "__init__.py").write_text(echo("2", "pass"))
        assert (await reload(served))["ok"] is True
        with anyio.fail_after(TIMEOUT), pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == RECONNECT_NOW
    assert served.runtime.dispatcher.sockets.find("/api/echo/ws") is None


async def test_disabling_the_plugin_closes_its_sockets_with_reconnect_now(served):
    async with connect(f"{served.url}/api/echo/ws") as ws:
        await receive(ws)
        response = await served.client.post("/api/kernel/plugins/echo/disable")
        assert response.status_code == 200, response.text
        with anyio.fail_after(TIMEOUT), pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == RECONNECT_NOW


async def test_a_reload_that_fails_keeps_the_sockets_on_the_old_version(served):
    async with connect(f"{served.url}/api/echo/ws") as ws:
        await receive(ws)
        broken = echo("2", "raise RuntimeError('does not start')")
        (served.folder / "__init__.py").write_text(broken)
        response = await served.client.post("/api/kernel/plugins/echo/reload")
        assert response.status_code == 409
        assert await receive(ws) == {"resumed": "1", "frames": 0}  # taken back by the old one
        await ws.send("still here")
        assert await receive(ws) == {"version": "1", "echo": "still here", "frames": 1}


async def test_a_handler_that_raises_answers_an_error_frame_and_harms_no_socket(served):
    async with (
        connect(f"{served.url}/api/echo/ws") as ws,
        connect(f"{served.url}/api/echo/ws") as other,
    ):
        await receive(ws)
        await receive(other)
        await ws.send("boom")
        error = await receive(ws)
        assert error["type"] == "error" and error["problem"]["status"] == 500
        await ws.send("fine")
        assert (await receive(ws))["frames"] == 1
        await other.send("fine too")
        assert (await receive(other))["frames"] == 1


def test_the_default_install_serves_websockets():
    """uvicorn refuses every WebSocket upgrade unless a WebSocket library is installed, so
    the default install (what `scripts/serve` installs: the project's dependencies) names one."""
    import tomllib
    from pathlib import Path

    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert any(d.startswith(("websockets", "wsproto")) for d in dependencies)
    assert AutoWebSocketsProtocol is not None


async def test_a_client_that_stops_reading_gets_its_frames_in_order_then_1013(served):
    """Sending never waits for a client: once the socket stops taking data the frames queue
    (in order, behind the one the server was sending), and past the outbox's limit the
    socket is closed with 1013 so it reconnects and catches up; nobody else waited."""
    async with (
        connect(f"{served.url}/api/echo/ws", max_queue=4, compression=None) as slow,
        connect(f"{served.url}/api/echo/ws") as other,
    ):
        await receive(slow)
        await receive(other)
        await slow.send("flood 3000")  # ~48 MB: more than loopback buffers and the outbox
        await other.send("still served")
        assert (await receive(other))["echo"] == "still served"
        numbers = []
        with anyio.fail_after(TIMEOUT), pytest.raises(ConnectionClosed) as closed:
            while True:
                numbers.append(json.loads(await slow.recv())["i"])
        assert closed.value.rcvd.code == TRY_AGAIN_LATER
        assert numbers == list(range(len(numbers))) and 0 < len(numbers) < 3000
