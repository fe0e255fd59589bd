"""`PluginContext`: the one handle a plugin gets, and the record of what it acquired.

Every way of acquiring something (a service, a subscription, a task, a session) goes
through a method here that writes the release into the plugin's ledger in the same
call, so the kernel can unload the plugin without the plugin's help.
"""

from __future__ import annotations

import asyncio
import gettext
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.abc import TaskGroup
from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from .change_marks import ChangeMark
from .container import Container, Lifetime, Registration
from .http.current_request import REQUEST_SCOPE
from .http.endpoint_routes import AnswerHeaders, EndpointRegistry, Handler
from .http.endpoint_routes import Endpoint as HttpEndpoint
from .http.socket_endpoints import Endpoint, SocketRegistry
from .jobs import Job
from .ledger import Entry, Ledger, Release
from .loader import ROOT_PACKAGE
from .locales import PluginCatalogs, catalogs_key
from .manifest import Manifest
from .process_pool import ProcessPool
from .spool import SPOOLS, Spool
from .storage import Database

if TYPE_CHECKING:
    from .bus import Bus, Event, Subscription

T = TypeVar("T")
ErrorReporter = Callable[[BaseException, dict[str, Any]], None]
TASK_STOP_GRACE = 5.0
TRANSLATIONS_SERVICE = "translations"  # the key of `mindframe.sdk.i18n.Translations`
AS_WRITTEN = gettext.NullTranslations()


