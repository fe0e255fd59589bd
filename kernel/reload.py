"""Hot reload of one plugin while the server runs.

1. Read the new manifest and import the new code under the same module name; an error
   stops here and the old version keeps serving.
2. Hold new requests and events for the plugin (they wait, they do not fail).
3. `snapshot_state` on the old version; stop it, keeping its bus queues.
4. Start the new version and `restore_state`; if either fails, put the old code back,
   start it again with its own state, and report.
5. Release what was held, to whichever version is now active.
6. Reload the active plugins that require it, in dependency order.

Requests already inside the old version's app finish there: swapping is one reference
change in the dispatcher.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import hooks, loader
from .discovery import Candidate, discover_entry_point, discover_folder
from .ordering import dependents_of, requirement_problems
from .records import PluginRecord, PluginState

if TYPE_CHECKING:
    from .runtime import Runtime

log = logging.getLogger("mindframe.reload")


@dataclass
class ReloadResult:
    """What a reload did, for the API, the CLI and the watcher's log."""

    plugin: str
    ok: bool
    error: str | None = None
    version: str | None = None
    seconds: float = 0.0
    dependents: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "ok": self.ok,
            "error": self.error,
            "version": self.version,
            "milliseconds": round(self.seconds * 1000, 1),
            "reloaded_dependents": self.dependents,
        }


@dataclass(frozen=True)
class Version:
    """One version of a plugin's code: its manifest, imported modules and hooks."""

    candidate: Candidate
    code: loader.ImportedCode
    hooks: dict[str, hooks.Hook]

    @classmethod
    def of(cls, record: PluginRecord) -> Version:
        assert record.code is not None
        return cls(record.candidate, record.code, record.hooks)

    def install(self, record: PluginRecord) -> None:
        record.candidate, record.code, record.hooks = self.candidate, self.code, self.hooks

    @property
    def number(self) -> str | None:
        return self.candidate.manifest.version if self.candidate.manifest else None


