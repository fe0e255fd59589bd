"""The child process of a sandboxed plugin: `python -I -m mindframe.sandbox.child FD`.

FD is this end of an AF_UNIX socket pair made by the parent. The child reads `Hello`,
confines itself (confinement.py: namespaces, limits, uid, Landlock, seccomp) while it is
still one thread and before any plugin code exists in it, imports the plugin folder, runs
its hooks with a `SandboxContext`, says what it serves (`Described`: routes, pages,
OpenAPI) before running `startup`, serves its Litestar app as ASGI driven by frames,
sends a heartbeat every 0.5 s, and exits when told to, when the parent goes away, or when
something escapes the plugin's code (after a `Fatal` frame saying what).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from mindframe.kernel import hooks, loader
from mindframe.kernel.bus import Envelope
from mindframe.kernel.bus.subscription import wants_envelope
from mindframe.kernel.manifest import Manifest
from mindframe.kernel.settings import PluginSettings

from . import protocol as p
from .confinement import confine
from .events import to_event
from .limits import EXIT_MEMORY, guard_sockets, out_of_memory_reason
from .permissions import PermissionDenied, network_message

log = logging.getLogger("mindframe.sandbox.child")
EXIT_FATAL = 70
_envelope_decoder = msgspec.json.Decoder(Envelope)


class RemoteError(Exception):
    """An error the parent returned for a call; `kind` is its exception class name."""


def _error_for(result: p.Result) -> Exception:
    message = result.error or "the parent refused the call"
    if result.kind == "PermissionDenied":
        return PermissionDenied(message)
    return RemoteError(f"{result.kind}: {message}" if result.kind else message)


class _Stream:
    """An inbound HTTP request's body chunks, with credits for the parent."""

    __slots__ = ("aborted", "chunks", "credits", "task")

    def __init__(self) -> None:
        self.chunks: asyncio.Queue[p.HttpBody | None] = asyncio.Queue()
        self.credits = asyncio.Semaphore(p.WINDOW)
        self.aborted = False
        self.task: asyncio.Task[None] | None = None


