"""Group commit: writes handed over while a transaction runs wait for the next one and share
it, so a burst of runs costs a few transactions. A caller either returns once its write is
committed (durable: a SIGKILL after the answer loses nothing) or at once, its write behind
it (the history of a quick run: committed with the next transaction, flushed at stop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
from sqlalchemy.engine import Connection

from mindframe.sdk import PluginContext

Apply = Callable[[Connection, list[Any]], None]
Done = Callable[[list[Any], bool], None]
"""Told the items of each transaction once it ended, and whether it committed."""


MAX_BATCH = 256
"""Writes a transaction takes at most: it holds SQLite's write lock while it runs, and a
backlog of thousands (the spool lets answers run ahead of the history) once held it for
seconds, so other plugins' writers waited out their busy timeout and failed."""

_SETTLED = object()
"""A write that writes nothing: its commit is the moment everything before it is written."""


class StoreStopped(RuntimeError):
    """The agents plugin is stopped (or reloading); nothing can be written now."""


class GroupCommit:
    """One writer task applying every pending write in one transaction at a time."""

    def __init__(self, ctx: PluginContext, apply: Apply, done: Done) -> None:
        self._ctx = ctx
        self._apply = apply
        self._done = done
        self._pending: list[tuple[Any, asyncio.Future[None] | None]] = []
        self._wake = asyncio.Event()
        self._flushing = 0
        self.running = False
        self.transactions = 0
        self.writes = 0
        self.last_error: str | None = None

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
                    await self._flush()
        finally:
            self.running = False
            with anyio.CancelScope(shield=True):
                await self._flush()

    async def _flush(self) -> None:
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        if not batch:
            return
        if self._pending:
            self._wake.set()  # the rest goes in the next transaction
        self._flushing = len(batch)
        items = [item for item, _ in batch if item is not _SETTLED]
        committed = False
        try:
            if items:
                await self._ctx.transaction(self._apply, items, core=True)
            committed = True
        except Exception as error:
            # its text may quote the rows (health data): name the kind of error only
            self.last_error = f"writing runs failed: {type(error).__name__}"
            self._ctx.report_error(RuntimeError(self.last_error), task="agents store writer")
            for _, future in batch:
                if future is not None and not future.done():
                    future.set_exception(error)
            return
        finally:
            self._flushing = 0
            self._done(items, committed)
        self.transactions += 1
        self.writes += len(batch)
        for _, future in batch:
            if future is not None and not future.done():
                future.set_result(None)
