"""One plugin's way through the states: load (import + register hooks), start (settings,
wiring hooks, `startup`, mount), stop (`shutdown`, release the ledger) and unload.

A failure at any step leaves the plugin failed with a one-line reason and the traceback,
and releases whatever the failed step had acquired.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from . import hooks, loader
from .context import PluginContext
from .discovery import Candidate
from .python_requires import check_python_requires
from .records import PluginRecord, PluginState

if TYPE_CHECKING:
    from .runtime import Runtime

log = logging.getLogger("mindframe.lifecycle")
HEALTH_TIMEOUT = 2.0
SESSION_GRACE = 30.0
CANCEL_GRACE = 1.0
"""How long a hook past its deadline has to end once cancelled, before the kernel stops
waiting for it."""


class HookTimeout(TimeoutError):
    """A hook ran past its deadline."""


class Lifecycle:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # --- load ----------------------------------------------------------------------------

    def load(self, record: PluginRecord) -> None:
        """Import the plugin's code and register its hooks; state becomes loaded or failed."""
        try:
            record.code = self.import_code(record.candidate)
        except BaseException as error:
            if not isinstance(error, Exception | SyntaxError):
                raise
            record.fail(loader.describe_error(error, record.folder), loader.format_traceback(error))
            log.error("plugin %s failed to import: %s", record.name, record.error)
            return
        try:
            record.hooks = hooks.collect(
                self.runtime.plugin_manager, record.code.module, record.name
            )
        except hooks.HookError as error:
            record.code.rollback()
            record.code = None
            record.fail(f"{record.candidate.origin}: {error}")
            log.error("plugin %s has bad hooks: %s", record.name, record.error)
            return
        record.state = PluginState.LOADED
        record.error = None

    def import_code(self, candidate: Candidate) -> loader.ImportedCode:
        """The plugin's code: its package imported here, or for `isolation = "process"` a
        proxy whose hooks drive the plugin in a child process."""
        manifest = candidate.manifest
        assert manifest is not None
        check_python_requires(manifest)
        if candidate.entry_point is not None:
            return loader.import_installed(candidate.entry_point.module)
        assert candidate.folder is not None
        module_name = loader.module_name_for(manifest.module_name)
        if manifest.isolation == "process":
            from mindframe.sandbox import load_sandboxed

            return load_sandboxed(
                candidate.folder, manifest, module_name, report_error=self.runtime.report_error
            )
        return loader.import_folder(candidate.folder, module_name)

    def unload(self, record: PluginRecord) -> None:
        """Forget the plugin's code: unregister its hooks and drop its modules."""
        if record.code is None:
            return
        self._unregister(record)
        loader.forget_modules(record.code.module_name)
        record.code = None
        record.hooks = {}
        if record.state is not PluginState.FAILED:
            record.state = PluginState.UNLOADED

    # --- start ---------------------------------------------------------------------------

    async def start(self, record: PluginRecord) -> None:
        """Wire and start a loaded plugin whose requirements are active."""
        runtime = self.runtime
        blocker = self._inactive_requirement(record)
        if blocker is not None:
            other = runtime.records[blocker]
            reason = other.error.splitlines()[0] if other.error else other.state.value
            record.fail(f"held back: requires '{blocker}', which is {other.state.value} ({reason})")
            record.held_back_by = blocker
            return
        record.held_back_by = None
        manifest = record.manifest
        assert manifest is not None
        step = "settings"
        try:
            model = await self.call(record, "settings_model")
            settings = runtime.settings.plugin_section(manifest.name, manifest.settings, model)
            record.context = ctx = runtime.new_context(record, settings)
            step = "translations"
            extra = await self.call(record, "translations", ctx=ctx)
            ctx.declare_catalogs([Path(folder) for folder in extra or []])
            step = "register_services"
            await self.call(record, "register_services", ctx=ctx)
            step = "register_tables"
            declared = await self.call(record, "register_tables", ctx=ctx)
            if declared is not None:
                tables = await runtime.database.claim_tables(
                    record.name,
                    ctx.table_prefix,
                    declared,
                    record.code.revisions if record.code else None,
                    additive=runtime.settings.kernel.reload,
                )
                ctx.ledger.record(
                    "table",
                    ", ".join(t.name for t in tables),
                    lambda: runtime.database.release_tables(tables),
                )
            step = "register_subscriptions"
            await self.call(record, "register_subscriptions", ctx=ctx)
            step = "register_routes"
            routes = list(await self.call(record, "register_routes", ctx=ctx) or [])
            step = "register_pages"
            pages = list(await self.call(record, "register_pages", ctx=ctx) or [])
            app = runtime.build_plugin_app(record, routes, pages) if routes or pages else None
            step = "startup"
            await self.call_within(record, "startup", manifest.startup_timeout, ctx=ctx)
        except BaseException as error:
            if not isinstance(error, Exception):
                raise
            if isinstance(error, HookTimeout):
                error = HookTimeout(
                    f"{error} (raise startup_timeout in plugin.toml if it needs longer)"
                )
            await self._release(record)
            kind, _, detail = loader.describe_error(error, record.folder).partition(": ")
            record.fail(f"{kind} in {step}: {detail}", loader.format_traceback(error))
            log.error("plugin %s failed to start: %s", record.name, record.error)
            runtime.unmount(record.name, f"plugin '{record.name}' is failed: {record.error}")
            runtime.report_error(error, {"plugin": record.name, "hook": step})
            return
        if app is not None:
            runtime.mount(record, app, routes, pages)
            ctx.ledger.record(
                "routes", f"/api/{record.name}", lambda: runtime.unmount(record.name, None)
            )
        else:  # serving only endpoints or sockets, if anything: nothing of it is unavailable
            runtime.dispatcher.unavailable.pop(record.name, None)
        self.runtime.plugin_manager.register(record.code.module, name=record.name)
        record.state = PluginState.ACTIVE
        record.error = None
        record.traceback = None
        await runtime.dispatcher.sockets.activate(record.name)  # adopt sockets a reload left
        log.info("plugin %s %s active", record.name, manifest.version)

    def _inactive_requirement(self, record: PluginRecord) -> str | None:
        assert record.manifest is not None
        active = self.runtime.active()
        for requirement in record.manifest.requirements:
            if requirement.name not in active:
                return requirement.name
        return None

    # --- stop ----------------------------------------------------------------------------

    async def stop(
        self, record: PluginRecord, final: PluginState, *, reloading: bool = False
    ) -> None:
        """Call `shutdown`, then release everything the plugin acquired.

        When `reloading`, the plugin's bus queues are kept for the next version to adopt,
        and its database sessions are left to the requests still using them (closed after
        a grace period if they leak), so in-flight work finishes on the old code."""
        ctx = record.context
        if ctx is not None and "shutdown" in record.hooks:
            try:
                await self.call_within(record, "shutdown", self.hook_timeout, ctx=ctx)
            except Exception as error:
                log.exception("plugin %s: shutdown failed", record.name)
                self.runtime.report_error(error, {"plugin": record.name, "hook": "shutdown"})
        self._unregister(record)
        if reloading and ctx is not None:
            self.runtime.bus.unsubscribe_owner(record.name, keep_queues=True)
            ctx.ledger.forget_kind("subscription")
            failures = await ctx.ledger.release_all(keep=frozenset({"session"}))
            if len(ctx.ledger):
                self.runtime.task_group.start_soon(self._release_late, ctx)
            if failures:
                log.warning("plugin %s: resources failed to release: %s", record.name, failures)
        else:
            await self._release(record)
        record.state = final
        reason = f"plugin '{record.name}' is {final.value}"
        self.runtime.unmount(record.name, reason)

    def _unregister(self, record: PluginRecord) -> None:
        manager = self.runtime.plugin_manager
        if record.code is not None and manager.is_registered(record.code.module):
            manager.unregister(record.code.module)

    async def _release_late(self, ctx: PluginContext) -> None:
        await anyio.sleep(SESSION_GRACE)
        await ctx.ledger.release_all()

    async def _release(self, record: PluginRecord) -> None:
        ctx = record.context
        failures = await ctx.ledger.release_all() if ctx is not None else []
        if failures:
            log.warning(
                "plugin %s: %d resources failed to release: %s",
                record.name,
                len(failures),
                failures,
            )
        self.release_leftovers(record)

    def release_leftovers(self, record: PluginRecord) -> None:
        """Remove the services and subscriptions still held under the plugin's name once its
        ledger is released. Only a context that was lost holds any (two starts of one plugin
        racing, before management calls took turns); without this its services would refuse
        every later start with "already provided", and disable + enable could not recover."""
        runtime = self.runtime
        services = runtime.container.registrations(owner=record.name)
        for registration in services:
            runtime.container.remove(registration)
        subscriptions = runtime.bus.unsubscribe_owner(record.name)
        if services or subscriptions:
            log.warning(
                "plugin %s: released %d services (%s) and %d subscriptions that its ledger "
                "had lost",
                record.name,
                len(services),
                ", ".join(r.key for r in services),
                subscriptions,
            )

    # --- calls -----------------------------------------------------------------------------

    async def call(self, record: PluginRecord, hook: str, **arguments: Any) -> Any:
        """Run one plugin's implementation of `hook`, if it has one."""
        implementation = record.hooks.get(hook)
        if implementation is None:
            return None
        return await implementation.run(**arguments)

    @property
    def hook_timeout(self) -> float:
        return self.runtime.settings.kernel.hook_timeout

    async def call_within(
        self, record: PluginRecord, hook: str, timeout: float, **arguments: Any
    ) -> Any:
        """`call`, with a deadline the hook cannot ignore: it runs in a task of its own, is
        cancelled at the deadline, and if it does not end within `CANCEL_GRACE` (it swallowed
        the cancellation, or waits in a shielded scope or a thread) the kernel stops waiting
        for it. Either way a late hook raises `HookTimeout`; one that ends later anyway has
        what it acquired through its `ctx` released then."""
        if hook not in record.hooks:
            return None
        finished = anyio.Event()
        outcome: dict[str, Any] = {}
        scope = anyio.CancelScope()
        abandoned = False

        async def run() -> None:
            try:
                with scope:
                    outcome["value"] = await self.call(record, hook, **arguments)
            except Exception as error:
                outcome["error"] = error
            finally:
                finished.set()
                if abandoned and arguments.get("ctx") is not None:
                    await arguments["ctx"].ledger.release_all()

        self.runtime.task_group.start_soon(run, name=f"plugin {record.name}: {hook}")
        try:
            with anyio.move_on_after(timeout):
                await finished.wait()
            if finished.is_set():
                if "error" in outcome:
                    raise outcome["error"]
                return outcome.get("value")
            scope.cancel()
            with anyio.move_on_after(CANCEL_GRACE):
                await finished.wait()
        finally:
            scope.cancel()  # also when the caller itself is cancelled
        late = f"{hook} did not finish within {timeout:g} s"
        if finished.is_set():
            raise HookTimeout(late)
        abandoned = True
        raise HookTimeout(
            f"{late} and went on when cancelled (it swallows the cancellation or waits "
            "where it cannot be cancelled); the kernel stopped waiting for it"
        )

    async def check_health(self, record: PluginRecord) -> dict[str, Any]:
        if "health" not in record.hooks:
            return {"ok": True}
        try:
            result = await self.call_within(record, "health", HEALTH_TIMEOUT, ctx=record.context)
        except HookTimeout:
            return {"ok": False, "error": f"health check took longer than {HEALTH_TIMEOUT:g} s"}
        except Exception as error:
            return {"ok": False, "error": f"{type(error).__name__}: {error}"}
        if result is None or result is True:
            return {"ok": True}
        if result is False:
            return {"ok": False}
        if isinstance(result, dict):
            return {
                "ok": bool(result.get("ok", True)),
                **{k: v for k, v in result.items() if k != "ok"},
            }
        return {"ok": True, "detail": result}
