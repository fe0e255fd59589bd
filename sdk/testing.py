"""The pytest harness for plugin authors (and the kernel's own tests).

Installed with mindframe through the `pytest11` entry point, so these fixtures are there
in any project that has mindframe installed:

- `boot_kernel`: `async with boot_kernel(["hello"]) as kernel:` boots just those plugins
  and their requirements on a throw-away SQLite database;
- `kernel`: the same for the plugin whose `tests/` folder the test lives in;
- `kernel.client`: an httpx client onto the app, in-process;
- `kernel.websocket(path)`: `async with kernel.websocket("/api/chat/live") as ws:` a
  WebSocket session onto the same app, in-process (`send_text`, `receive_json`, ...);
- `kernel.bus_probe`: `await kernel.bus_probe.next("hello.*", timeout=2)`;
- `plugin_factory`: writes throw-away plugin folders, for reload and failure paths.

Tests using them are async and marked `@pytest.mark.anyio` (or `pytestmark`).
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from mindframe.kernel.bus import Envelope, Event
from mindframe.kernel.bus.topics import matches
from mindframe.kernel.discovery import MANIFEST_FILE, builtin_plugins_dir
from mindframe.kernel.records import PluginState
from mindframe.kernel.runtime import Runtime
from mindframe.kernel.settings import KernelSettings, Settings

WEBSOCKET_TIMEOUT = 5.0
BootKernel = Callable[..., AbstractAsyncContextManager["Kernel"]]


class BusProbe:
    """Hears every event from boot on, so a test can wait for one it expects."""

    def __init__(self) -> None:
        self.seen: list[tuple[Envelope, Event]] = []
        self._consumed: set[int] = set()
        self._arrived = anyio.Event()

    async def _hear(self, event: Event, envelope: Envelope) -> None:
        self.seen.append((envelope, event))
        self._arrived.set()
        self._arrived = anyio.Event()

    async def next(self, pattern: str = ">", timeout: float = 5.0) -> Event:
        """The next event on a topic matching `pattern` not yet returned by `next`."""
        with anyio.fail_after(timeout):
            while True:
                for index, (envelope, event) in enumerate(self.seen):
                    if index not in self._consumed and matches(pattern, envelope.topic):
                        self._consumed.add(index)
                        return event
                await self._arrived.wait()

    def topics(self) -> list[str]:
        return [envelope.topic for envelope, _ in self.seen]


class WebSocketClosed(Exception):
    """The app closed or refused the WebSocket; `code` and `reason` say why."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"WebSocket closed by the app: {code} {reason}".rstrip())
        self.code = code
        self.reason = reason


