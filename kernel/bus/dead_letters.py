"""The dead-letter store: events the bus gave up on, kept with the reason, re-drivable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from . import schema
from .durable import _aware
from .errors import DeadLetterNotFound


class DeadLetter(msgspec.Struct, kw_only=True):
    """One dead-lettered delivery, as listed by the API and CLI."""

    id: int
    event_id: str
    topic: str
    subscription: str | None
    owner: str | None
    reason: str
    error: str | None
    attempts: int
    priority: int
    headers: dict[str, str]
    created_at: datetime
    redriven_at: datetime | None
    payload: str  # the event's JSON text (may be undecodable; that is often the reason)


class DeadLetterStore:
    """SQL-backed; ``redrive`` hands the event back to the bus for another round."""

    def __init__(
        self, engine: AsyncEngine, redrive: Callable[[DeadLetter], Awaitable[None]]
    ) -> None:
        self.engine = engine
        self._redrive = redrive
        self.count = 0  # not yet re-driven; kept in memory so stats() stays synchronous

    async def load(self) -> None:
        t = schema.dead_letters
        async with self.engine.connect() as conn:
            self.count = (
                await conn.execute(
                    select(func.count()).select_from(t).where(t.c.redriven_at.is_(None))
                )
            ).scalar() or 0

    async def add(
        self,
        *,
        event_id: str,
        topic: str,
        payload: bytes,
        reason: str,
        subscription: str | None = None,
        owner: str | None = None,
        error: BaseException | str | None = None,
        attempts: int = 0,
        priority: int = 0,
        headers: dict[str, str] | None = None,
    ) -> int:
        row = {
            "event_id": event_id,
            "topic": topic,
            "payload": payload,
            "reason": reason,
            "subscription": subscription,
            "owner": owner,
            "error": _describe(error),
            "attempts": attempts,
            "priority": priority,
            "headers": headers or {},
            "created_at": datetime.now(UTC),
        }
        t = schema.dead_letters
        async with self.engine.begin() as conn:
            new_id = (await conn.execute(insert(t).values(row).returning(t.c.id))).scalar_one()
        self.count += 1
        return int(new_id)

    async def list(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        include_redriven: bool = False,
        topic: str | None = None,
    ) -> list[DeadLetter]:
        t = schema.dead_letters
        query = select(t).order_by(t.c.id.desc()).limit(limit).offset(offset)
        if not include_redriven:
            query = query.where(t.c.redriven_at.is_(None))
        if topic is not None:
            query = query.where(t.c.topic == topic)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_to_struct(r) for r in rows]

    async def get(self, dead_letter_id: int) -> DeadLetter:
        t = schema.dead_letters
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t).where(t.c.id == dead_letter_id))).mappings().first()
        if row is None:
            raise DeadLetterNotFound(f"no dead letter with id {dead_letter_id}")
        return _to_struct(row)

    async def redrive(self, dead_letter_id: int) -> DeadLetter:
        """Deliver again (to its subscription if it still exists, else to the topic)."""
        letter = await self.get(dead_letter_id)
        await self._redrive(letter)
        t = schema.dead_letters
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.id == dead_letter_id, t.c.redriven_at.is_(None))
                .values(redriven_at=now)
            )
        if result.rowcount:
            self.count = max(0, self.count - 1)
        return msgspec.structs.replace(letter, redriven_at=now)


def _describe(error: BaseException | str | None) -> str | None:
    if error is None or isinstance(error, str):
        return error
    return f"{type(error).__qualname__}: {error}"


def _to_struct(row: Any) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        event_id=row["event_id"],
        topic=row["topic"],
        subscription=row["subscription"],
        owner=row["owner"],
        reason=row["reason"],
        error=row["error"],
        attempts=row["attempts"],
        priority=row["priority"],
        headers=row["headers"] or {},
        created_at=_aware(row["created_at"]),
        redriven_at=_aware(row["redriven_at"]) if row["redriven_at"] else None,
        payload=bytes(row["payload"]).decode("utf-8", "replace"),
    )