class Child:
    """One plugin served to the parent over one connection."""

    def __init__(self, conn: p.Connection, hello: p.Hello) -> None:
        self.conn = conn
        self.hello = hello
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.hook: dict[str, hooks.Hook] = {}
        self.app: Any = None
        self.ctx: Any = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._streams: dict[int, _Stream] = {}
        self._stopping = asyncio.Event()

    # --- calls to the parent ---------------------------------------------------------------

    async def call(self, op: str, **args: Any) -> Any:
        self._next_id += 1
        call_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        try:
            await self.conn.send(p.Call(id=call_id, op=op, args=args))
            return await future
        finally:
            self._pending.pop(call_id, None)

    def call_soon(self, op: str, **args: Any) -> None:
        """A call from synchronous code: its failure is logged, not raised."""

        async def run() -> None:
            try:
                await self.call(op, **args)
            except Exception as error:
                log.error("%s %s refused by the kernel: %s", op, args, error)

        self.watch(asyncio.get_running_loop().create_task(run()))

    def report_error(self, error: BaseException, context: dict[str, Any]) -> None:
        self.conn.send_nowait(
            p.Report(
                kind="error",
                message=f"{type(error).__name__}: {error}",
                context={**context, "traceback": "".join(traceback.format_exception(error))},
            )
        )

    def watch(self, task: asyncio.Task[Any]) -> None:
        """Anything but an Exception escaping plugin code (SystemExit, MemoryError) is fatal."""
        task.add_done_callback(self._check_task)

    def _check_task(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and (
            isinstance(error, MemoryError) or not isinstance(error, Exception)
        ):
            self.die(error)

    def die(self, error: BaseException) -> None:
        """Say why, then exit at once: the parent restarts the plugin."""
        if isinstance(error, MemoryError):
            code = EXIT_MEMORY
            reason = out_of_memory_reason(self.memory_mb)
        else:
            code = EXIT_FATAL
            where = loader.describe_error(error, Path(self.hello.folder))
            reason = f"crashed: {where}"
        with contextlib.suppress(BaseException):
            self.conn.send_nowait(p.Fatal(reason=reason))
        with contextlib.suppress(BaseException):
            sys.stderr.write(f"{reason}\n")
            sys.stderr.flush()
        _flush_and_exit(self.conn, code)

    @property
    def memory_mb(self) -> int:
        return self.hello.memory_mb

    # --- start -----------------------------------------------------------------------------

    async def start(self) -> p.Started:
        from .context import SandboxContext

        hello = self.hello
        step = "import"
        try:
            manifest = Manifest.model_validate(hello.manifest)
            folder = Path(hello.folder)
            code = loader.import_folder(folder, hello.module_name)
            step = "hooks"
            self.hook = hooks.collect(hooks.new_plugin_manager(), code.module, manifest.name)
            step = "settings"
            settings = hello.settings
            model = await self._run("settings_model")
            if isinstance(model, type) and issubclass(model, PluginSettings):
                settings = model.model_validate(settings)
            self.ctx = ctx = SandboxContext(self, manifest, folder, settings)
            for step in ("register_services", "register_tables"):
                if await self._run(step, ctx=ctx) is not None and step == "register_tables":
                    raise RuntimeError(
                        "sandboxed plugins cannot own tables (no database in the sandbox)"
                    )
            step = "register_subscriptions"
            await self._run(step, ctx=ctx)
            step = "register_routes"
            routes = list(await self._run(step, ctx=ctx) or [])
            step = "register_pages"
            pages = list(await self._run(step, ctx=ctx) or [])
            if routes or pages:
                from .child_app import build_child_app

                self.app = build_child_app(manifest.name, manifest.version, routes, pages, self)
                await self._app_lifespan()
            await self.conn.send(
                p.Described(routes=bool(routes), pages=bool(pages), openapi=self._openapi())
            )
            step = "startup"
            await self._run("startup", ctx=ctx)
        except Exception as error:
            if isinstance(error, MemoryError):
                self.die(error)
            kind, _, detail = loader.describe_error(error, Path(hello.folder)).partition(": ")
            return p.Started(
                ok=False,
                error=f"{kind} in {step}: {detail}",
                traceback=loader.format_traceback(error),
            )
        return p.Started(ok=True)

    def _openapi(self) -> dict[str, Any] | None:
        """The `paths` and `components` of the plugin app's OpenAPI schema, for the kernel's
        merged document; a schema that cannot be built is reported, not fatal."""
        if self.app is None:
            return None
        try:
            schema = self.app.openapi_schema.to_schema()
        except Exception as error:
            log.exception("the plugin's OpenAPI schema could not be built")
            self.report_error(error, {"hook": "register_routes", "what": "OpenAPI schema"})
            return None
        return {"paths": schema.get("paths", {}), "components": schema.get("components", {})}

    async def _run(self, hook: str, **arguments: Any) -> Any:
        implementation = self.hook.get(hook)
        if implementation is None:
            return None
        return await implementation.run(**arguments)

    async def _app_lifespan(self) -> None:
        """Run the Litestar app's lifespan startup (and keep its task for shutdown)."""
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        started = asyncio.get_running_loop().create_future()
        inbox.put_nowait({"type": "lifespan.startup"})

        async def send(message: dict[str, Any]) -> None:
            if message["type"].startswith("lifespan.startup") and not started.done():
                started.set_result(message)

        self._lifespan_inbox = inbox
        self._lifespan = asyncio.get_running_loop().create_task(
            self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
        )
        message = await started
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the plugin's app failed to start: {message.get('message')}")

    # --- serving ---------------------------------------------------------------------------

    async def serve(self) -> None:
        while not self._stopping.is_set():
            try:
                message = await self.conn.receive()
            except EOFError:
                return
            self._dispatch(message)

    def start_heartbeat(self) -> None:
        self._beat = asyncio.get_running_loop().create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        while True:
            self.conn.send_nowait(p.Heartbeat())
            await asyncio.sleep(self.hello.heartbeat_interval)

    def _dispatch(self, message: p.Msg) -> None:
        loop = asyncio.get_running_loop()
        if isinstance(message, p.HttpRequest):
            stream = self._streams[message.id] = _Stream()
            stream.task = loop.create_task(self._http(message, stream))
            self.watch(stream.task)
        elif isinstance(message, p.HttpBody):
            stream = self._streams.get(message.id)
            if stream is not None:
                stream.chunks.put_nowait(message)
        elif isinstance(message, p.HttpAck):
            stream = self._streams.get(message.id)
            if stream is not None:
                for _ in range(message.count):
                    stream.credits.release()
        elif isinstance(message, p.HttpAbort):
            stream = self._streams.get(message.id)
            if stream is not None:
                stream.aborted = True
                stream.chunks.put_nowait(None)
        elif isinstance(message, p.Result):
            future = self._pending.get(message.id)
            if future is not None and not future.done():
                if message.ok:
                    future.set_result(message.value)
                else:
                    future.set_exception(_error_for(message))
        elif isinstance(message, p.Call):
            self.watch(loop.create_task(self._answer(message)))
        elif isinstance(message, p.Stop):
            self.watch(loop.create_task(self._stop()))

    async def _http(self, request: p.HttpRequest, stream: _Stream) -> None:
        conn = self.conn
        rid = request.id
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version,
            "method": request.method,
            "scheme": request.scheme,
            "path": request.path,
            "raw_path": request.raw_path,
            "query_string": request.query_string,
            "root_path": "",
            "headers": request.headers,
            "client": request.client,
            "server": request.server,
            "state": {},
        }
        first: list[dict[str, Any]] = [
            {"type": "http.request", "body": request.body, "more_body": request.more}
        ]
        started: dict[str, Any] | None = None
        finished = False

        async def receive() -> dict[str, Any]:
            if first:
                return first.pop()
            chunk = await stream.chunks.get()
            if chunk is None:
                return {"type": "http.disconnect"}
            conn.send_nowait(p.HttpAck(id=rid, count=1))
            return {"type": "http.request", "body": chunk.body, "more_body": chunk.more}

        async def send(message: dict[str, Any]) -> None:
            nonlocal started, finished
            kind = message["type"]
            if kind == "http.response.start":
                started = message
                return
            if kind != "http.response.body" or finished:
                return
            if stream.aborted:
                raise OSError("the client went away")
            more = bool(message.get("more_body", False))
            body = bytes(message.get("body", b""))
            if more:
                await stream.credits.acquire()
            if started is not None:
                frame: p.Msg = p.HttpResponse(
                    id=rid,
                    status=started["status"],
                    headers=[(bytes(k), bytes(v)) for k, v in started.get("headers", [])],
                    body=body,
                    more=more,
                )
                started = None
            else:
                frame = p.HttpBody(id=rid, body=body, more=more)
            finished = not more
            await conn.send(frame)

        try:
            await self.app(scope, receive, send)
            if not finished and not stream.aborted:
                if started is not None:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                else:
                    conn.send_nowait(p.HttpAbort(id=rid))
        except Exception:
            log.exception("request %s %s failed in the sandbox", request.method, request.path)
            if not finished:
                conn.send_nowait(p.HttpAbort(id=rid))
        finally:
            self._streams.pop(rid, None)

    async def _answer(self, call: p.Call) -> None:
        try:
            value = await self._perform(call.op, call.args)
        except Exception as error:
            if isinstance(error, MemoryError):
                raise
            self.conn.send_nowait(
                p.Result(id=call.id, ok=False, error=str(error), kind=type(error).__name__)
            )
            return
        try:
            frame = p.Result(id=call.id, ok=True, value=msgspec.to_builtins(value))
            await self.conn.send(frame)
        except (TypeError, msgspec.EncodeError) as error:
            self.conn.send_nowait(
                p.Result(id=call.id, ok=False, error=f"result not sendable: {error}")
            )

    async def _perform(self, op: str, args: dict[str, Any]) -> Any:
        if op == "deliver":
            handler = self.handlers.get(args["name"])
            if handler is None:
                raise LookupError(f"no handler for subscription {args['name']!r}")
            event = to_event(args["topic"], args["payload"])
            if wants_envelope(handler):
                return await handler(event, _envelope_decoder.decode(args["envelope"]))
            return await handler(event)
        if op == "hook":
            name = args["name"]
            if name == "restore_state":
                return await self._run(name, ctx=self.ctx, state=args.get("state"))
            if name == "health" and "health" not in self.hook:
                return True
            return await self._run(name, ctx=self.ctx)
        raise ValueError(f"unknown operation {op!r}")

    async def _stop(self) -> None:
        try:
            await self._run("shutdown", ctx=self.ctx)
        except Exception as error:
            log.exception("shutdown failed")
            self.report_error(error, {"hook": "shutdown"})
        if self.ctx is not None:
            await self.ctx.close()
        if getattr(self, "_lifespan", None) is not None:
            self._lifespan_inbox.put_nowait({"type": "lifespan.shutdown"})
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._lifespan, 2.0)
        self._stopping.set()
        with contextlib.suppress(Exception):
            await self.conn.writer.drain()
        self.conn.close()


