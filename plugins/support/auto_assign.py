"""The `assignment` job: queued tickets go to online agents, and the tickets of an agent who
went offline go back to their queue and on to someone present.

Each team has its own queue (its tickets, served by its online members); tickets of no team
are served by every online agent. Who gets the next ticket is `assignment.choose` (round
robin or least loaded, by setting) among the agents with room; the claim itself is the same
conditional update an agent taking a ticket makes, so the job and a quick agent never both
get one. Away agents keep their tickets and get no new ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .assignment import Candidate, choose, taken
from .db import insert_if_absent, now
from .models import agents, round_robin, team_members, tickets
from .service import SupportService
from .states import ACTIVE

GENERAL = "general"


def queue_key(team_id: int | None) -> str:
    return GENERAL if team_id is None else f"team:{team_id}"


@dataclass
class Queue:
    key: str
    ticket_ids: list[int] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    last: str | None = None


def read_queues(session: Session, online: set[str], default_limit: int) -> list[Queue]:
    """Every queue with waiting tickets (oldest first), its online agents with their loads
    and limits, and whom its round robin gave the last ticket."""
    waiting = session.execute(
        select(tickets.c.id, tickets.c.team_id)
        .where(tickets.c.assignee_id.is_(None), tickets.c.status.in_(ACTIVE))
        .order_by(tickets.c.created_at, tickets.c.id)
    ).all()
    if not waiting or not online:
        return []
    loads = dict(
        session.execute(
            select(tickets.c.assignee_id, func.count())
            .where(tickets.c.assignee_id.in_(online), tickets.c.status.in_(ACTIVE))
            .group_by(tickets.c.assignee_id)
        ).all()
    )
    limits = dict(
        session.execute(
            select(agents.c.agent_id, agents.c.max_concurrent).where(agents.c.agent_id.in_(online))
        ).all()
    )
    members: dict[int, set[str]] = defaultdict(set)
    for team_id, agent_id in session.execute(
        select(team_members.c.team_id, team_members.c.agent_id)
    ):
        members[team_id].add(agent_id)
    cursors = dict(session.execute(select(round_robin.c.queue, round_robin.c.last_agent_id)).all())
    queues: dict[str, Queue] = {}
    for ticket_id, team_id in waiting:
        key = queue_key(team_id)
        if key not in queues:
            serving = online if team_id is None else online & members[team_id]
            candidates = [
                Candidate(a, loads.get(a, 0), limits.get(a) or default_limit) for a in serving
            ]
            queues[key] = Queue(key, candidates=candidates, last=cursors.get(key))
        queues[key].ticket_ids.append(ticket_id)
    return list(queues.values())


def remember_turn(session: Session, queue: str, agent_id: str) -> None:
    if not insert_if_absent(session, round_robin, {"queue": queue, "last_agent_id": agent_id}):
        session.execute(
            update(round_robin).where(round_robin.c.queue == queue).values(last_agent_id=agent_id)
        )


def absent_holders(session: Session, before: float) -> list[tuple[int, str]]:
    """(ticket, agent) for the active tickets of agents offline since before `before`."""
    return [
        (ticket_id, agent_id)
        for ticket_id, agent_id in session.execute(
            select(tickets.c.id, tickets.c.assignee_id)
            .join(agents, agents.c.agent_id == tickets.c.assignee_id)
            .where(
                tickets.c.status.in_(ACTIVE),
                agents.c.offline_since.is_not(None),
                agents.c.offline_since <= before,
            )
            .order_by(tickets.c.id)
        )
    ]


def mark_presence(session: Session, agent_id: str, offline_since: float | None, name: Any) -> None:
    insert_if_absent(session, agents, {"agent_id": agent_id})
    values: dict[str, Any] = {"offline_since": offline_since}
    if name:
        values["name"] = name
    session.execute(update(agents).where(agents.c.agent_id == agent_id).values(**values))


class AutoAssigner:
    def __init__(self, service: SupportService) -> None:
        self._service = service
        self._ctx = service.ctx
        self._settings = service.settings

    async def presence_changed(self, agent_id: str, status: str, name: str | None = None) -> None:
        """Note when an agent went offline (their tickets move after `reassign_after`), or
        came back; then run the job, as there may be someone new to give tickets to."""
        offline_since = now() if status == "offline" else None
        await self._ctx.transaction(mark_presence, agent_id, offline_since, name)
        self._service.wake_assignment()

    async def run(self) -> None:
        """One round: give back the tickets of absent agents, then fill every queue."""
        present = await self._service.chat.agents_present()
        await self._reassign_from_absent({p.agent_id for p in present})
        if self._settings.assignment == "manual":
            return
        online = {p.agent_id for p in present if p.status == "online"}
        limit = self._settings.max_concurrent
        for queue in await self._ctx.transaction(read_queues, online, limit, read_only=True):
            await self._fill(queue)

    async def _reassign_from_absent(self, present: set[str]) -> None:
        before = now() - self._settings.reassign_after
        for ticket_id, agent_id in await self._ctx.transaction(
            absent_holders, before, read_only=True
        ):
            if agent_id in present:  # back already, though we missed hearing it
                await self._ctx.transaction(mark_presence, agent_id, None, None)
            else:
                await self._service.give_back(ticket_id, agent_id, by=None)

    async def _fill(self, queue: Queue) -> None:
        candidates, last = queue.candidates, queue.last
        for ticket_id in queue.ticket_ids:
            chosen = choose(self._settings.assignment, candidates, last)
            if chosen is None:
                return
            outcome = await self._service.take(ticket_id, chosen.agent_id)
            if outcome.result == "taken":
                candidates, last = taken(candidates, chosen.agent_id), chosen.agent_id
                await self._ctx.transaction(remember_turn, queue.key, chosen.agent_id)
            elif outcome.result == "at_limit":  # took one elsewhere meanwhile
                candidates = [c for c in candidates if c.agent_id != chosen.agent_id]
