"""`PluginHooks`: a kernel service through which one plugin calls a cross-cutting hook on
every active plugin, each with its own context (GDPR export and erasure, catalogs, health).

Each plugin's answer or error is returned separately, so a caller can report a plugin that
failed its part and try it again later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from .records import PluginState

if TYPE_CHECKING:
    from .runtime import Runtime

CALLABLE_HOOKS = frozenset(
    {"export_personal_data", "erase_personal_data", "translations", "health"}
)


@dataclass(frozen=True, slots=True)
class HookOutcome:
    """One plugin's answer to a hook: its result, or the error it raised."""

    plugin: str
    result: Any = None
    error: str | None = None


class PluginHooks:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def call_each(self, hook: str, **arguments: Any) -> list[HookOutcome]:
        """Call `hook` on every active plugin that implements it, in start order."""
        if hook not in CALLABLE_HOOKS:
            raise ValueError(f"{hook!r} cannot be called this way; one of {sorted(CALLABLE_HOOKS)}")
        runtime = self._runtime
        outcomes = []
        for name in list(runtime.order):
            record = runtime.records.get(name)
            if record is None or record.state is not PluginState.ACTIVE or hook not in record.hooks:
                continue
            try:
                with anyio.fail_after(runtime.settings.kernel.hook_timeout):
                    result = await runtime.lifecycle.call(
                        record, hook, ctx=record.context, **arguments
                    )
            except Exception as error:
                runtime.report_error(error, {"plugin": name, "hook": hook})
                outcomes.append(HookOutcome(name, error=f"{type(error).__name__}: {error}"))
            else:
                outcomes.append(HookOutcome(name, result))
        return outcomes