def _flush_and_exit(conn: p.Connection, code: int) -> None:
    """Write what is buffered straight to the socket, then `os._exit` (no cleanup runs:
    the state of the process is not to be trusted any more)."""
    with contextlib.suppress(BaseException):
        transport = conn.writer.transport
        sock = transport.get_extra_info("socket")
        buffer = getattr(transport, "_buffer", b"")
        pending = bytes(buffer) if isinstance(buffer, bytes | bytearray) else b"".join(buffer)
        if sock is not None and pending:
            raw = socket.socket(fileno=os.dup(sock.fileno()))
            raw.setblocking(True)
            raw.settimeout(1.0)
            raw.sendall(pending)
    os._exit(code)


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the parent dies, even if the child is hung."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


async def _main(sock: socket.socket, hello: p.Hello, confinement: dict[str, Any]) -> int:
    conn = await p.Connection.over(sock)
    name = hello.manifest.get("name", "?")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not hello.network:

        def refused(what: str) -> str:
            message = network_message(name, what)
            conn.send_nowait(p.Report(kind="audit", message=message, context={"address": what}))
            log.warning("%s", message)
            return message

        guard_sockets(refused)
    child = Child(conn, hello)
    loop = asyncio.get_running_loop()

    def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, MemoryError):
            child.die(error)
        loop.default_exception_handler(context)

    loop.set_exception_handler(on_loop_error)
    child.start_heartbeat()
    serving = loop.create_task(child.serve())  # answers to calls made while starting
    try:
        started = await child.start()
    except BaseException as error:  # SystemExit, KeyboardInterrupt from the plugin
        child.die(error)
        raise
    started.confinement = confinement
    await conn.send(started)
    if not started.ok:
        await conn.writer.drain()
        return 1
    await serving
    return 0


def main() -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    fd = int(sys.argv[1])
    os.set_inheritable(fd, False)  # programs the plugin runs do not get the connection
    sock = socket.socket(fileno=fd)
    hello = p.receive_blocking(sock)
    if not isinstance(hello, p.Hello):
        raise SystemExit(f"expected Hello, got {type(hello).__name__}")
    try:
        confinement = confine(hello)
    except Exception as error:
        refusal = p.Started(ok=False, error=f"sandbox confinement failed: {error}")
        sock.sendall(p.encode(refusal))
        sys.exit(1)
    sys.exit(asyncio.run(_main(sock, hello, confinement)))


if __name__ == "__main__":
    main()
