"""The pytest harness for plugin authors (and the kernel's own tests).

Installed with mindframe through the `pytest11` entry point, so these fixtures are there
in any project that has mindframe installed:

- `boot_kernel`: `async with boot_kernel(["hello"]) as kernel:` boots just those plugins
  and their requirements on a throw-away SQLite database. It searches the built-in plugins,
  the folder holding the plugin the test lives in (that plugin and its siblings) and
  `plugin_factory`'s folder; a name found nowhere fails at once, saying where it looked.
  `env=os.environ` (or any mapping) applies `MINDFRAME_*` variables, which are otherwise
  ignored;
- `kernel`: the same for the plugin whose `tests/` folder the test lives in;
- `kernel.client`: an httpx client onto the app, in-process;
- `await kernel.as_user(["notes.write"])`: another client, signed in as a new user holding
  those permissions (needs the auth plugin in the kernel);
- `kernel.websocket(path)`: `async with kernel.websocket("/api/chat/live") as ws:` a
  WebSocket session onto the same app, in-process (`send_text`, `receive_json`, ...);
- `kernel.bus_probe`: `await kernel.bus_probe.next("hello.*", timeout=2)`;
- `plugin_factory`: writes throw-away plugin folders, for reload and failure paths;
- `postgres_url`: a new, empty PostgreSQL database for this test alone (skips without a
  server; `sdk/databases.py`);
- `browser`: Debian's Chromium through Playwright, with `serving(kernel.runtime)` from
  `mindframe.sdk.browser` to give it a real URL (skips without /usr/bin/chromium).

Tests using them are async and marked `@pytest.mark.anyio` (or `pytestmark`). The plugins
in the folders tests are collected from are importable as `mindframe_plugins.<name>` from
the start, so a test module can import a plugin's types at its top.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from mindframe.kernel.bus import Envelope, Event
from mindframe.kernel.bus.topics import matches
from mindframe.kernel.discovery import MANIFEST_FILE, builtin_plugins_dir, discover
from mindframe.kernel.loader import make_importable
from mindframe.kernel.manifest import load_manifest
from mindframe.kernel.records import PluginState
from mindframe.kernel.runtime import Runtime
from mindframe.kernel.settings import KernelSettings, Settings, environment_layer

from .browser import browser  # noqa: F401  (a fixture)
from .databases import postgres_url  # noqa: F401  (a fixture)
from .signed_in import AUTH_PLUGIN, FAST_PASSWORD_HASHING, signed_in_client
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
    _closing: AsyncExitStack = field(default_factory=AsyncExitStack)
    _users: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def state(self, plugin: str) -> PluginState:
        return self.runtime.plugin(plugin).state

    def error(self, plugin: str) -> str | None:
        return self.runtime.plugin(plugin).error

    def websocket(self, path: str, **options: Any) -> AbstractAsyncContextManager[WebSocketSession]:
        """`async with kernel.websocket("/api/chat/live") as ws:`; options as for
        `connect_websocket` (`headers`, `subprotocols`, `timeout`)."""
        return connect_websocket(self.runtime.asgi, path, **options)

    async def as_user(
        self,
        permissions: Iterable[str] = (),
        *,
        admin: bool = False,
        username: str | None = None,
        locale: str | None = None,
    ) -> httpx.AsyncClient:
        """A client signed in as a new user holding `permissions` (`admin=True`: all of
        them), with the session cookie and CSRF header a browser would send; closed with
        the kernel. The auth plugin must be booted (list it in your manifest's `requires`)."""
        username = username or f"user{next(self._users)}"
        return await signed_in_client(
            self.runtime, self._closing, username, permissions, admin=admin, locale=locale
        )


HARNESS_SETTINGS: dict[str, dict[str, Any]] = {AUTH_PLUGIN: FAST_PASSWORD_HASHING}
"""Plugin settings the harness changes from their production defaults (under whatever
the test passes), so that tests stay fast."""


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
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Kernel]:
    """Boot `plugins` (all found, when None) with their requirements. The developer's own
    mindframe.toml is never read, and `MINDFRAME_*` variables only when passed as `env`;
    the arguments given here win over `env`."""
    roots = [*([builtin_plugins_dir()] if builtin else []), *plugins_dirs]
    if plugins is not None:
        plugins = list(plugins)
        _require_found(plugins, roots, entry_points)
    env_kernel, env_sections, env_keys = environment_layer(env or {})
    explicit = {"database_url": database_url} if database_url is not None else {}
    settings_of_kernel = KernelSettings(
        **{**env_kernel, "data_dir": data_dir, **explicit, **(kernel_settings or {})}
    )
    sections: dict[str, dict[str, Any]] = {}
    for layer in (HARNESS_SETTINGS, env_sections, settings or {}):
        for section, values in layer.items():
            sections.setdefault(section.replace("-", "_"), {}).update(values)
    runtime = Runtime(
        Settings(settings_of_kernel, sections, env_keys),
        only=plugins,
        plugin_roots=roots,
        entry_points=entry_points,
    )
    probe = BusProbe()
    async with runtime:
        runtime.bus.subscribe(">", probe._hear, owner="mindframe.testing", queue_size=100_000)
        transport = httpx.ASGITransport(app=runtime.asgi)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://mindframe.test") as client,
            AsyncExitStack() as closing,
        ):
            yield Kernel(runtime, client, probe, closing)


