"""Group commit: writes handed over while a transaction runs wait for the next one and share
it, so a burst of runs costs a few transactions. A caller either returns once its write is
committed (durable: a SIGKILL after the answer loses nothing) or at once, its write behind
it (the history of a quick run: committed with the next transaction, flushed at stop).

When a transaction fails, a caller waiting for its write is told; writes behind their
answers go back to the head of the line and are tried again after a pause, so no later
transaction commits past them (the runs spool's cursor moves with each commit)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from mindframe.sdk import PluginContext

Transact = Callable[[list[Any]], Awaitable[None]]
"""Writes `items` in one transaction (committed when it returns)."""
Done = Callable[[list[Any], bool], None]
"""Told the items of each transaction once it ended, and whether it committed."""


MAX_BATCH = 256
"""Writes a transaction takes at most: it holds SQLite's write lock while it runs, and a
backlog of thousands (the spool lets answers run ahead of the history) once held it for
seconds, so other plugins' writers waited out their busy timeout and failed."""

FIRST_RETRY_PAUSE = 0.2
MAX_RETRY_PAUSE = 30.0
"""After a failed transaction the writes behind it are tried again after a pause that
doubles up to this (a database that refuses writes is not hammered)."""

_SETTLED = object()
"""A write that writes nothing: its commit is the moment everything before it is written."""


class StoreStopped(RuntimeError):
    """The agents plugin is stopped (or reloading); nothing can be written now."""


class GroupCommit:
    """One writer task applying every pending write in one transaction at a time."""

    def __init__(self, ctx: PluginContext, transact: Transact, done: Done) -> None:
        self._ctx = ctx
        self._transact = transact
        self._done = done
        self._pending: list[tuple[Any, asyncio.Future[None] | None]] = []
        self._wake = asyncio.Event()
        self._flushing = 0
        self.running = False
        self.transactions = 0
        self.writes = 0
        self.last_error: str | None = None
        """Why the last transaction failed; None once one commits again."""
        self._pause = FIRST_RETRY_PAUSE

    @property
    def depth(self) -> int:
        """Writes not committed yet: waiting, and in the transaction under way."""
        return len(self._pending) + self._flushing

    async def write(self, item: Any, *, wait: bool = True) -> None:
        """Hand `item` to the next transaction; with `wait`, return once that committed."""
        if not self.running:
            raise StoreStopped("the agents plugin's store is not running (stopped or reloading)")
        future = asyncio.get_running_loop().create_future() if wait else None
        self._pending.append((item, future))
        self._wake.set()
        if future is not None:
            await future

    async def settled(self) -> None:
        """Return once everything handed over before this call is committed: for reads of
        what may have been written behind (the audit, the history)."""
        if self.running and self.depth:
            await self.write(_SETTLED)

    def start(self) -> None:
        """Run the writer in the background until the plugin unloads; writes are taken from
        now on."""
        self.running = True
        self._ctx.spawn(self.run, name="agents store writer")

    async def run(self) -> None:
        """The writer: until cancelled (the plugin unloading), then what is left, once."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                with anyio.CancelScope(shield=True):  # a transaction begun is finished
                    failed = not await self._flush()
                if failed:  # what was written behind is back in line: try again shortly
                    await anyio.sleep(self._pause)
                    self._pause = min(self._pause * 2, MAX_RETRY_PAUSE)
                    self._wake.set()
        finally:
            self.running = False
            with anyio.CancelScope(shield=True):
                await self._flush()

    async def _flush(self) -> bool:
        """Write the next batch; False if its transaction failed."""
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        if not batch:
            return True
        if self._pending:
            self._wake.set()  # the rest goes in the next transaction
        self._flushing = len(batch)
        items = [item for item, _ in batch if item is not _SETTLED]
        try:
            if items:
                await self._transact(items)
        except Exception as error:
            # its text may quote the rows (health data): name the kind of error only
            self.last_error = f"writing runs failed: {type(error).__name__}"
            self._ctx.report_error(RuntimeError(self.last_error), task="agents store writer")
            # a caller waiting for its write is told; a write behind its answer (a run
            # already answered, durable in the spool) is not dropped but written again, first
            told = [(item, future) for item, future in batch if future is not None]
            again = [(item, None) for item, future in batch if future is None]
            self._pending[:0] = [entry for entry in again if entry[0] is not _SETTLED]
            for _, future in told:
                if not future.done():
                    future.set_exception(error)
            self._done([item for item, _ in told if item is not _SETTLED], False)
            return False
        finally:
            self._flushing = 0
        self._done(items, True)
        self.last_error = None
        self._pause = FIRST_RETRY_PAUSE
        self.transactions += 1
        self.writes += len(batch)
        for _, future in batch:
            if future is not None and not future.done():
                future.set_result(None)
        return True
