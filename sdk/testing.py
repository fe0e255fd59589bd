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

from .websocket import WebSocketSession, connect_websocket

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
