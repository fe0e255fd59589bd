"""Agents' presence: online while their client is heard from, away when they say so, offline
when they leave or are not heard from within `presence_timeout` (a dropped connection).

Every change is stored (so every server agrees) and published as `chat.agent.presence`. A
heartbeat is written at most every `heartbeat_seconds / 2` per agent; the timeout is
enforced by a singleton job, so one server decides however many serve.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext
from mindframe.sdk.chat import AgentPresence, AgentPresenceChanged, PresenceStatus

from .models import presence
from .settings import ChatSettings
from .store import aware, now


def _change(
    session: Session, agent_id: str, name: str | None, status: str, heard_at: float
) -> str | None:
    """Set the agent's status; the previous one when it changed, else None."""
    row = session.execute(select(presence).where(presence.c.agent_id == agent_id)).first()
    if row is None:
        session.execute(
            presence.insert().values(
                agent_id=agent_id, name=name, status=status, since=now(), heard_at=heard_at
            )
        )
        return "offline"
    values: dict[str, object] = {"heard_at": heard_at}
    if name:
        values["name"] = name
    if row.status != status:
        values.update(status=status, since=now())
    session.execute(update(presence).where(presence.c.agent_id == agent_id).values(**values))
    return row.status if row.status != status else None


def _heard(session: Session, agent_id: str, heard_at: float) -> None:
    session.execute(
        update(presence).where(presence.c.agent_id == agent_id).values(heard_at=heard_at)
    )


def _expire(session: Session, before: float) -> list[tuple[str, str]]:
    rows = session.execute(
        select(presence.c.agent_id, presence.c.status).where(
            presence.c.status != "offline", presence.c.heard_at < before
        )
    ).all()
    for agent_id, _ in rows:
        session.execute(
            update(presence)
            .where(presence.c.agent_id == agent_id)
            .values(status="offline", since=now())
        )
    return [(agent_id, status) for agent_id, status in rows]


def _present(session: Session) -> list[AgentPresence]:
    rows = session.execute(
        select(presence).where(presence.c.status != "offline").order_by(presence.c.since)
    )
    return [
        AgentPresence(r.agent_id, r.status, aware(r.since) or datetime.now(), r.name) for r in rows
    ]


class PresenceBook:
    """Presence of the agents connected here, written through to the table."""

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self._settings: ChatSettings = ctx.settings
        self._written: dict[str, float] = {}

    async def set(self, agent_id: str, status: PresenceStatus, name: str | None = None) -> None:
        heard = time.time()
        previous = await self._ctx.transaction(_change, agent_id, name, status, heard)
        self._written[agent_id] = heard
        if previous is not None:
            await self._announce(agent_id, status, previous)  # type: ignore[arg-type]

    async def heard(self, agent_id: str) -> None:
        """A heartbeat (any frame) from the agent: written when the last is old enough."""
        heard = time.time()
        if heard - self._written.get(agent_id, 0.0) >= self._settings.heartbeat_seconds / 2:
            self._written[agent_id] = heard
            await self._ctx.transaction(_heard, agent_id, heard)

    async def expire(self) -> None:
        """The singleton job: agents not heard from within the timeout go offline."""
        before = time.time() - self._settings.presence_timeout
        for agent_id, previous in await self._ctx.transaction(_expire, before):
            self._written.pop(agent_id, None)
            await self._announce(agent_id, "offline", previous)  # type: ignore[arg-type]

    async def present(self) -> list[AgentPresence]:
        return await self._ctx.transaction(_present, read_only=True)

    async def _announce(
        self, agent_id: str, status: PresenceStatus, previous: PresenceStatus
    ) -> None:
        await self._ctx.publish(
            AgentPresenceChanged(agent_id=agent_id, status=status, previous=previous)
        )
