"""Who holds a ticket: taking, assigning and giving back, as units of work for
`ctx.transaction`.

Taking is one conditional UPDATE (`assignee_id IS NULL`): two agents racing for the same
ticket both run it, the database applies them one after the other, and the second finds
the ticket taken and changes nothing. The concurrent limit is checked in the same
transaction after writing the agent's own row, which makes claims by one agent queue
behind each other (a row lock on PostgreSQL, the write lock on SQLite), so two claims
cannot both see room for one more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .db import insert_if_absent
from .models import agents, tickets
from .states import ACTIVE

TakeResult = Literal["taken", "held", "at_limit", "inactive", "missing"]


@dataclass(frozen=True)
class Taken:
    """What a claim did: `result`, and the holder before and after."""

    result: TakeResult
    conversation_id: str | None = None
    previous: str | None = None
    holder: str | None = None


def lock_agent(session: Session, agent_id: str, at: float) -> None:
    """Write the agent's row (creating it): later claims by this agent wait for this
    transaction, so its open-ticket count cannot change under it."""
    insert_if_absent(session, agents, {"agent_id": agent_id})
    session.execute(update(agents).where(agents.c.agent_id == agent_id).values(claimed_at=at))


def load_of(session: Session, agent_id: str) -> int:
    """How many open or pending tickets the agent holds."""
    query = select(func.count()).where(
        tickets.c.assignee_id == agent_id, tickets.c.status.in_(ACTIVE)
    )
    return int(session.execute(query).scalar_one())


def take(session: Session, ticket_id: int, agent_id: str, limit: int, at: float) -> Taken:
    """Give the ticket to `agent_id` if nobody holds it and they have room."""
    lock_agent(session, agent_id, at)
    if load_of(session, agent_id) >= limit:
        return Taken("at_limit", holder=_holder(session, ticket_id))
    claimed = session.execute(
        update(tickets)
        .where(
            tickets.c.id == ticket_id,
            tickets.c.assignee_id.is_(None),
            tickets.c.status.in_(ACTIVE),
        )
        .values(assignee_id=agent_id, assigned_at=at, updated_at=at)
    )
    row = session.execute(
        select(tickets.c.conversation_id, tickets.c.assignee_id, tickets.c.status).where(
            tickets.c.id == ticket_id
        )
    ).one_or_none()
    if row is None:
        return Taken("missing")
    if claimed.rowcount == 1:
        return Taken("taken", row.conversation_id, None, agent_id)
    if row.status not in ACTIVE:
        return Taken("inactive", row.conversation_id, holder=row.assignee_id)
    return Taken("held", row.conversation_id, holder=row.assignee_id)


def assign(session: Session, ticket_id: int, agent_id: str | None, at: float) -> Taken:
    """Give the ticket to `agent_id` (None: back to the queue) whoever holds it: a
    manager's decision, not limited."""
    row = session.execute(
        select(tickets.c.conversation_id, tickets.c.assignee_id).where(tickets.c.id == ticket_id)
    ).one_or_none()
    if row is None:
        return Taken("missing")
    if agent_id is not None:
        lock_agent(session, agent_id, at)
    session.execute(
        update(tickets)
        .where(tickets.c.id == ticket_id)
        .values(assignee_id=agent_id, assigned_at=at if agent_id else None, updated_at=at)
    )
    return Taken("taken", row.conversation_id, row.assignee_id, agent_id)


def give_back(session: Session, ticket_id: int, agent_id: str, at: float) -> Taken:
    """Return the ticket to its queue if `agent_id` still holds it."""
    released = session.execute(
        update(tickets)
        .where(tickets.c.id == ticket_id, tickets.c.assignee_id == agent_id)
        .values(assignee_id=None, assigned_at=None, updated_at=at)
    )
    row = session.execute(
        select(tickets.c.conversation_id, tickets.c.assignee_id).where(tickets.c.id == ticket_id)
    ).one_or_none()
    if row is None:
        return Taken("missing")
    if released.rowcount == 1:
        return Taken("taken", row.conversation_id, agent_id, None)
    return Taken("held", row.conversation_id, holder=row.assignee_id)


def _holder(session: Session, ticket_id: int) -> str | None:
    return session.execute(
        select(tickets.c.assignee_id).where(tickets.c.id == ticket_id)
    ).scalar_one_or_none()