def _require_found(plugins: list[str], roots: list[Path], entry_points: bool) -> None:
    """Refuse at once to boot a plugin that is nowhere to be found, saying where we looked
    (instead of booting without it and failing later on a missing service)."""
    found = {candidate.name for candidate in discover(roots, include_entry_points=entry_points)}
    missing = [name for name in plugins if name not in found]
    if missing:
        places = ", ".join(str(root) for root in roots) or "no folder"
        if entry_points:
            places += ", and installed packages"
        raise LookupError(
            f"no plugin named {', '.join(map(repr, missing))} in {places} "
            f"(found: {', '.join(sorted(found)) or 'none'}); a test finds the plugin whose "
            "folder it is in and that plugin's siblings; pass plugins_dirs=[...] for others"
        )


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
def boot_kernel(
    request: pytest.FixtureRequest, tmp_path: Path, plugin_factory: PluginFactory
) -> BootKernel:
    """`async with boot_kernel(["hello"], settings={"hello": {...}}) as kernel:`; finds the
    plugin the test lives in, its siblings, and plugins written with `plugin_factory`."""

    def start(
        plugins: Iterable[str] | None = None, **options: Any
    ) -> AbstractAsyncContextManager[Kernel]:
        options.setdefault("data_dir", tmp_path / "data")
        options.setdefault("plugins_dirs", [plugin_factory.root, *_roots_around(request.path)])
        plugin_factory.root.mkdir(parents=True, exist_ok=True)
        return boot(plugins, **options)

    return start


@pytest.fixture
async def kernel(request: pytest.FixtureRequest, boot_kernel: BootKernel) -> AsyncIterator[Kernel]:
    """The plugin this test file belongs to, booted with its requirements."""
    folder = enclosing_plugin(request.path)
    if folder is None:
        pytest.fail(
            f"the `kernel` fixture boots the plugin a test lives in, but {request.path} is in "
            f"no folder with a {MANIFEST_FILE}; use boot_kernel([...]) instead"
        )
    async with boot_kernel([load_manifest(folder / MANIFEST_FILE).name]) as booted:
        yield booted


def enclosing_plugin(path: Path) -> Path | None:
    """The plugin folder (one with a `plugin.toml`) that `path` is in, if any."""
    for folder in [path, *path.parents]:
        if (folder / MANIFEST_FILE).is_file():
            return folder
    return None


def _roots_around(path: Path) -> list[Path]:
    """The folder holding the plugin `path` is in, so that plugin and its siblings are
    found: what `--plugins-dir` would be. None for the built-in plugins, searched anyway."""
    folder = enclosing_plugin(path)
    if folder is None or folder.resolve().is_relative_to(builtin_plugins_dir()):
        return []
    return [folder.parent]


# --- pytest hooks: plugins importable as mindframe_plugins.<name> from collection on ------


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before the first conftest is imported: the built-in plugins, and those around the
    paths pytest was given."""
    make_importable(builtin_plugins_dir())
    given = early_config.known_args_namespace.file_or_dir or [early_config.invocation_params.dir]
    for argument in given:
        path = Path(str(argument).partition("::")[0])
        for root in _roots_around(path.absolute()):
            make_importable(root)


def pytest_collect_directory(path: Path) -> None:
    """Before a folder's conftest and tests are imported: the plugins around it."""
    for root in _roots_around(path):
        make_importable(root)
