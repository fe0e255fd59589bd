"""Helpers for the sandbox tests: real child processes, a real booted kernel.

`start_sandboxed` puts a sandboxed plugin into a booted kernel the way the kernel's own
`Lifecycle.load` will once it calls `load_sandboxed` (a record whose code is the proxy),
then starts and stops it with the kernel's own `Lifecycle`. Sandboxed plugin folders
are written outside the kernel's plugin roots, so the kernel never imports them itself.
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from mindframe.kernel import hooks
from mindframe.kernel.discovery import Candidate
from mindframe.kernel.loader import module_name_for
from mindframe.kernel.manifest import load_manifest
from mindframe.kernel.records import PluginRecord, PluginState
from mindframe.sandbox import SandboxProxy, load_sandboxed
from mindframe.sdk.testing import Kernel

FAST = """
[settings.sandbox]
heartbeat_timeout = 1.5
backoff_initial = 0.2
"""


def write_plugin(
    root: Path,
    name: str,
    init: str,
    *,
    permissions: str = "",
    extra: str = FAST,
    isolation: str = "process",
) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    manifest = f'name = "{name}"\nversion = "0.1.0"\nisolation = "{isolation}"\n'
    if permissions:
        manifest += "\n[permissions]\n" + textwrap.dedent(permissions)
    manifest += textwrap.dedent(extra)
    (folder / "plugin.toml").write_text(manifest)
    (folder / "__init__.py").write_text(textwrap.dedent(init))
    return folder


def proxy_of(record: PluginRecord) -> SandboxProxy:
    assert record.code is not None
    return record.code.module.sandbox  # type: ignore[no-any-return]


def load_record(kernel: Kernel, folder: Path) -> PluginRecord:
    """What `Lifecycle.load` does for an `isolation = "process"` plugin, once wired."""
    runtime = kernel.runtime
    manifest = load_manifest(folder / "plugin.toml")
    record = runtime.records.get(manifest.name) or PluginRecord(
        Candidate(str(folder), folder, manifest)
    )
    record.code = load_sandboxed(
        folder,
        manifest,
        module_name_for(manifest.module_name),
        report_error=runtime.report_error,
    )
    record.hooks = hooks.collect(runtime.plugin_manager, record.code.module, record.name)
    record.state = PluginState.LOADED
    runtime.records[manifest.name] = record
    return record


@asynccontextmanager
async def start_sandboxed(kernel: Kernel, folder: Path) -> AsyncIterator[PluginRecord]:
    record = load_record(kernel, folder)
    await kernel.runtime.lifecycle.start(record)
    try:
        yield record
    finally:
        if record.state is PluginState.ACTIVE:
            await kernel.runtime.lifecycle.stop(record, PluginState.UNLOADED)
        kernel.runtime.lifecycle.unload(record)


async def eventually(check: Callable[[], Any], timeout: float = 10.0, step: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy (or its awaitable does)."""
    with anyio.fail_after(timeout):
        while True:
            value = check()
            if hasattr(value, "__await__"):
                value = await value
            if value:
                return value
            await anyio.sleep(step)
