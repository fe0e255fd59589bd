"""Group commit: messages posted at the same moment are stored in one transaction.

Nothing is acknowledged before its transaction committed. There is no writer task to stop
on a reload: the first poster to find no write under way writes everything pending (its own
message and whatever queued meanwhile), and when more is pending after its own message is
stored it hands the lead to the next poster waiting, so no caller writes for others forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import anyio

from mindframe.sdk import PluginContext

from . import store
from .store import Draft, Stored

Published = Callable[[Sequence[Stored]], Awaitable[None]]


class _Waiting:
    __slots__ = ("done", "draft", "error", "lead", "outcome", "wake")

    def __init__(self, draft: Draft) -> None:
        self.draft = draft
        self.wake = asyncio.get_running_loop().create_future()  # cheaper than anyio.Event
        self.lead = False
        self.done = False
        self.outcome: Stored | None = None
        self.error: BaseException | None = None


class MessageWriter:
    """Stores drafts in batches of up to `limit`, then calls `stored(outcomes)` (to publish
    them) before anyone waiting is answered."""

    def __init__(self, ctx: PluginContext, stored: Published, limit: int = 500) -> None:
        self._ctx = ctx
        self._stored = stored
        self._limit = limit
        self._pending: list[_Waiting] = []
        self._leading = False
        self.batches = 0
        self.written = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def write(self, draft: Draft) -> Stored:
        waiting = _Waiting(draft)
        self._pending.append(waiting)
        if self._leading:
            await waiting.wake
        else:
            self._leading = waiting.lead = True
        if waiting.lead:
            try:
                while not waiting.done:
                    batch = self._pending[: self._limit]
                    del self._pending[: self._limit]
                    with anyio.CancelScope(shield=True):  # a started batch always ends
                        await self._commit(batch)
            finally:
                self._hand_over()
        if waiting.error is not None:
            raise waiting.error
        assert waiting.outcome is not None
        return waiting.outcome

    def _hand_over(self) -> None:
        """The lead goes to the first poster still waiting (one whose caller was cancelled
        cannot take it; its message is written by the next leader all the same)."""
        self._leading = False
        for waiting in self._pending:
            if not waiting.wake.done():
                waiting.lead = self._leading = True
                waiting.wake.set_result(None)
                return

    async def _commit(self, batch: list[_Waiting]) -> None:
        try:
            outcomes = await self._ctx.transaction(store.store_messages, [w.draft for w in batch])
        except Exception as error:
            for waiting in batch:
                waiting.error = error
        else:
            self.batches += 1
            self.written += sum(o.created for o in outcomes)
            for waiting, outcome in zip(batch, outcomes, strict=True):
                waiting.outcome = outcome
            try:
                await self._stored([o for o in outcomes if o.created])
            except Exception:  # stored all the same: readers catch up from the tables
                self._ctx.log.exception("chat: publishing stored messages failed")
        for waiting in batch:
            waiting.done = True
            if not waiting.lead and not waiting.wake.done():
                waiting.wake.set_result(None)
