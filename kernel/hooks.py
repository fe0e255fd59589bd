"""Registering plugin code with pluggy and calling one plugin's hook with its own context.

pluggy calls a hook on every plugin with the same arguments; most Mindframe hooks need
each plugin's own `ctx`, so the kernel looks up the plugin's implementation once, at
registration, and calls it directly. `broadcast` covers hooks every plugin hears.
"""

from __future__ import annotations

import difflib
import inspect
import logging
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs

log = logging.getLogger("mindframe.hooks")


class HookError(Exception):
    """A plugin's hook implementations do not match the hookspecs."""


def new_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


def known_hooks() -> list[str]:
    return sorted(
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec")
    )


def register(
    manager: pluggy.PluginManager, plugin: ModuleType, name: str
) -> dict[str, pluggy.HookImpl]:
    """Register `plugin` and return its implementations by hook name.

    Unknown hook names and misnamed arguments are refused with a suggestion, so a typo
    fails loudly at load instead of the hook silently never being called."""
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        raise HookError(_explain_validation(str(error))) from None
    implementations: dict[str, pluggy.HookImpl] = {}
    unknown = []
    for caller in manager.get_hookcallers(plugin) or []:
        if caller.spec is None:
            unknown.append(caller.name)
            continue
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin:
                implementations[caller.name] = impl
    if unknown:
        manager.unregister(plugin)
        problems = []
        for hook in unknown:
            close = difflib.get_close_matches(hook, known_hooks(), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"'{hook}' is not a Mindframe hook{hint}")
        raise HookError("; ".join(problems) + f"; known hooks: {', '.join(known_hooks())}")
    return implementations


def _explain_validation(message: str) -> str:
    return message.replace("hookimpl definition", "hook implementation")


async def call(impl: pluggy.HookImpl, **arguments: Any) -> Any:
    """Call one implementation with the arguments it asks for; await it if it is async."""
    result = impl.function(*[arguments[name] for name in impl.argnames])
    if inspect.isawaitable(result):
        result = await result
    return result


def broadcast(
    manager: pluggy.PluginManager, hook: str, active: set[str], **arguments: Any
) -> list[tuple[str, Any]]:
    """Call `hook` on every active plugin; one plugin raising does not stop the others.

    Returns (plugin, result) pairs; an awaitable result is returned unawaited for the
    caller to schedule, since this is called from places that cannot wait."""
    results = []
    caller = getattr(manager.hook, hook)
    for impl in reversed(caller.get_hookimpls()):
        if impl.plugin_name not in active:
            continue
        try:
            results.append(
                (impl.plugin_name, impl.function(*[arguments[a] for a in impl.argnames]))
            )
        except Exception:
            log.exception("plugin %s: hook %s raised", impl.plugin_name, hook)
    return results