class PluginContext:
    """What a plugin receives in every hook: its identity, settings and handles onto the
    kernel's container, bus, database and task group."""

    def __init__(
        self,
        *,
        manifest: Manifest,
        folder: Path | None,
        settings: Any,
        container: Container,
        bus: Bus,
        database: Database,
        task_group: TaskGroup,
        report_error: ErrorReporter,
        sockets: SocketRegistry | None = None,
        endpoints: EndpointRegistry | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.manifest = manifest
        self.folder = folder
        self.settings = settings
        self.ledger = Ledger(manifest.name)
        self.log = logging.getLogger(f"mindframe.plugins.{manifest.name}")
        self.extra_catalogs: list[Path] = []
        """Catalog folders the plugin's `translations` hook named, besides its `locales/`."""
        self._container = container
        self._bus = bus
        self._database = database
        self._task_group = task_group
        self._report_error = report_error
        self._sockets = sockets
        self._endpoints = endpoints
        self._data_dir = data_dir
        self._jobs: dict[str, Job] = {}
        self._transactions = 0  # running now (`transaction`)
        self._no_transactions: anyio.Event | None = None  # set when that count reaches 0

    # --- identity ----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def table_prefix(self) -> str:
        """Every table of this plugin's is named with this prefix."""
        return f"{self.manifest.module_name}_"

    def declare_catalogs(self, extra: list[Path]) -> None:
        """Declare the plugin's catalog folders (its `locales/` and the `extra` its
        `translations` hook named) for as long as it is loaded; called by the kernel at start."""
        self.extra_catalogs = extra
        own = [self.folder / "locales"] if self.folder is not None else []
        folders = tuple(f for f in own if f.is_dir()) + tuple(extra)
        if folders:
            catalogs = PluginCatalogs(self.name, folders)
            self.provide(PluginCatalogs, catalogs, name=catalogs_key(self.name))

    @property
    def translator(self) -> gettext.NullTranslations:
        """The plugin's catalog in the locale of the request being served (the user's, else
        `Accept-Language`'s, else the default), or outside a request in the default locale:
        from the `translations` service when a plugin provides one (the i18n plugin), else
        messages as written."""
        registration = self._container.by_key(TRANSLATIONS_SERVICE)
        if registration is None:
            return AS_WRITTEN
        translations = registration.get()
        scope = REQUEST_SCOPE.get()
        if scope is None:
            return translations.localizer(self.name).catalog
        return translations.for_request(ASGIConnection(scope), self.name).catalog

    def gettext(self, message: str) -> str:
        """`message` in the request's locale (see `translator`)."""
        return self.translator.gettext(message)

    def report_error(self, error: BaseException, **where: Any) -> None:
        """Hand an error the plugin caught (and answered for) to every active plugin's
        `capture_exception`, with `plugin` and `where` as its context; never raises."""
        self._report_error(error, {"plugin": self.name, **where})

    def on_unload(self, release: Release, label: str = "callback") -> Entry:
        """Run `release` (plain or async) when the plugin is unloaded, newest first."""
        return self.ledger.record("callback", label, release)

    # --- services ------------------------------------------------------------------------

    def provide(
        self,
        service_type: type[T],
        provider: T | Callable[[], T],
        *,
        name: str | None = None,
        lifetime: Lifetime = "singleton",
    ) -> None:
        """Offer a service (an instance or a factory) to other plugins and to handlers."""
        registration = self._container.provide(
            service_type, provider, owner=self.name, name=name, lifetime=lifetime
        )
        self.ledger.record(
            "service", registration.key, lambda: self._container.remove(registration)
        )

    def resolve(self, service_type: type[T], name: str | None = None) -> T:
        return self._container.resolve(service_type, name)

    def registration(self, key: str) -> Registration | None:
        """The service injected as `key` (its name, or snake-case type name), for code that
        names services by key rather than type: a sandboxed plugin's calls across the
        process boundary."""
        return self._container.by_key(key)

    # --- HTTP ----------------------------------------------------------------------------

    def endpoint(
        self,
        methods: str | Iterable[str],
        path: str,
        handler: Handler,
        *,
        max_body: int | None = None,
        openapi: Mapping[str, Any] | None = None,
        answer_headers: AnswerHeaders | None = None,
    ) -> HttpEndpoint:
        """Serve `methods` on `/api/<plugin><path>` with `async def handler(request) ->
        Response` for as long as this version is loaded, straight from the kernel's
        dispatcher: no Litestar app in between (see `mindframe.sdk.endpoints`). `path` may
        hold `{name}` and `{name:int}` segments; bodies over `max_body` bytes (default 10 MB)
        are refused with 413; `openapi` maps a method to its OpenAPI operation object;
        `answer_headers(request)` gives headers for every answer, the kernel's 413s and
        500s included (CORS)."""
        if self._endpoints is None:
            raise RuntimeError(f"plugin '{self.name}': this runtime serves no HTTP")
        endpoints = self._endpoints
        declared = endpoints.declare(
            self.name,
            methods,
            path,
            handler,
            report=self.report_error,
            max_body=max_body,
            openapi=openapi,
            answer_headers=answer_headers,
        )
        label = f"{', '.join(declared.methods)} {declared.path}"
        self.ledger.record("endpoint", label, lambda: endpoints.withdraw(declared))
        return declared

    # --- WebSockets -----------------------------------------------------------------------

    def socket(self, path: str, handler: Any) -> Endpoint:
        """Serve WebSockets at `/api/<plugin><path>` with `handler` (see
        `mindframe.sdk.sockets.SocketHandler`) for as long as this version is loaded.

        The kernel owns the sockets: a reload hands every open one to the next version's
        handler (its `on_resume`), and frames sent meanwhile wait and go to the new one. The
        returned endpoint lists the live connections (`endpoint.live()`), for fanning out."""
        if self._sockets is None:
            raise RuntimeError(f"plugin '{self.name}': this runtime serves no WebSockets")
        sockets = self._sockets
        endpoint = sockets.declare(self.name, path, handler, self._report_error)
        self.ledger.record("socket", endpoint.path, lambda: sockets.withdraw(endpoint, handler))
        return endpoint

    # --- spools ---------------------------------------------------------------------------

    def spool(self, name: str) -> Spool:
        """The plugin's append-only spool `name` (`<data_dir>/spools/<plugin>/<name>/`), for an
        intake that must answer only once a request is durable and handle it later: `append`
        one record with one system call, `read` from a cursor the reader commits with its own
        work, `release` what is done (see `mindframe.kernel.spool`).

        The spool is closed when no loaded version holds it; a version started later (a
        reload) appends to a new segment, read after the old ones. One process writes a
        spool: another asking for it gets `SpoolBusy`."""
        if self._data_dir is None:
            raise RuntimeError(f"plugin '{self.name}': this runtime has no data directory")
        if not name.isidentifier():
            raise ValueError(f"a spool name is an identifier, not {name!r}")
        directory = self._data_dir / "spools" / self.name / name
        loop = asyncio.get_running_loop()

        def report(error: BaseException, where: dict[str, Any]) -> None:
            """Readers may read on a worker thread (`transaction`); reports go to the loop."""
            context = {"plugin": self.name, **where}
            if threading.get_ident() == loop_thread:
                self._report_error(error, context)
            else:
                asyncio.run_coroutine_threadsafe(in_loop(error, context), loop)

        async def in_loop(error: BaseException, context: dict[str, Any]) -> None:
            self._report_error(error, context)

        loop_thread = threading.get_ident()

        spool = SPOOLS.acquire(directory, report)
        self.ledger.record("spool", name, lambda: SPOOLS.release(spool))
        return spool

    def process_pool(self, size: int = 1) -> ProcessPool:
        """Up to `size` worker processes that run this version's module-level functions
        (`await pool.run(fn, *args)`) beside the server's interpreter lock; started on first
        use and stopped when this version unloads (see `mindframe.sdk.processes`)."""
        module_name = f"{ROOT_PACKAGE}.{self.manifest.module_name}" if self.folder else None
        shared = self._database.sync_engine is not None  # a SQLite file a worker can open
        pool = ProcessPool(
            self.name,
            module_name,
            self.folder,
            size,
            database=self._database.url.render_as_string(hide_password=False) if shared else None,
            in_server=partial(self._database.transaction, core=True),
            track=self._tracked,
        )
        self.ledger.record("process pool", f"{size} worker process(es)", pool.close)
        return pool

    def change_mark(self, name: str) -> ChangeMark:
        """The plugin's change mark `name` (`<data_dir>/marks/<plugin>/<name>`): `bump()` it
        after a change every process sharing the data directory must notice at once,
        `read()` it (one `stat`) to learn whether anything bumped it since the last reading
        (see `mindframe.kernel.change_marks`)."""
        if not name.isidentifier():
            raise ValueError(f"a change mark's name is an identifier, not {name!r}")
        if self._data_dir is None:
            return ChangeMark(None)
        return ChangeMark(self._data_dir / "marks" / self.name / name)

    # --- bus -----------------------------------------------------------------------------

    @property
    def bus(self) -> Bus:
        return self._bus

    def subscribe(
        self, pattern: str, handler: Callable[..., Awaitable[Any]], **options: Any
    ) -> Subscription:
        """Subscribe `handler` to `pattern` for as long as this plugin is loaded."""
        subscription = self._bus.subscribe(pattern, handler, owner=self.name, **options)
        self.ledger.record("subscription", pattern, subscription.cancel)
        return subscription

    async def publish(self, event: Event, **options: Any) -> str:
        return await self._bus.publish(event, **options)

    # --- database ------------------------------------------------------------------------

    @property
    def engine(self) -> AsyncEngine:
        return self._database.engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """An `AsyncSession`, closed when the block ends or, at the latest, at unload.

        On SQLite a session's transaction starts at its first write, so what it read before
        may change under it: a unit of work that writes what it computed from a read (a
        counter, a status check) belongs in `transaction`, which holds the write lock from
        its first statement."""
        session = self._database.session()
        entry = self.ledger.record("session", "AsyncSession", session.close)
        try:
            yield session
        finally:
            self.ledger.forget(entry)
            await session.close()

    async def transaction(
        self, fn: Callable[..., T], *args: Any, core: bool = False, read_only: bool = False
    ) -> T:
        """Run `fn(session, *args)`, synchronous SQLAlchemy on a `sqlalchemy.orm.Session`, in
        one transaction (committed when it returns, rolled back when it raises) and return
        its result. On SQLite this costs one thread hop for the whole unit of work instead
        of ~6 per statement through `session()`; see `Database.transaction`.

        `core=True` hands `fn` a Core `sqlalchemy.engine.Connection` instead of a `Session`
        (same transaction, same guarantees): cheaper for a hot path of Core statements.

        On SQLite a transaction holds the database's write lock from its first statement, so
        what it reads cannot change before it writes; `read_only=True` promises `fn` only
        reads, and it then reads a snapshot beside the writer instead of waiting its turn
        (use it for reads that are slow or frequent).

        `fn` runs on a worker thread: plain code, no awaits, no event-loop objects. While it
        runs it is in the ledger; an unload waits for it to finish (it cannot be cut off
        mid-transaction), so nothing is left open."""
        work = self._database.transaction(fn, *args, core=core, read_only=read_only)
        return await self._tracked(fn, work)

    async def _tracked(self, fn: Callable[..., Any], work: Awaitable[T]) -> T:
        """Await the transaction `work` (running `fn`) with it in the ledger meanwhile."""
        label = getattr(fn, "__qualname__", repr(fn))
        entry = self.ledger.record("transaction", label, self._transactions_finished)
        self._transactions += 1
        try:
            return await work
        finally:
            self._transactions -= 1
            self.ledger.forget(entry)
            if not self._transactions and self._no_transactions is not None:
                self._no_transactions.set()
                self._no_transactions = None

    async def _transactions_finished(self) -> None:
        """The release of a transaction in the ledger: wait until none of this plugin's is
        running (an unload releases them all anyway). A count and an event made only when
        someone waits: an event per transaction cost more than the rest of the bookkeeping."""
        while self._transactions:
            if self._no_transactions is None:
                self._no_transactions = anyio.Event()
            await self._no_transactions.wait()

    # --- background work -----------------------------------------------------------------

    def spawn(
        self, function: Callable[..., Awaitable[Any]], *args: Any, name: str | None = None
    ) -> None:
        """Run `function(*args)` in the background until it returns or the plugin unloads.

        An exception in it is logged and reported through `capture_exception`."""
        label = name or getattr(function, "__qualname__", repr(function))
        scope = anyio.CancelScope()
        finished = anyio.Event()
        entry: Entry | None = None

        async def run() -> None:
            try:
                with scope:
                    await function(*args)
            except Exception as error:
                self.log.exception("background task %s failed", label)
                self._report_error(error, {"plugin": self.name, "task": label})
            finally:
                finished.set()
                if entry is not None:
                    self.ledger.forget(entry)

        async def stop() -> None:
            scope.cancel()
            with anyio.move_on_after(TASK_STOP_GRACE):
                await finished.wait()

        entry = self.ledger.record("task", label, stop)
        self._task_group.start_soon(run, name=f"{self.name}:{label}")

    def singleton(
        self, name: str, function: Callable[[], Awaitable[Any]], *, every: float | None = None
    ) -> Job:
        """Run `function` as the plugin's one job called `name` until the plugin unloads:
        every `every` seconds after it last finished (and at once on `job.wake()`), or,
        without `every`, as a loop restarted if it returns or raises. Errors are logged and
        reported through `capture_exception`; the job goes on. For work that must run once
        however many processes serve (see `kernel/jobs.py`)."""
        if name in self._jobs:
            raise ValueError(f"plugin '{self.name}' already runs a job named {name!r}")
        job = Job(self.name, name, function, every, self._report_error)
        self._jobs[name] = job

        async def forget() -> None:
            self._jobs.pop(name, None)

        self.on_unload(forget, f"job {name}")
        self.spawn(job.run, name=f"job {name}")
        return job
