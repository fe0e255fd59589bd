"""Keeping a sandboxed plugin's child process alive: spawn, watch, explain, restart.

A child ends for one reason, and the supervisor says which: it stopped when asked; it
crashed (its `Fatal` frame, or the signal that killed it: SIGABRT, SIGSEGV, SIGXCPU for
the CPU limit); it ran out of memory; or it hung (no frame for `heartbeat_timeout`
seconds), in which case the supervisor kills it. Every unplanned end is followed by a
restart after an exponential backoff, reset once a child has stayed up for a while.

A child starts in a session of its own, with a clean environment, in its own working
directory, as its own uid under a root kernel (account.py); when it ends, for whatever
reason, its process group and every process of its uid are killed with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from . import protocol as p
from .account import Account
from .limits import EXIT_MEMORY, HEARTBEAT_INTERVAL, Limits, out_of_memory_reason
from .output import OutputRelay

log = logging.getLogger("mindframe.sandbox")
STABLE_AFTER = 10.0
"""A child that stays up this long resets the backoff."""
STOP_GRACE = 5.0
LAST_WORDS = 1.0
"""How long after a child exits its last frames (a `Fatal`) may still be read."""


class ChildUnavailable(RuntimeError):
    """The plugin's child process is down (the message says why)."""


class Stream:
    """Parent-side state of one proxied HTTP request."""

    __slots__ = ("credits", "frames")

    def __init__(self) -> None:
        self.frames: asyncio.Queue[p.Msg | str] = asyncio.Queue()  # str: why the child died
        self.credits = asyncio.Semaphore(p.WINDOW)


class ChildProcess:
    """One running child and the connection to it."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        conn: p.Connection,
        account: Account,
        output: OutputRelay,
    ) -> None:
        self.process = process
        self.conn = conn
        self.account = account
        self.output = output
        """The child's stdout and stderr, for the log."""
        self.pidfd = _pidfd(process.pid)
        self.confinement: dict[str, Any] = {}
        self.described: p.Described | None = None
        self.last_seen = time.monotonic()
        self.started_at = time.monotonic()
        self.started: asyncio.Future[p.Started] = asyncio.get_running_loop().create_future()
        self.fatal: str | None = None
        self.hung = False
        self.streams: dict[int, Stream] = {}
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def call(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        """Ask the child to do `op`; raises the child's error as ChildUnavailable/RuntimeError."""
        call_id = self.new_id()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[call_id] = future
        try:
            self.conn.send_nowait(p.Call(id=call_id, op=op, args=args))
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self.pending.pop(call_id, None)

    def fail_everything(self, reason: str) -> None:
        """The child is gone: every waiting request and call learns why."""
        for stream in self.streams.values():
            stream.frames.put_nowait(reason)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ChildUnavailable(reason))
        if not self.started.done():
            self.started.cancel()

    def kill(self) -> None:
        """SIGKILL the child and its process group. The child is not reaped: asyncio's
        child watcher must be the one to `waitpid`, or it reports status 255 and the real
        reason (a signal) is lost. So not `Process.kill()`, whose `Popen.send_signal`
        polls, reaping an exited child."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                if self.pidfd is not None:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                else:
                    os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def kill_all(self) -> None:
        """`kill`, and every process of the child's uid, found in /proc: also those that
        left its process group. Synchronous (a few ms, tens under load): it must run to
        the end even in a task being cancelled, where anyio cancels every further await."""
        self.kill()
        self.account.kill_all()

    def close(self) -> None:
        """Let go of the child: its connection and output, what still runs under its uid,
        its working directory."""
        self.conn.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        self.output.close()
        self.account.close()


def _pidfd(pid: int) -> int | None:
    """A handle on the process that cannot point at a recycled pid (Linux 5.3+)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


CHILD_PATH = "/usr/local/bin:/usr/bin:/bin"


def child_environment(workdir: Path) -> dict[str, str]:
    """Nothing of the kernel's environment (its secrets live there): a plugin's
    configuration reaches it through its settings."""
    home = str(workdir)
    return {"PATH": CHILD_PATH, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8"}


async def spawn(hello: p.Hello, plugin: str) -> ChildProcess:
    """Start `python -I -m mindframe.sandbox.child FD` with one end of a socket pair, in a
    session of its own, its stdout and stderr into one pipe for the log (output.py)."""
    account = Account(plugin)
    account.kill_all()  # left by a dead kernel that had our pid
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    output, output_write = os.pipe()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",  # no PYTHON* variables, no user site, no working directory on sys.path
            "-u",
            "-B",
            "-m",
            "mindframe.sandbox.child",
            str(theirs.fileno()),
            pass_fds=[theirs.fileno()],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output_write,
            stderr=output_write,
            env=child_environment(account.workdir),
            cwd=account.workdir,
            start_new_session=True,
        )
    except BaseException:
        ours.close()
        os.close(output)
        account.close()
        raise
    finally:
        theirs.close()
        os.close(output_write)
    conn = await p.Connection.over(ours)
    child = ChildProcess(process, conn, account, await OutputRelay.open(output))
    conn.send_nowait(msgspec.structs.replace(hello, workdir=str(account.workdir), uid=account.uid))
    return child