class Reloader:
    """Replaces a plugin's code under a running runtime. The caller (`Runtime.reload`)
    holds the locks of the plugin and of those requiring it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def reload(self, name: str) -> ReloadResult:
        result = await self._reload_one(name)
        if result.ok:
            for dependent in dependents_of(name, self.runtime.manifests()):
                if self.runtime.records[dependent].state is PluginState.ACTIVE:
                    await self._reload_one(dependent)
                    result.dependents.append(dependent)
            result.dependents += await self.runtime.start_held_back(name)
        return result

    async def _reload_one(self, name: str) -> ReloadResult:
        started = time.perf_counter()
        record = self.runtime.plugin(name)
        result = await self._replace(record)
        result.seconds = time.perf_counter() - started
        if result.ok:
            record.error = None
            log.info("plugin %s reloaded in %.1f ms", name, result.seconds * 1000)
        else:
            log.error("plugin %s: reload failed: %s", name, result.error)
        return result

    async def _replace(self, record: PluginRecord) -> ReloadResult:
        name = record.name
        candidate = self._rediscover(record)
        if candidate.error or candidate.manifest is None:
            return self._refuse(record, candidate.error or "no manifest")
        if candidate.manifest.name != name:
            return self._refuse(
                record,
                f"{candidate.origin}: the manifest renames '{name}' to "
                f"'{candidate.manifest.name}'; renaming a plugin needs a restart",
            )
        problems = requirement_problems(candidate.manifest, self.runtime.manifests())
        if problems:
            return self._refuse(record, "; ".join(problems))
        try:
            new_code = self.runtime.lifecycle.import_code(candidate)
        except Exception as error:  # SyntaxError is an Exception too
            return self._refuse(
                record,
                loader.describe_error(error, candidate.folder),
                loader.format_traceback(error),
            )
        try:
            new_hooks = hooks.collect(self.runtime.plugin_manager, new_code.module, name)
        except hooks.HookError as error:
            new_code.rollback()
            return self._refuse(record, f"{candidate.origin}: {error}")

        new = Version(candidate, new_code, new_hooks)
        if record.state is not PluginState.ACTIVE:
            return await self._start_fresh(record, new)
        return await self._swap(record, new)

    async def _swap(self, record: PluginRecord, new: Version) -> ReloadResult:
        runtime, lifecycle, name = self.runtime, self.runtime.lifecycle, record.name
        old = Version.of(record)
        runtime.dispatcher.hold(name)
        await runtime.bus.suspend(name)
        try:
            try:
                state = await lifecycle.call_within(
                    record, "snapshot_state", lifecycle.hook_timeout, ctx=record.context
                )
            except Exception as error:
                new.code.rollback()
                return self._refuse(
                    record,
                    f"snapshot_state of the running version raised "
                    f"{loader.describe_error(error, record.folder)}",
                    loader.format_traceback(error),
                )
            await lifecycle.stop(record, PluginState.LOADED, reloading=True)
            new.install(record)
            error = await self._start_with_state(record, state)
            if error is None:
                return ReloadResult(name, ok=True, version=new.number)
            # roll back: the old modules go back into sys.modules and the old version
            # starts again with the state it handed over
            if record.state is PluginState.ACTIVE:
                await lifecycle.stop(record, PluginState.LOADED, reloading=True)
            new.code.rollback()
            old.install(record)
            restart_error = await self._start_with_state(record, state)
            if restart_error is not None:
                record.fail(
                    f"reload failed ({error}) and the old version did not restart: {restart_error}"
                )
                return ReloadResult(name, ok=False, error=record.error)
            record.error = f"reload failed, the previous version keeps serving: {error}"
            return ReloadResult(name, ok=False, error=error)
        finally:
            runtime.dispatcher.release(name)
            await runtime.bus.resume(name)

    async def _start_with_state(self, record: PluginRecord, state: Any) -> str | None:
        """Start the record's current code and hand it `state`; the error, if any."""
        lifecycle = self.runtime.lifecycle
        await lifecycle.start(record)
        if record.state is not PluginState.ACTIVE:
            return record.error or "startup failed"
        if state is not None and "restore_state" in record.hooks:
            try:
                await lifecycle.call_within(
                    record, "restore_state", lifecycle.hook_timeout, ctx=record.context, state=state
                )
            except Exception as error:
                self.runtime.report_error(error, {"plugin": record.name, "hook": "restore_state"})
                return loader.describe_error(error, record.folder)
        return None

    async def _start_fresh(self, record: PluginRecord, new: Version) -> ReloadResult:
        """A plugin that was failed starts with its fixed code; a disabled one gets the new
        code and stays disabled until enabled."""
        new.install(record)
        if record.state is PluginState.DISABLED:
            return ReloadResult(record.name, ok=True, version=new.number)
        record.state, record.error, record.traceback = PluginState.LOADED, None, None
        await self.runtime.lifecycle.start(record)
        if record.state is PluginState.ACTIVE:
            return ReloadResult(record.name, ok=True, version=new.number)
        return ReloadResult(record.name, ok=False, error=record.error)

    def _refuse(
        self, record: PluginRecord, error: str, traceback: str | None = None
    ) -> ReloadResult:
        """The new code cannot even be tried: the old version (if any) keeps serving."""
        if record.state is PluginState.ACTIVE:
            record.error = f"reload failed, the previous version keeps serving: {error}"
            record.traceback = traceback
        else:
            record.fail(error, traceback)
        self.runtime.report_error(RuntimeError(error), {"plugin": record.name, "hook": "reload"})
        return ReloadResult(record.name, ok=False, error=error)

    def _rediscover(self, record: PluginRecord) -> Candidate:
        if record.candidate.entry_point is not None:
            return discover_entry_point(record.candidate.entry_point)
        assert record.folder is not None
        return discover_folder(record.folder)
