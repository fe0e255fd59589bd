"""Helpers for the sandbox tests: plugin folders saying `isolation = "process"`, written with
the SDK's `plugin_factory` and booted, reloaded and health-checked by a real kernel."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from mindframe.sandbox import SandboxProxy
from mindframe.sdk.testing import Kernel, PluginFactory

FAST = """
[settings.sandbox]
heartbeat_timeout = 1.5
backoff_initial = 0.2
"""


def write_plugin(
    factory: PluginFactory, name: str, init: str, *, permissions: str = "", limits: str = FAST
) -> Path:
    """A sandboxed plugin folder under the factory's root (found by `boot_kernel`)."""
    manifest = 'isolation = "process"\n'
    if permissions:
        manifest += "\n[permissions]\n" + textwrap.dedent(permissions)
    manifest += textwrap.dedent(limits)
    return factory.make(name, init, extra_manifest=manifest)


def proxy_of(kernel: Kernel, name: str) -> SandboxProxy:
    """The kernel-side stand-in the kernel loaded for sandboxed plugin `name`."""
    code = kernel.runtime.records[name].code
    assert code is not None, kernel.error(name)
    return code.module.sandbox  # type: ignore[no-any-return]


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