def describe_exit(child: ChildProcess, returncode: int, limits: Limits) -> str:
    """One line saying why a child ended."""
    if child.hung:
        return f"hung: no heartbeat for {limits.heartbeat_timeout:g} s; killed"
    if child.fatal:
        return child.fatal
    if returncode == EXIT_MEMORY:
        return out_of_memory_reason(limits.memory_mb)
    if returncode < 0:
        number = -returncode
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        what = {
            signal.SIGSEGV: "crashed with a segmentation fault",
            signal.SIGABRT: "aborted",
            signal.SIGBUS: "crashed with a bus error",
            signal.SIGKILL: "was killed",
            signal.SIGXCPU: f"exceeded its CPU limit (cpu_seconds = {limits.cpu_seconds})",
        }.get(number, "was killed by a signal")  # type: ignore[call-overload]
        return f"{what} ({name})"
    return f"exited unexpectedly with status {returncode}"


class Supervisor:
    """Runs a plugin's child, restarting it with backoff; reports its state and reason."""

    def __init__(
        self,
        name: str,
        hello: Callable[[], p.Hello],
        limits: Limits,
        on_frame: Callable[[ChildProcess, p.Msg], None],
        startup_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.startup_timeout = startup_timeout
        self._hello = hello
        self.limits = limits
        self._on_frame = on_frame
        self.child: ChildProcess | None = None
        self.state = "starting"  # starting | running | restarting | failed | stopped
        self.reason: str | None = None
        self.restarts = 0
        self.history: list[dict[str, Any]] = []
        self._ready = asyncio.Event()
        self._stopping = False
        self._started_once = False
        loop = asyncio.get_running_loop()
        self._first: asyncio.Future[None] = loop.create_future()
        self._described: asyncio.Future[p.Described] = loop.create_future()

    # --- what the proxy asks ---------------------------------------------------------------

    def ready_child(self) -> ChildProcess | None:
        return self.child if self._ready.is_set() else None

    async def wait_ready(self, timeout: float) -> ChildProcess:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        child = self.ready_child()
        if child is None:
            raise ChildUnavailable(self.unavailable_reason())
        return child

    def unavailable_reason(self) -> str:
        if self.state == "stopped":
            return f"plugin '{self.name}' is stopped"
        detail = f": {self.reason}" if self.reason else ""
        return f"plugin '{self.name}' is {self.state}{detail}"

    async def first_description(self) -> p.Described:
        """What the first child serves (routes, pages, OpenAPI), known before its `startup`
        runs; raises why the plugin could not be loaded."""
        return await asyncio.shield(self._described)

    async def first_start(self) -> None:
        """Wait until the first child has started the plugin; raise its error if not."""
        await asyncio.shield(self._first)

    def _fail_first(self, error: BaseException) -> None:
        for future in (self._described, self._first):
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: nobody may be waiting for the description

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Spawn, watch, and after an unplanned end wait the backoff and spawn again."""
        failures = 0
        while not self._stopping:
            child = await spawn(self._hello(), self.name)
            self.child = child
            outcome = await self._watch(child)
            self._ready.clear()
            if self._stopping:
                self.state = "stopped"
                child.fail_everything(f"plugin '{self.name}' is stopping")
                return
            if not self._started_once:
                # The very first start failed: the kernel marks the plugin failed, as it
                # would an in-process plugin; nothing to restart.
                self.state, self.reason = "failed", outcome
                child.fail_everything(f"plugin '{self.name}' failed: {outcome}")
                self._fail_first(ChildUnavailable(outcome))
                return
            stable = time.monotonic() - child.started_at >= STABLE_AFTER
            failures = 1 if stable else failures + 1
            delay = min(self.limits.backoff_max, self.limits.backoff_initial * 2 ** (failures - 1))
            self.state, self.reason = "restarting", outcome
            child.fail_everything(f"plugin '{self.name}' {outcome}; restarting")
            self.history.append({"at": time.time(), "reason": outcome, "backoff": delay})
            del self.history[:-50]
            log.error("sandboxed plugin %s %s; restarting in %.2f s", self.name, outcome, delay)
            await asyncio.sleep(delay)
            self.restarts += 1

    async def _watch(self, child: ChildProcess) -> str:
        """Serve one child until it ends; returns why it ended."""
        reader = asyncio.ensure_future(self._read(child))
        output = asyncio.ensure_future(child.output.run(self.name))
        watchdog = asyncio.ensure_future(self._watchdog(child))
        exited = asyncio.ensure_future(child.process.wait())
        starting = asyncio.ensure_future(self._await_started(child))
        try:
            await asyncio.wait({reader, watchdog, exited}, return_when=asyncio.FIRST_COMPLETED)
            if exited.done():
                # Its last frames (a `Fatal` saying why) may still be unread.
                await asyncio.wait({reader}, timeout=LAST_WORDS)
            elif reader.done():
                # It closed the connection: give it the time to exit on its own.
                await asyncio.wait({exited}, timeout=LAST_WORDS)
        finally:
            for task in (reader, watchdog, starting):
                task.cancel()
            try:
                child.kill_all()
                with contextlib.suppress(Exception):
                    await asyncio.shield(exited)
                # What the child wrote last; a process that escaped the kill keeps the pipe.
                await asyncio.wait({output}, timeout=LAST_WORDS)
            finally:  # also when the supervisor is cancelled meanwhile
                output.cancel()
                child.close()
        returncode = child.process.returncode or 0
        if self._stopping and not child.hung and not child.fatal:
            reason = "stopped"
        elif starting.done() and not starting.cancelled() and starting.exception() is None:
            reason = starting.result() or describe_exit(child, returncode, self.limits)
        else:
            reason = describe_exit(child, returncode, self.limits)
        return reason

    async def _await_started(self, child: ChildProcess) -> str | None:
        """Mark the plugin running once the child says it started; a refusal is a reason."""
        started = await child.started
        child.confinement = started.confinement
        if not started.ok:
            log.error("sandboxed plugin %s failed to start: %s", self.name, started.error)
            self._fail_first(_StartFailed(started.error, started.traceback))
            child.fatal = f"failed to start: {started.error}"
            child.kill()
            return child.fatal
        self.state, self.reason = "running", None
        self._started_once = True
        self._ready.set()
        if not self._first.done():
            self._first.set_result(None)
        log.info("sandboxed plugin %s running in pid %d", self.name, child.pid)
        return None

    async def _read(self, child: ChildProcess) -> None:
        conn = child.conn
        on_frame = self._on_frame
        while True:
            try:
                frame = await conn.receive()
            except EOFError:
                return
            child.last_seen = time.monotonic()
            if isinstance(frame, p.Heartbeat):
                continue
            if isinstance(frame, p.Started):
                if not child.started.done():
                    child.started.set_result(frame)
            elif isinstance(frame, p.Described):
                child.described = frame
                if not self._described.done():
                    self._described.set_result(frame)
            elif isinstance(frame, p.Fatal):
                child.fatal = frame.reason
            else:
                on_frame(child, frame)

    async def _watchdog(self, child: ChildProcess) -> None:
        """Kill a child that stops sending frames; while it is still starting (importing,
        running `startup`) it gets the manifest's `startup_timeout` instead."""
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL / 2)
            timeout = self.limits.heartbeat_timeout
            if not child.started.done():
                timeout = max(timeout, self.startup_timeout)
            if time.monotonic() - child.last_seen > timeout:
                child.hung = True
                log.error("sandboxed plugin %s: silent for %g s, killing", self.name, timeout)
                child.kill()
                return

    # --- stopping --------------------------------------------------------------------------

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Ask the child to shut down; kill it after `grace` seconds. Safe to call twice."""
        self._stopping = True
        self._ready.clear()
        self.state = "stopped"
        self._fail_first(ChildUnavailable(f"plugin '{self.name}' was stopped"))
        child = self.child
        if child is None or child.process.returncode is not None:
            return
        with contextlib.suppress(Exception):
            child.conn.send_nowait(p.Stop())
        try:
            async with asyncio.timeout(grace):
                await child.process.wait()
        except TimeoutError:
            log.warning("sandboxed plugin %s did not stop in %g s; killing", self.name, grace)
        child.kill_all()  # and what it started, even if it exited on its own
        await child.process.wait()


class _StartFailed(RuntimeError):
    """The plugin's own start (import, a register hook, startup) failed in the child."""

    def __init__(self, error: str | None, traceback: str | None) -> None:
        super().__init__(error or "the plugin failed to start")
        self.child_traceback = traceback
