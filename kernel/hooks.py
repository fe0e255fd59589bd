"""Registering plugin code with pluggy and calling one plugin's hook with its own context.

pluggy calls a hook on every plugin with the same arguments; most Mindframe hooks need
each plugin's own `ctx`, so the kernel looks up the plugin's implementation once, at
registration, and calls it directly. `broadcast` covers hooks every plugin hears.
"""

from __future__ import annotations

import difflib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Hook:
    """One plugin's implementation of one hook, with its argument order worked out once."""

    plugin: str
    name: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]
    is_async: bool

    def call(self, **arguments: Any) -> Any:
        """Call with the arguments it asks for; an async hook returns its coroutine."""
        return self.function(*[arguments[name] for name in self.argnames])

    async def run(self, **arguments: Any) -> Any:
        """Call and, for an async hook, await."""
        result = self.function(*[arguments[name] for name in self.argnames])
        return await result if self.is_async else result


def collect(manager: pluggy.PluginManager, plugin: ModuleType, name: str) -> dict[str, Hook]:
    """Check `plugin`'s hooks against the hookspecs and return them by hook name.

    Unknown hook names and misnamed arguments are refused with a suggestion, so a typo
    fails loudly at load instead of the hook silently never being called. The plugin is
    left unregistered: only active plugins are registered, so broadcasts reach only them."""
    try:  # under a name of its own, since the running version may hold the plugin's name
        manager.register(plugin, name=f"{name} (being checked)")
    except pluggy.PluginValidationError as error:
        raise HookError(_explain_validation(str(error))) from None
    try:
        found: dict[str, Hook] = {}
        unknown = []
        for caller in manager.get_hookcallers(plugin) or []:
            if caller.spec is None:
                unknown.append(caller.name)
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    found[caller.name] = Hook(
                        name,
                        caller.name,
                        impl.function,
                        tuple(impl.argnames),
                        inspect.iscoroutinefunction(impl.function),
                    )
    finally:
        manager.unregister(plugin)
    if unknown:
        problems = []
        for hook in unknown:
            close = difflib.get_close_matches(hook, known_hooks(), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"'{hook}' is not a Mindframe hook{hint}")
        raise HookError("; ".join(problems) + f"; known hooks: {', '.join(known_hooks())}")
    return found


def _explain_validation(message: str) -> str:
    return message.replace("hookimpl definition", "hook implementation")


def broadcast(manager: pluggy.PluginManager, hook: str, **arguments: Any) -> list[tuple[str, Any]]:
    """Call `hook` on every registered (active) plugin; one raising does not stop the others.

    Returns (plugin, result) pairs; an async hook's coroutine is returned unawaited for
    the caller to schedule, since this is called from places that cannot wait."""
    results = []
    for impl in reversed(getattr(manager.hook, hook).get_hookimpls()):
        try:
            results.append(
                (impl.plugin_name, impl.function(*[arguments[a] for a in impl.argnames]))
            )
        except Exception:
            log.exception("plugin %s: hook %s raised", impl.plugin_name, hook)
    return results
