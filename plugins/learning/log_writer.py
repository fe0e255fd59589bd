"""The write-behind log: decisions, rewards and checkpoints committed in batches.

"Durably logged" means committed to the database (SQLite in WAL mode by default: it
survives the process being killed; surviving power loss is the database's `synchronous`
setting). A decision is handed to this writer and the caller goes on; the writer commits
whatever has arrived at most `flush_interval` later, or at once when someone waits. A
reward's caller always waits: its reward, and every decision and reward before it (the
buffers are committed in the order they arrived), are committed before the reward is
acknowledged. While one transaction runs, the next batch gathers, so under load one commit
carries many rows. A failed commit keeps its rows and is tried again; waiters keep waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext

from .models import decisions, rewards, versions

RETRY_PAUSES = (0.05, 0.2, 1.0, 5.0)


class LogWriter:
    def __init__(self, ctx: PluginContext, flush_interval: float, flush_rows: int) -> None:
        self._ctx = ctx
        self._interval = flush_interval
        self._limit = flush_rows
        self._decisions: list[dict[str, Any]] = []
        self._rewards: list[dict[str, Any]] = []
        self._checkpoints: dict[tuple[str, int], dict[str, Any]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._urgent = asyncio.Event()
        self._pending = asyncio.Event()
        self.committed_rows = 0
        self.commits = 0
        self.last_error: str | None = None

    @property
    def depth(self) -> int:
        return len(self._decisions) + len(self._rewards)

    def _waiter(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        self._urgent.set()
        self._pending.set()
        return future

    def decision(self, row: dict[str, Any], wait: bool) -> asyncio.Future[None] | None:
        """Queue a decision; with `wait`, the future done once it is committed."""
        self._decisions.append(row)
        if wait:
            return self._waiter()
        self._pending.set()
        return None

    def reward(self, row: dict[str, Any], wait: bool = True) -> asyncio.Future[None]:
        """Queue a reward; the future is done once it is committed."""
        self._rewards.append(row)
        if wait:
            return self._waiter()
        self._pending.set()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        return future

    def checkpoint(self, policy: str, version: int, state: bytes, through: int) -> None:
        """Write a learner's state with the rows it reflects (all queued before this)."""
        self._checkpoints[(policy, version)] = {"state": state, "through": through}
        self._pending.set()

    async def flush(self) -> None:
        """Return once everything queued so far is committed."""
        if self.depth or self._checkpoints:
            await asyncio.shield(self._waiter())

    async def run(self) -> None:
        failures = 0
        try:
            while True:
                await self._pending.wait()
                if not self._urgent.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._urgent.wait(), self._interval)
                self._pending.clear()
                self._urgent.clear()
                while self.depth or self._checkpoints or self._waiters:
                    if await self._commit_once():
                        failures = 0
                        continue
                    failures += 1
                    await asyncio.sleep(RETRY_PAUSES[min(failures, len(RETRY_PAUSES)) - 1])
        finally:
            for future in self._waiters:
                if not future.done():
                    future.set_exception(RuntimeError("the learning log is stopping"))

    async def _commit_once(self) -> bool:
        batch_decisions = self._decisions[: self._limit]
        batch_rewards = self._rewards[: self._limit]
        whole = len(batch_decisions) == len(self._decisions) and len(batch_rewards) == len(
            self._rewards
        )
        checkpoints = self._checkpoints if whole else {}
        waiters = self._waiters if whole else []
        del self._decisions[: len(batch_decisions)]
        del self._rewards[: len(batch_rewards)]
        if whole:
            self._checkpoints, self._waiters = {}, []
        try:
            await self._ctx.transaction(_write, batch_decisions, batch_rewards, checkpoints)
        except Exception as error:
            self.last_error = f"{type(error).__name__}: {error}"
            self._ctx.log.exception("learning log: commit failed, will retry")
            self._decisions[:0] = batch_decisions
            self._rewards[:0] = batch_rewards
            for key, value in checkpoints.items():
                self._checkpoints.setdefault(key, value)
            self._waiters[:0] = waiters
            return False
        self.last_error = None
        self.commits += 1
        self.committed_rows += len(batch_decisions) + len(batch_rewards)
        for future in waiters:
            if not future.done():
                future.set_result(None)
        return True


def _write(
    session: Session,
    decision_rows: list[dict[str, Any]],
    reward_rows: list[dict[str, Any]],
    checkpoints: dict[tuple[str, int], dict[str, Any]],
) -> None:
    if decision_rows:
        session.execute(insert(decisions), decision_rows)
    if reward_rows:
        session.execute(insert(rewards), reward_rows)
    for (policy, version), values in checkpoints.items():
        session.execute(
            update(versions)
            .where(versions.c.policy == policy, versions.c.version == version)
            .values(state=values["state"], through=values["through"])
        )
