"""Everything a plugin author imports from Mindframe, and nothing else.

Routes use Litestar's own decorators (`from litestar import get, post`) and tables use
SQLAlchemy as they are; this module adds only what is Mindframe's: the hook marker, the
context a hook receives, the settings base, event types and the GDPR subject.
"""

from pluggy import HookimplMarker

from mindframe.kernel.bus import Envelope, Event, idempotent
from mindframe.kernel.container import ServiceError
from mindframe.kernel.context import PluginContext
from mindframe.kernel.plugin_hooks import HookOutcome, PluginHooks
from mindframe.kernel.settings import PluginSettings

from .subject import Subject

hookimpl = HookimplMarker("mindframe")
"""Marks a function in a plugin's `__init__.py` as the implementation of the hook of the
same name; see `mindframe.kernel.hookspecs` for every hook."""

__all__ = [
    "Envelope",
    "Event",
    "HookOutcome",
    "PluginContext",
    "PluginHooks",
    "PluginSettings",
    "ServiceError",
    "Subject",
    "hookimpl",
    "idempotent",
]
