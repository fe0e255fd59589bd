"""Worker processes for a plugin's CPU-heavy pure functions: work that would otherwise hold
the server's one GIL while requests wait.

Why: the errors digest decodes, normalises and fingerprints every event (~40 % of the
server's CPU under a burst), in the process that also answers the SDKs; on this machine's
two cores the two then take turns instead of running side by side.

A pool belongs to one plugin version (`ctx.process_pool()`): its workers import the
plugin's modules from that version's folder and are stopped when it unloads, so a reload
never runs old code in a worker. Workers start on first use, not at boot. A call sends
`fn` by reference (a module-level function of the plugin's package, or of any installed
package) and its arguments by pickle; the result comes back the same way. A worker that
dies mid-call fails that call with `WorkerProcessError`; the next call starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

from .process_worker import HEADER, frame
from .sqlite_file import in_worker_process

T = TypeVar("T")
log = logging.getLogger(__name__)


InServer = Callable[..., Awaitable[Any]]
Track = Callable[[Callable[..., Any], Awaitable[T]], Awaitable[T]]


async def _untracked(_fn: Callable[..., Any], work: Awaitable[T]) -> T:
    return await work


class WorkerProcessError(RuntimeError):
    """A worker process ended (crashed, was killed, or the pool closed) during a call."""


class _Worker:
    """One child process, answering one call at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, start: dict[str, Any]) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mindframe.kernel.process_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker = cls(process)
        worker.write(frame(start))
        await worker.receive()  # ("ready", pid)
        return worker

    def write(self, frame: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(frame)

    async def receive(self) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            await self.process.stdin.drain()
            (length,) = HEADER.unpack(await self.process.stdout.readexactly(HEADER.size))
            return pickle.loads(await self.process.stdout.readexactly(length))
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            code = await self.process.wait()
            raise WorkerProcessError(f"the worker process ended with exit code {code}") from error

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def stop(self) -> None:
        self.kill()
        await self.process.wait()


class ProcessPool:
    """Up to `size` worker processes running calls for one plugin version."""

    def __init__(
        self,
        owner: str,
        module_name: str | None,
        folder: Path | None,
        size: int,
        *,
        database: str | None = None,
        in_server: InServer | None = None,
        track: Track | None = None,
    ) -> None:
        """`database`: the URL of the SQLite file `transaction` opens in a worker (None when
        a worker cannot open the runtime's database); `in_server`: how `transaction` runs
        in the server instead (`ctx.transaction` with `core=True`); `track`: how a
        transaction is kept in the plugin's ledger while it runs."""
        if size < 1:
            raise ValueError(f"a process pool has at least one worker, not {size}")
        self.owner = owner
        self._database = database
        self._in_server = in_server
        self._track = track or _untracked
        self._start = {"module_name": module_name, "folder": str(folder) if folder else None}
        self._size = size
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting = 0  # workers whose process is starting, counted against the size
        self._waiting: list[asyncio.Future[None]] = []  # callers waiting for a worker
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker process; its result, or the exception it raised. If the
        caller is cancelled, the worker is stopped (its answer would be stale)."""
        call = frame((fn, args))  # a function or argument that cannot go fails here
        worker = await self._take()
        try:
            worker.write(call)
            ok, value = await worker.receive()
        except BaseException:
            self._busy.discard(worker)
            worker.kill()  # at once: a cancelled caller may not wait for the reaping
            self._wake_waiting()  # before any await: a cancelled caller may not get past one
            await asyncio.shield(worker.stop())
            raise
        await self._give_back(worker)
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    async def transaction(self, fn: Callable[..., T], *args: Any, read_only: bool = False) -> T:
        """`fn(connection, *args)` in one transaction on the runtime's database, in a worker
        process: what `ctx.transaction(fn, *args, core=True)` does on a thread of the server,
        with the same promises (committed when `fn` returns, rolled back when it raises and
        the exception propagates; once begun it runs to the end even if the caller is
        cancelled; an unload waits for it). For a writer whose rows cost real CPU to build
        (sealing, hashing, encoding): on the server's thread that CPU takes turns with the
        requests for the one GIL, and every hand-over costs both sides.

        `fn` and its arguments travel as in `run`. When a worker cannot open the database
        (SQLite in memory; PostgreSQL, whose driver here is async only) `fn` runs in the
        server through `ctx.transaction` instead, with the same outcome. A worker that dies
        mid-transaction leaves nothing of it (SQLite rolls it back) and the call fails with
        `WorkerProcessError`."""
        if self._database is not None:
            work: Awaitable[T] = self.run(in_worker_process, self._database, fn, args, read_only)
        elif self._in_server is not None:
            work = self._in_server(fn, *args, read_only=read_only)
        else:
            raise WorkerProcessError(f"plugin '{self.owner}': its process pool has no database")
        with anyio.CancelScope(shield=True):
            return await self._track(fn, work)

    @property
    def in_workers(self) -> bool:
        """Whether `transaction` runs in worker processes (else in the server)."""
        return self._database is not None

    async def warm(self) -> None:
        """Start a worker now if none is alive or starting, so a first call soon to come
        does not wait for a Python to start and import (~0.3 s, more on a busy machine)."""
        if self._closed or self._idle or self._busy or self._starting:
            return
        worker = await self._started()
        await self._give_back(worker)

    async def close(self) -> None:
        """Stop every worker; a call still running fails with `WorkerProcessError`."""
        self._closed = True
        self._wake_waiting()
        workers = [*self._idle, *self._busy]
        self._idle.clear()
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)

    @property
    def workers(self) -> int:
        """Worker processes alive now."""
        return len(self._idle) + len(self._busy)

    async def _take(self) -> _Worker:
        while True:
            if self._closed:
                raise WorkerProcessError(f"plugin '{self.owner}': its process pool is closed")
            while self._idle:
                worker = self._idle.pop()
                if worker.process.returncode is None:
                    self._busy.add(worker)
                    return worker
            if len(self._busy) + self._starting < self._size:
                break
            waiting = asyncio.get_running_loop().create_future()
            self._waiting.append(waiting)
            await waiting
        worker = await self._started()
        if self._closed:
            await worker.stop()
            raise WorkerProcessError(f"plugin '{self.owner}': its process pool is closed")
        self._busy.add(worker)
        return worker

    async def _started(self) -> _Worker:
        """A new worker process, counted against the size while it starts."""
        self._starting += 1
        try:
            return await _Worker.start(self._start)
        except BaseException:
            self._wake_waiting()  # its place is free again
            raise
        finally:
            self._starting -= 1

    async def _give_back(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        self._wake_waiting()
        if self._closed:
            await worker.stop()
            return
        self._idle.append(worker)

    def _wake_waiting(self) -> None:
        """A place or a worker is free, or the pool closed: every waiting caller looks
        again. Synchronous, so no cancellation between a release and the wake-up can lose
        it (a lost one left a caller waiting for ever)."""
        waiting, self._waiting = self._waiting, []
        for future in waiting:
            if not future.done():
                future.set_result(None)
