"""The kernel-side stand-in for a sandboxed plugin: a module of hook implementations.

`load_sandboxed` returns it as an `ImportedCode`, so the kernel collects, starts, stops,
health-checks and reloads it exactly like an in-process plugin, while the plugin's own
code only ever runs in the child. The child is spawned in `register_routes` (only it
knows the plugin's routes and pages). Everything the proxy acquires goes through `ctx`,
so the ownership ledger releases it: the supervisor task (`ctx.spawn`), the subscriptions
the child asks for (`ctx.subscribe`), and stopping the child (`ctx.on_unload`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pluggy import HookimplMarker

from mindframe.kernel.context import PluginContext
from mindframe.kernel.loader import ImportedCode
from mindframe.kernel.manifest import Manifest

from . import protocol as p
from .bridge import Bridge
from .limits import HEARTBEAT_INTERVAL, Limits
from .permissions import AuditRecord, PermissionDenied
from .proxy_http import ProxyMount
from .supervisor import ChildProcess, ChildUnavailable, Supervisor

log = logging.getLogger("mindframe.sandbox")
hookimpl = HookimplMarker("mindframe")
ErrorReporter = Callable[[BaseException, dict[str, Any]], None]
HEALTH_TIMEOUT = 1.5
HOOK_TIMEOUT = 10.0
AUDIT_KEEP = 1000


class SandboxedPluginError(RuntimeError):
    """An error raised in the child, re-raised in the kernel with the child's message."""