class WebSocketSession:
    """The client end of one WebSocket conversation with an ASGI app, spoken as ASGI
    messages in the test's own event loop (so handlers share its bus and database)."""

    def __init__(self, to_app: Any, from_app: Any, timeout: float) -> None:
        self._to_app = to_app
        self._from_app = from_app
        self.timeout = timeout
        self.subprotocol: str | None = None

    async def send_text(self, text: str) -> None:
        await self._to_app.send({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self._to_app.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, value: Any) -> None:
        await self.send_text(json.dumps(value))

    async def receive(self) -> dict[str, Any]:
        """The app's next `websocket.send`; raises WebSocketClosed when it closed instead."""
        with anyio.fail_after(self.timeout):
            message = await self._from_app.receive()
        if message["type"] == "websocket.close":
            raise WebSocketClosed(message.get("code", 1000), message.get("reason") or "")
        return message

    async def receive_text(self) -> str:
        message = await self.receive()
        return message["text"] if message.get("text") is not None else message["bytes"].decode()

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        return message["bytes"] if message.get("bytes") is not None else message["text"].encode()

    async def receive_json(self) -> Any:
        return json.loads(await self.receive_text())


@asynccontextmanager
async def connect_websocket(
    app: Any,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    subprotocols: Iterable[str] = (),
    timeout: float = WEBSOCKET_TIMEOUT,
) -> AsyncIterator[WebSocketSession]:
    """Open a WebSocket on `app` at `path`; raises WebSocketClosed if the app refuses it.

    Written for the harness rather than taken from httpx-ws, whose ASGI transport leaves a
    cancel scope behind on exit (frankie567/httpx-ws#108) and breaks the runtime's task group."""
    path, _, query = path.partition("?")
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [
            (b"host", b"mindframe.test"),
            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("mindframe.test", 80),
        "subprotocols": list(subprotocols),
        "state": {},
    }
    to_app, app_inbox = anyio.create_memory_object_stream[dict[str, Any]](math.inf)
    app_outbox, from_app = anyio.create_memory_object_stream[dict[str, Any]](math.inf)
    finished = anyio.Event()

    async def serve() -> None:
        try:
            await app(scope, app_inbox.receive, app_outbox.send)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            await app_outbox.send({"type": "websocket.close", "code": 1011, "reason": reason})
        finally:
            finished.set()

    refused: WebSocketClosed | None = None
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(serve)
        session = WebSocketSession(to_app, from_app, timeout)
        await to_app.send({"type": "websocket.connect"})
        try:
            with anyio.fail_after(timeout):
                first = await from_app.receive()
            if first["type"] == "websocket.accept":
                session.subprotocol = first.get("subprotocol")
            elif first["type"] == "websocket.close":
                refused = WebSocketClosed(first.get("code", 1000), first.get("reason") or "")
            else:
                refused = WebSocketClosed(first.get("status", 403), "upgrade refused")
            if refused is None:
                yield session
        finally:
            await to_app.send({"type": "websocket.disconnect", "code": 1000})
            with anyio.move_on_after(timeout, shield=True):
                await finished.wait()
            task_group.cancel_scope.cancel()
    if refused is not None:
        raise refused


@dataclass
class Kernel:
    """A booted runtime with a client and a bus probe onto it."""

    runtime: Runtime
    client: httpx.AsyncClient
    bus_probe: BusProbe

    def state(self, plugin: str) -> PluginState:
        return self.runtime.plugin(plugin).state

    def error(self, plugin: str) -> str | None:
        return self.runtime.plugin(plugin).error

    def websocket(self, path: str, **options: Any) -> AbstractAsyncContextManager[WebSocketSession]:
        """`async with kernel.websocket("/api/chat/live") as ws:`; options as for
        `connect_websocket` (`headers`, `subprotocols`, `timeout`)."""
        return connect_websocket(self.runtime.asgi, path, **options)


@asynccontextmanager
async def boot(
    plugins: Iterable[str] | None,
    *,
    data_dir: Path,
    plugins_dirs: Iterable[Path] = (),
    builtin: bool = True,
    settings: dict[str, dict[str, Any]] | None = None,
    database_url: str | None = None,
    entry_points: bool = False,
    kernel_settings: dict[str, Any] | None = None,
) -> AsyncIterator[Kernel]:
    """Boot `plugins` (all found, when None) with their requirements; isolated from the
    developer's own mindframe.toml and MINDFRAME_ environment."""
    roots = [*([builtin_plugins_dir()] if builtin else []), *plugins_dirs]
    settings_of_kernel = KernelSettings(
        **{"data_dir": data_dir, "database_url": database_url, **(kernel_settings or {})}
    )
    runtime = Runtime(
        Settings(settings_of_kernel, {k.replace("-", "_"): v for k, v in (settings or {}).items()}),
        only=plugins,
        plugin_roots=roots,
        entry_points=entry_points,
    )
    probe = BusProbe()
    async with runtime:
        runtime.bus.subscribe(">", probe._hear, owner="mindframe.testing", queue_size=100_000)
        transport = httpx.ASGITransport(app=runtime.asgi)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://mindframe.test"
        ) as client:
            yield Kernel(runtime, client, probe)


@dataclass
class PluginFactory:
    """Writes plugin folders under one root: `factory.make("name", init="...")`."""

    root: Path
    made: list[Path] = field(default_factory=list)

    def make(
        self,
        name: str,
        init: str = "",
        *,
        version: str = "0.1.0",
        requires: Iterable[str] = (),
        manifest: str | None = None,
        files: dict[str, str] | None = None,
        extra_manifest: str = "",
    ) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        if manifest is None:
            needs = ", ".join(f'"{r}"' for r in requires)
            manifest = (
                f'name = "{name}"\nversion = "{version}"\nrequires = [{needs}]\n{extra_manifest}'
            )
        (folder / MANIFEST_FILE).write_text(textwrap.dedent(manifest))
        (folder / "__init__.py").write_text(textwrap.dedent(init))
        for relative, text in (files or {}).items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        self.made.append(folder)
        return folder


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def plugin_factory(tmp_path: Path) -> PluginFactory:
    return PluginFactory(tmp_path / "plugins")


@pytest.fixture
def boot_kernel(tmp_path: Path, plugin_factory: PluginFactory) -> BootKernel:
    """`async with boot_kernel(["hello"], settings={"hello": {...}}) as kernel:`; plugins
    written with `plugin_factory` are found too."""

    def start(
        plugins: Iterable[str] | None = None, **options: Any
    ) -> AbstractAsyncContextManager[Kernel]:
        options.setdefault("data_dir", tmp_path / "data")
        options.setdefault("plugins_dirs", [plugin_factory.root])
        plugin_factory.root.mkdir(parents=True, exist_ok=True)
        return boot(plugins, **options)

    return start


def _plugin_under_test(test_file: Path) -> tuple[str, Path] | None:
    for folder in test_file.parents:
        manifest = folder / MANIFEST_FILE
        if manifest.is_file():
            from mindframe.kernel.manifest import load_manifest

            return load_manifest(manifest).name, folder.parent
    return None


@pytest.fixture
async def kernel(request: pytest.FixtureRequest, boot_kernel: BootKernel) -> AsyncIterator[Kernel]:
    """The plugin this test file belongs to, booted with its requirements."""
    found = _plugin_under_test(Path(str(request.node.path)))
    if found is None:
        pytest.fail(
            "the `kernel` fixture needs a test inside a plugin folder; use boot_kernel([...])"
        )
    name, root = found
    roots = (
        [root]
        if root != builtin_plugins_dir() and not root.is_relative_to(builtin_plugins_dir())
        else []
    )
    async with boot_kernel([name], plugins_dirs=roots) as booted:
        yield booted
