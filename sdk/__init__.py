"""Everything a plugin author imports from Mindframe, and nothing else.

Routes use Litestar's own decorators (`from litestar import get, post`) and tables use
SQLAlchemy as they are; this module adds only what is Mindframe's: the hook marker, the
context a hook receives, the settings base, event types and the GDPR subject. A hot path
that needs none of Litestar is a lean endpoint (`ctx.endpoint`, `mindframe.sdk.endpoints`).
"""

import importlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from pluggy import HookimplMarker

if TYPE_CHECKING:
    from mindframe.kernel.bus import Envelope, Event, idempotent
    from mindframe.kernel.container import ServiceError
    from mindframe.kernel.context import PluginContext
    from mindframe.kernel.jobs import Job
    from mindframe.kernel.plugin_hooks import HookOutcome, PluginHooks
    from mindframe.kernel.settings import PluginSettings

    from . import endpoints
    from .subject import Subject

_LAZY = {
    "Envelope": "mindframe.kernel.bus",
    "Event": "mindframe.kernel.bus",
    "idempotent": "mindframe.kernel.bus",
    "ServiceError": "mindframe.kernel.container",
    "PluginContext": "mindframe.kernel.context",
    "Job": "mindframe.kernel.jobs",
    "HookOutcome": "mindframe.kernel.plugin_hooks",
    "PluginHooks": "mindframe.kernel.plugin_hooks",
    "PluginSettings": "mindframe.kernel.settings",
    "endpoints": "mindframe.sdk.endpoints",
    "Subject": "mindframe.sdk.subject",
}
"""Imported when first asked for, so importing one light SDK module (`mindframe.sdk.i18n`
in a worker process, `ctx.process_pool`) does not import the kernel (~1 s of imports)."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mindframe.sdk' has no attribute {name!r}")
    found = importlib.import_module(module)
    value = found if name == "endpoints" else getattr(found, name)
    globals()[name] = value
    return value


hookimpl = HookimplMarker("mindframe")
"""Marks a function in a plugin's `__init__.py` as the implementation of the hook of the
same name; see `mindframe.kernel.hookspecs` for every hook."""


@asynccontextmanager
async def booted(plugins: Iterable[str]) -> AsyncIterator[Callable[..., Any]]:
    """Start `plugins` (and what they require) under the user's settings for as long as the
    block runs, yielding `resolve(ServiceType)`: for command-line tools that need a plugin's
    services without a running server (`mindframe users create`)."""
    from mindframe.kernel.runtime import Runtime

    async with Runtime(only=plugins) as runtime:
        yield runtime.container.resolve


__all__ = [
    "Envelope",
    "Event",
    "HookOutcome",
    "Job",
    "PluginContext",
    "PluginHooks",
    "PluginSettings",
    "ServiceError",
    "Subject",
    "booted",
    "endpoints",
    "hookimpl",
    "idempotent",
]
