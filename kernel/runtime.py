"""The runtime: finds, loads, starts and stops plugins, and owns the shared services.

One plugin's failure (bad manifest, import error, raising or hanging startup, missing
requirement, cycle) fails that plugin and holds back its dependents; everything else
runs. `Runtime` is an async context manager: entering boots, leaving stops.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup

from . import boot_gc, hooks
from .bus import Bus, create_bus
from .container import Container
from .context import PluginContext
from .discovery import Candidate, discover, discover_folder
from .discovery import plugin_roots as default_roots
from .http.apps import build_app, count_routes, parameter_names, service_dependencies
from .http.asgi import Dispatcher, Mount
from .http.kernel_app import build_kernel_app
from .lifecycle import Lifecycle
from .manifest import Manifest
from .ordering import dependents_of, requirement_problems, start_order, with_requirements
from .plugin_hooks import PluginHooks
from .records import PluginRecord, PluginState
from .reload import Reloader, ReloadResult
from .settings import Settings, load_settings
from .storage import Database

log = logging.getLogger("mindframe.runtime")
RESERVED_NAMES = {"api", "kernel", "schema", "health", "static", "docs"}


class Runtime:
    """Everything a running Mindframe is: plugins, container, bus, database and HTTP."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        only: Iterable[str] | None = None,
        plugin_roots: Iterable[Path] | None = None,
        entry_points: bool = True,
    ) -> None:
        self.settings = settings or load_settings()
        self.roots = (
            list(plugin_roots) if plugin_roots is not None else default_roots(self.settings.kernel)
        )
        self.only = set(only) if only is not None else None
        self.entry_points = entry_points
        self.records: dict[str, PluginRecord] = {}
        self.order: list[str] = []
        self._locks: dict[str, anyio.Lock] = {}
        self.container = Container()
        self.container.provide(PluginHooks, PluginHooks(self), owner="kernel")
        self.plugin_manager = hooks.new_plugin_manager()
        self.database: Database = None  # type: ignore[assignment]  # set in start()
        self.bus: Bus = None  # type: ignore[assignment]
        self.task_group: TaskGroup = None  # type: ignore[assignment]
        self.lifecycle = Lifecycle(self)
        self.reloader = Reloader(self)
        self.dispatcher = Dispatcher(
            kernel_app=build_kernel_app(self), lifespan=self.running, container=self.container
        )
        self.restart_needed: list[str] = []

    # --- public view -----------------------------------------------------------------------

    @property
    def asgi(self) -> Dispatcher:
        return self.dispatcher

    def active(self) -> set[str]:
        return {name for name, r in self.records.items() if r.state is PluginState.ACTIVE}

    def plugin(self, name: str) -> PluginRecord:
        try:
            return self.records[name]
        except KeyError:
            raise LookupError(f"no plugin named {name!r}") from None

    def plugins_view(self) -> list[dict[str, Any]]:
        return [self.records[name].view() for name in self._display_order()]

    def route_count(self) -> int:
        return sum(count_routes(m.app) for m in self.dispatcher.mounts.values())

    # --- boot and stop ---------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        """Boot, yield, stop; the task group that plugins' background work lives in spans it.

        An error from the body is re-raised as itself, not wrapped in the task group's
        exception group, so callers (and test reports) see what actually failed."""
        body_error: BaseException | None = None
        stop_watching = anyio.Event()
        async with anyio.create_task_group() as task_group:
            self.task_group = task_group
            try:
                await self.start()
                if self.settings.kernel.reload:
                    from .watch import watch  # watchfiles: only for --reload

                    ready = anyio.Event()
                    task_group.start_soon(partial(watch, self, stop=stop_watching, ready=ready))
                    await ready.wait()
                try:
                    yield self
                except BaseException as error:
                    body_error = error
            finally:
                stop_watching.set()
                with anyio.CancelScope(shield=True):
                    await self.stop()
                task_group.cancel_scope.cancel()
        if body_error is not None:
            raise body_error

    async def __aenter__(self) -> Runtime:
        self._running = self.running()
        return await self._running.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._running.__aexit__(*exc_info)

    async def start(self) -> None:
        kernel = self.settings.kernel
        kernel.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: the database
        self.database = Database(kernel.resolved_database_url())
        self.bus = await create_bus(
            kernel.bus_url, self.database.engine, on_error=self.report_error
        )
        await self.bus.start()
        self.prepare()
        for name in self.order:
            record = self.records[name]
            if record.state is PluginState.LOADED:
                if name in kernel.disabled:
                    record.state = PluginState.DISABLED
                    continue
                await self.lifecycle.start(record)
        active = len(self.active())
        log.info("mindframe: %d of %d plugins active", active, len(self.records))
        boot_gc.end()

    async def stop(self) -> None:
        async with self._holding(self.order):  # a management call under way finishes first
            for name in reversed(self.order):
                record = self.records.get(name)
                if record is not None and record.state is PluginState.ACTIVE:
                    await self.lifecycle.stop(record, PluginState.UNLOADED)
            self.unload_all()
        if self.bus is not None:
            await self.bus.close()
        if self.database is not None:
            await self.database.close()

    def prepare(self) -> None:
        """Discover, order and import every plugin; start none (also the CLI's dry load).

        Plugins are imported in dependency order, so a plugin may import its
        requirements' modules (`from mindframe_plugins.auth import ...`)."""
        self._discover()
        self._resolve()
        for name in self.order:
            record = self.records[name]
            if record.state is PluginState.DISCOVERED:
                self.lifecycle.load(record)

    def unload_all(self) -> None:
        for record in self.records.values():
            self.lifecycle.unload(record)

    def _discover(self) -> None:
        candidates = discover(self.roots, include_entry_points=self.entry_points)
        if self.only is not None:
            manifests = {c.manifest.name: c.manifest for c in candidates if c.manifest}
            wanted = with_requirements(self.only, manifests)
            candidates = [c for c in candidates if c.name in wanted]
        for candidate in candidates:
            self._add(candidate)

    def _add(self, candidate: Candidate) -> PluginRecord:
        record = PluginRecord(candidate)
        name = candidate.name
        if candidate.error:
            record.fail(candidate.error)
        elif name in RESERVED_NAMES:
            record.fail(
                f"{candidate.origin}: the name {name!r} is reserved by the kernel; rename it"
            )
        if name in self.records:
            first = self.records[name]
            record.fail(
                f"{candidate.origin}: a plugin named {name!r} is already loaded "
                f"from {first.candidate.origin}"
            )
            name = f"{name}@{candidate.origin}"
        self.records[name] = record
        return record

    def _resolve(self) -> None:
        """Fail plugins whose requirements cannot be met, and compute the start order."""
        usable = {
            n: r.manifest
            for n, r in self.records.items()
            if r.manifest and r.state is PluginState.DISCOVERED
        }
        everything = self.manifests()
        for name, manifest in usable.items():
            problems = requirement_problems(manifest, everything)
            if problems:
                self.records[name].fail("; ".join(problems))
        order, cycles = start_order(everything.values())
        for name, description in cycles.items():
            if self.records[name].state is PluginState.DISCOVERED:
                self.records[name].fail(description)
        self.order = [*order, *(n for n in self.records if n not in order)]

    def _display_order(self) -> list[str]:
        return [name for name in self.order if name in self.records]

    # --- what the file watcher asks for ------------------------------------------------------

    def folder_plugins(self) -> list[tuple[str, PluginRecord]]:
        return [
            (name, record)
            for name, record in self.records.items()
            if record.folder is not None and record.candidate.entry_point is None
        ]

    def in_start_order(self, names: Iterable[str]) -> list[str]:
        wanted = set(names)
        return [name for name in self.order if name in wanted]

    def note_restart_needed(self, path: Path) -> None:
        if str(path) not in self.restart_needed:
            self.restart_needed.append(str(path))

    async def add_plugin(self, folder: Path) -> PluginRecord:
        """Load and start a plugin folder that appeared while running."""
        record = self._add(discover_folder(folder))
        self.order.append(record.name)
        async with self._holding([record.name]):
            manifest = record.manifest
            if record.state is PluginState.DISCOVERED and manifest is not None:
                problems = requirement_problems(manifest, self.manifests())
                if problems:
                    record.fail("; ".join(problems))
                else:
                    self.lifecycle.load(record)
            if record.state is PluginState.LOADED:
                await self.lifecycle.start(record)
        log.info("plugin folder %s added: %s is %s", folder, record.name, record.state.value)
        return record

    async def remove_plugin(self, name: str) -> None:
        """Unload a plugin whose folder was deleted; what required it is held back."""
        async with self._changing(name):
            await self._disable(name)
            for dependent in dependents_of(name, self.manifests()):
                other = self.records[dependent]
                if other.held_back_by == name:
                    other.error = f"held back: requires '{name}', whose folder was removed"
            record = self.records.pop(name)
            self.lifecycle.unload(record)
            self.order = [n for n in self.order if n != name]
            self.dispatcher.unavailable.pop(name, None)
        log.info("plugin %s removed with its folder", name)

    # --- enable and disable ------------------------------------------------------------------

    @asynccontextmanager
    async def _holding(self, names: Iterable[str]) -> AsyncIterator[None]:
        """Hold the lock of each plugin in `names`, taken in start order: every change of a
        plugin's state holds its lock, so a second management call on the same plugin
        waits for the first instead of starting the plugin twice (its services registered
        by a context nobody can release any more), and two calls cannot deadlock."""
        position = {name: index for index, name in enumerate(self.order)}
        ordered = sorted(set(names), key=lambda name: (position.get(name, len(position)), name))
        async with AsyncExitStack() as held:
            for name in ordered:
                await held.enter_async_context(self._locks.setdefault(name, anyio.Lock()))
            yield

    def _changing(self, name: str) -> AbstractAsyncContextManager[None]:
        """The locks a change of `name` needs: its own and those of the plugins requiring
        it, which enable, disable and reload start, stop or reload with it (and whose
        start reads its state)."""
        self.plugin(name)  # an unknown name is a LookupError before anything waits
        return self._holding([name, *dependents_of(name, self.manifests())])

    def manifests(self) -> dict[str, Manifest]:
        """Manifests by plugin name. A second plugin claiming a taken name is kept, failed,
        under `name@origin` for the plugin list only, and is left out here."""
        return {n: r.manifest for n, r in self.records.items() if r.manifest and "@" not in n}

    async def disable(self, name: str) -> list[str]:
        """Stop `name` and, first, everything that requires it. Returns the plugins stopped."""
        async with self._changing(name):
            return await self._disable(name)

    async def _disable(self, name: str) -> list[str]:
        record = self.plugin(name)
        stopped = []
        for dependent in reversed(dependents_of(name, self.manifests())):
            other = self.records[dependent]
            if other.state is PluginState.ACTIVE:
                await self.lifecycle.stop(other, PluginState.DISABLED)
                other.error = f"held back: requires '{name}', which is disabled"
                other.held_back_by = name
                stopped.append(dependent)
        if record.state is PluginState.ACTIVE:
            await self.lifecycle.stop(record, PluginState.DISABLED)
        else:
            self.lifecycle.release_leftovers(record)
            record.state = PluginState.DISABLED
        stopped.append(name)
        return stopped

    async def reload(self, name: str) -> ReloadResult:
        """Replace a plugin's code while the server runs (see `kernel.reload`)."""
        async with self._changing(name):
            return await self.reloader.reload(name)

    async def enable(self, name: str) -> list[str]:
        """Start `name` and the plugins it had held back. Returns the plugins now active."""
        async with self._changing(name):
            return await self._enable(name)

    async def _enable(self, name: str) -> list[str]:
        record = self.plugin(name)
        if record.state is PluginState.ACTIVE:
            return []
        if record.code is None:
            self.lifecycle.load(record)
        else:
            record.state = PluginState.LOADED
        if record.state is PluginState.LOADED:
            await self.lifecycle.start(record)
        if record.state is not PluginState.ACTIVE:
            return []
        return [name, *await self.start_held_back(name)]

    async def start_held_back(self, name: str) -> list[str]:
        """Start the plugins that `name` (now active) had held back; returns those started."""
        started = []
        for dependent in dependents_of(name, self.manifests()):
            other = self.records[dependent]
            if other.held_back_by is None or other.code is None:
                continue
            if other.state in (PluginState.DISABLED, PluginState.FAILED):
                other.state = PluginState.LOADED
                await self.lifecycle.start(other)
                if other.state is PluginState.ACTIVE:
                    started.append(dependent)
        return started

    # --- contexts, HTTP mounts and errors ---------------------------------------------------------

    def new_context(self, record: PluginRecord, settings: Any) -> PluginContext:
        assert record.manifest is not None
        return PluginContext(
            manifest=record.manifest,
            folder=record.folder,
            settings=settings,
            container=self.container,
            bus=self.bus,
            database=self.database,
            task_group=self.task_group,
            report_error=self.report_error,
            sockets=self.dispatcher.sockets,
            endpoints=self.dispatcher.endpoints,
            data_dir=self.settings.kernel.data_dir,
        )

    def build_plugin_app(
        self, record: PluginRecord, routes: list[Any], pages: list[Any], with_openapi: bool = False
    ) -> Any:
        assert record.manifest is not None
        name = record.name
        return build_app(
            name=name,
            title=f"{name} plugin",
            version=record.manifest.version,
            routes=routes,
            pages=pages,
            api_prefix=f"/api/{name}",
            page_prefix=f"/{name}",
            dependencies=service_dependencies(self.container, parameter_names([*routes, *pages])),
            report=self.report_error,
            with_openapi=with_openapi,
        )

    def mount(self, record: PluginRecord, app: Any, routes: list[Any], pages: list[Any]) -> None:
        """Serve `app` for the plugin; its OpenAPI document is built only when asked for."""

        code = record.code

        def openapi() -> dict[str, Any]:
            described = code.openapi() if code is not None else None
            if described is not None:
                return described
            twin = self.build_plugin_app(record, routes, [], with_openapi=True)
            return twin.openapi_schema.to_schema()

        mount = Mount(app, api=bool(routes), pages=bool(pages), openapi=openapi if routes else None)
        self.dispatcher.mount(record.name, mount)
        self.invalidate_schema()

    def unmount(self, name: str, reason: str | None) -> None:
        self.dispatcher.unmount(name, reason)
        self.invalidate_schema()

    def invalidate_schema(self) -> None:
        self.dispatcher.kernel_app.state.merged_schema = None

    def report_error(self, error: BaseException, context: dict[str, Any]) -> None:
        """Hand an error to every active plugin's `capture_exception`; never raises."""
        for plugin, result in hooks.broadcast(
            self.plugin_manager, "capture_exception", error=error, context=context
        ):
            if result is not None and inspect.isawaitable(result):
                self._schedule(plugin, result)

    def _schedule(self, plugin: str, awaitable: Any) -> None:
        """Run an async `capture_exception` in the background: its caller cannot wait."""

        async def run() -> None:
            try:
                await awaitable
            except Exception:
                log.exception("plugin %s: capture_exception raised", plugin)

        if self.task_group is not None:
            self.task_group.start_soon(run)
        elif inspect.iscoroutine(awaitable):
            awaitable.close()  # not running: nothing to run it on

    async def health(self) -> dict[str, Any]:
        """Each plugin's state and, for active plugins, what its `health` hook says. An
        active plugin whose last reload failed is not ok: the previous version serves, and
        the error says why the new one does not."""
        report: dict[str, Any] = {}

        async def check(record: PluginRecord, entry: dict[str, Any]) -> None:
            entry.update(await self.lifecycle.check_health(record))
            if record.error:
                errors = [record.error, entry.get("error")]
                entry.update(ok=False, error="; ".join(e for e in errors if e))

        async with anyio.create_task_group() as checks:
            for name in self._display_order():
                record = self.records[name]
                report[name] = entry = {"state": record.state.value}
                if record.state is PluginState.FAILED:
                    entry.update(ok=False, error=record.error)
                elif record.state is PluginState.ACTIVE:
                    checks.start_soon(check, record, entry)
        failing = [n for n, e in report.items() if e.get("ok") is False]
        status = "degraded" if failing else "ok"
        body = {"status": status, "failing": failing, "plugins": report}
        if self.restart_needed:
            body["restart_needed"] = self.restart_needed
        return body