class SandboxProxy:
    """One sandboxed plugin as the kernel sees it."""

    def __init__(
        self, folder: Path, manifest: Manifest, module_name: str, report_error: ErrorReporter
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.module_name = module_name
        self.report_error = report_error
        self.ctx: PluginContext | None = None
        self.supervisor: Supervisor | None = None
        self.bridge = Bridge(self)
        self.described: p.Described | None = None
        self.audit_log: collections.deque[AuditRecord] = collections.deque(maxlen=AUDIT_KEEP)
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def name(self) -> str:
        return self.manifest.name

    def audit(self, record: AuditRecord) -> None:
        self.audit_log.append(record)
        log.warning(
            "sandbox audit: %s %s refused: %s", record.action, record.target, record.message
        )

    # --- hooks -----------------------------------------------------------------------------

    @hookimpl
    async def register_routes(self, ctx: PluginContext) -> list[Any]:
        """Spawn the child: only it knows the plugin's routes. One mount under
        `/api/<plugin>/` forwards them all, if the plugin has any."""
        described = await self._spawn(ctx)
        if not described.routes:
            return []
        return [ProxyMount(self, f"/api/{self.name}")]

    @hookimpl
    def register_pages(self, ctx: PluginContext) -> list[Any]:
        """The plugin's pages (`/<plugin>/…`) are forwarded to the child like its routes."""
        if self.described is None or not self.described.pages:
            return []
        return [ProxyMount(self, f"/{self.name}")]

    @hookimpl
    async def startup(self, ctx: PluginContext) -> None:
        """Wait until the plugin's own `startup` ran in the child (the kernel's
        `startup_timeout` applies, as in-process)."""
        assert self.supervisor is not None
        await self.supervisor.first_start()

    async def _spawn(self, ctx: PluginContext) -> p.Described:
        """Start the supervisor (its task, the child's stop and the subscriptions the child
        asks for are in the ledger) and wait until the child has built the plugin's app."""
        self.ctx = ctx
        limits = Limits.from_settings(ctx.settings)
        settings = ctx.settings if isinstance(ctx.settings, dict) else ctx.settings.model_dump()
        private = _data_folders(ctx)

        def hello() -> p.Hello:
            permissions = self.manifest.permissions
            return p.Hello(
                folder=str(self.folder),
                module_name=self.module_name,
                manifest=self.manifest.model_dump(mode="json"),
                settings=settings,
                network=permissions.network,
                publish=permissions.publish,
                subscribe=permissions.subscribe,
                services=permissions.services,
                heartbeat_interval=HEARTBEAT_INTERVAL,
                memory_mb=limits.memory_mb,
                cpu_seconds=limits.cpu_seconds,
                processes=limits.processes,
                private_paths=private,
            )

        self.supervisor = supervisor = Supervisor(
            self.name, hello, limits, self._on_frame, self.manifest.startup_timeout
        )
        ctx.spawn(supervisor.run, name="sandbox supervisor")
        ctx.on_unload(supervisor.stop, "sandbox child")
        try:
            async with asyncio.timeout(self.manifest.startup_timeout):
                self.described = await supervisor.first_description()
        except TimeoutError:
            raise TimeoutError(
                f"the child did not load the plugin within {self.manifest.startup_timeout:g} s "
                "(raise startup_timeout in plugin.toml if it needs longer)"
            ) from None
        return self.described

    @hookimpl
    async def shutdown(self, ctx: PluginContext) -> None:
        """Run the plugin's `shutdown` in the child and let it exit (killed if it won't)."""
        if self.supervisor is not None:
            await self.supervisor.stop()

    @hookimpl
    async def health(self, ctx: PluginContext) -> dict[str, Any]:
        """Child alive and its own `health` hook; otherwise the reason it is down."""
        report = self.details()
        child = self.supervisor.ready_child() if self.supervisor else None
        if child is None:
            return {"ok": False, "error": report.get("reason") or "not running", **report}
        try:
            answer = await child.call("hook", timeout=HEALTH_TIMEOUT, name="health")
        except Exception as error:
            return {"ok": False, "error": f"{type(error).__name__}: {error}", **report}
        if isinstance(answer, dict):
            return {**report, **answer, "ok": bool(answer.get("ok", True))}
        return {**report, "ok": answer is not False, "plugin_health": answer}

    @hookimpl
    async def snapshot_state(self, ctx: PluginContext) -> Any:
        return await self._hook("snapshot_state")

    @hookimpl
    async def restore_state(self, ctx: PluginContext, state: Any) -> None:
        await self._hook("restore_state", state=state)

    async def _hook(self, name: str, **args: Any) -> Any:
        if self.supervisor is None:
            return None
        child = await self.supervisor.wait_ready(HOOK_TIMEOUT)
        try:
            return await child.call("hook", timeout=HOOK_TIMEOUT, name=name, **args)
        except (ChildUnavailable, TimeoutError):
            raise
        except Exception as error:
            raise SandboxedPluginError(f"{name} in the sandbox: {error}") from None

    # --- what the kernel and tests read ----------------------------------------------------

    def details(self) -> dict[str, Any]:
        supervisor = self.supervisor
        child = supervisor.child if supervisor else None
        return {
            "isolation": "process",
            "child": supervisor.state if supervisor else "not started",
            "reason": supervisor.reason if supervisor else None,
            "pid": child.pid if child and child.process.returncode is None else None,
            "restarts": supervisor.restarts if supervisor else 0,
            "exits": list(supervisor.history) if supervisor else [],
            "confinement": child.confinement if child else {},
            "audit": [record.view() for record in list(self.audit_log)[-20:]],
            "audit_total": len(self.audit_log),
        }

    # --- frames from the child -------------------------------------------------------------

    def _on_frame(self, child: ChildProcess, frame: p.Msg) -> None:
        if isinstance(frame, p.HttpResponse | p.HttpBody | p.HttpAbort | p.HttpAck):
            stream = child.streams.get(frame.id)
            if stream is not None:
                stream.frames.put_nowait(frame)
        elif isinstance(frame, p.Result):
            future = child.pending.get(frame.id)
            if future is not None and not future.done():
                if frame.ok:
                    future.set_result(frame.value)
                else:
                    future.set_exception(
                        SandboxedPluginError(f"{frame.kind or 'Error'}: {frame.error}")
                    )
        elif isinstance(frame, p.Call):
            task = asyncio.ensure_future(self._answer(child, frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(frame, p.Report):
            self._report(frame)

    async def _answer(self, child: ChildProcess, call: p.Call) -> None:
        try:
            value = await self.bridge.perform(call.op, call.args)
            result = p.Result(id=call.id, ok=True, value=value)
        except Exception as error:
            if not isinstance(error, PermissionDenied):
                log.warning("sandboxed plugin %s: %s failed: %s", self.name, call.op, error)
            result = p.Result(id=call.id, ok=False, error=str(error), kind=type(error).__name__)
        try:
            child.conn.send_nowait(result)
        except Exception as error:  # the value could not be encoded
            child.conn.send_nowait(
                p.Result(id=call.id, ok=False, error=f"result not sendable: {error}")
            )

    def _report(self, frame: p.Report) -> None:
        if frame.kind == "audit":
            self.audit(
                AuditRecord(
                    self.name,
                    "network",
                    str(frame.context.get("address")),
                    allowed=False,
                    message=frame.message,
                )
            )
            return
        context = {k: v for k, v in frame.context.items() if k != "traceback"}
        log.error(
            "sandboxed plugin %s: %s\n%s", self.name, frame.message, frame.context.get("traceback")
        )
        self.report_error(SandboxedPluginError(frame.message), {"plugin": self.name, **context})


def _data_folders(ctx: PluginContext) -> list[str]:
    """The kernel's data folder (where its SQLite database lives), which the child must
    never be granted."""
    url = ctx.engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return [str(Path(url.database).resolve().parent)]
    return []


_HOOKS = (
    "register_routes",
    "register_pages",
    "startup",
    "shutdown",
    "health",
    "snapshot_state",
    "restore_state",
)


def load_sandboxed(
    folder: Path, manifest: Manifest, module_name: str, *, report_error: ErrorReporter
) -> ImportedCode:
    """The kernel's entry point for `isolation = "process"`: a proxy module to collect hooks
    from, in place of importing the plugin. Nothing of the plugin is imported here;
    `rollback()` on the result only drops the proxy module (nothing was displaced)."""
    proxy = SandboxProxy(Path(folder), manifest, module_name, report_error)
    module = types.ModuleType(module_name, f"Sandbox proxy of plugin {manifest.name!r}.")
    module.__file__ = str(Path(folder) / "__init__.py")
    for hook in _HOOKS:
        setattr(module, hook, getattr(proxy, hook))
    module.sandbox = proxy  # type: ignore[attr-defined]
    return SandboxedCode(module, module_name, {})


class SandboxedCode(ImportedCode):
    """The proxy module as `ImportedCode`. It is never put in `sys.modules`, so rollback
    has nothing to undo (and must not drop an in-process version of the same name)."""

    def rollback(self) -> None:
        return None

    def openapi(self) -> dict[str, Any] | None:
        """The child app's paths and components, as it described them when it started."""
        described = self.proxy.described
        return described.openapi if described is not None else {}

    @property
    def proxy(self) -> SandboxProxy:
        return self.module.sandbox  # type: ignore[no-any-return]
