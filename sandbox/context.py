"""The context a sandboxed plugin's hooks receive, inside the child process.

It is a `PluginContext` whose container holds only the plugin's own services (its
handlers get them injected as usual); services of the kernel and other plugins are remote,
called through the parent, which checks the manifest's permissions; publish and subscribe
go to the parent's bus. There is no database handle in a sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mindframe.kernel.bus import Event
from mindframe.kernel.container import Container, dependency_key
from mindframe.kernel.context import PluginContext
from mindframe.kernel.manifest import Manifest

from .events import to_wire
from .permissions import check_subscribe

if TYPE_CHECKING:
    from .child import Child

T = TypeVar("T")


class RemoteService:
    """A kernel service seen from the sandbox: every method call is a round trip to the
    parent, with msgpack-able arguments and result, and must be awaited."""

    def __init__(self, child: Child, key: str) -> None:
        self._child = child
        self._key = key

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._child.call(
                "service", key=self._key, method=method, args=list(args), kwargs=kwargs
            )

        call.__name__ = method
        return call

    def __repr__(self) -> str:
        return f"<remote service {self._key!r}>"


class SandboxSubscription:
    """What `ctx.subscribe` returns in a sandbox."""

    def __init__(self, child: Child, name: str, pattern: str) -> None:
        self._child = child
        self.name = name
        self.pattern = pattern

    async def cancel(self) -> None:
        self._child.handlers.pop(self.name, None)
        await self._child.call("unsubscribe", name=self.name)


class SandboxContext(PluginContext):
    """`PluginContext` for a plugin in a child process: identity, settings, translations,
    `provide` and `on_unload` are the kernel's own; what reaches the kernel (services of
    others, the bus) goes through the parent, and there is no database."""

    def __init__(self, child: Child, manifest: Manifest, folder: Path, settings: Any) -> None:
        self.container = Container()
        """This plugin's own services, injected into its handlers."""
        super().__init__(
            manifest=manifest,
            folder=folder,
            settings=settings,
            container=self.container,
            bus=None,  # type: ignore[arg-type]  # no bus, database or task group in the child
            database=None,  # type: ignore[arg-type]
            task_group=None,  # type: ignore[arg-type]
            report_error=child.report_error,
        )
        self._child = child
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def sandboxed(self) -> bool:
        return True

    # --- services ------------------------------------------------------------------------

    def resolve(self, service_type: type[T], name: str | None = None) -> Any:
        """This plugin's own service, else the kernel's, as a RemoteService (awaited calls)."""
        key = dependency_key(service_type, name)
        local = self.container.by_key(key)
        if local is not None:
            return local.get()
        return RemoteService(self._child, key)

    def service(self, key: str) -> RemoteService:
        """A kernel service by its key (`greeting_service`), granted in `services`."""
        return RemoteService(self._child, key)

    # --- bus -----------------------------------------------------------------------------

    @property
    def bus(self) -> Any:
        raise RuntimeError(
            f"plugin '{self.name}' runs sandboxed: use ctx.publish, ctx.subscribe and "
            "ctx.request, which go to the kernel's bus through the parent"
        )

    def subscribe(
        self, pattern: str, handler: Callable[..., Awaitable[Any]], **options: Any
    ) -> SandboxSubscription:
        """Subscribe through the parent's bus; refused here at once if not granted."""
        name = options.pop("name", None) or f"{pattern}:{handler.__qualname__}"
        try:
            check_subscribe(self.name, self.manifest.permissions.subscribe, pattern)
        except PermissionError:
            # The parent refuses it too, and keeps the audit record.
            self._child.call_soon("subscribe", pattern=pattern, name=name, options=options)
            raise
        self._child.handlers[name] = handler
        self._child.call_soon("subscribe", pattern=pattern, name=name, options=options)
        return SandboxSubscription(self._child, name, pattern)

    async def publish(self, event: Event, **options: Any) -> str:
        topic, payload = to_wire(event)
        return await self._child.call("publish", topic=topic, payload=payload, options=options)

    async def request(self, event: Event, *, timeout: float = 5.0, **options: Any) -> Any:
        topic, payload = to_wire(event)
        return await self._child.call(
            "request", topic=topic, payload=payload, timeout=timeout, options=options
        )

    # --- database ------------------------------------------------------------------------

    @property
    def engine(self) -> Any:
        raise RuntimeError(
            f"plugin '{self.name}' runs sandboxed (isolation = \"process\"): it has no "
            'database handle; use isolation = "inprocess" or a service granted in `services`'
        )

    def session(self) -> Any:
        return self.engine

    # --- background work -----------------------------------------------------------------

    def spawn(
        self, function: Callable[..., Awaitable[Any]], *args: Any, name: str | None = None
    ) -> None:
        """Run `function(*args)` in the child until it returns or the plugin stops."""
        label = name or getattr(function, "__qualname__", repr(function))

        async def run() -> None:
            try:
                await function(*args)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if isinstance(error, MemoryError):
                    raise  # fatal in a sandbox: the child exits and is restarted
                self.log.exception("background task %s failed", label)
                self._child.report_error(error, {"task": label})

        task = asyncio.get_running_loop().create_task(run(), name=f"{self.name}:{label}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._child.watch(task)

    async def close(self) -> None:
        """Cancel background tasks and run `on_unload` callbacks (at Stop)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5.0)
        await self.ledger.release_all()
