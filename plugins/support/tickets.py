"""Tickets in the database: opening one for a conversation, reading, filtering and changing
them. Units of work for `ctx.transaction` (one transaction each); `service.py` publishes
the events once they are committed."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, and_, cast, func, or_, select, update
from sqlalchemy.orm import Session

from .db import insert_if_absent
from .models import breaches, tickets
from .sla import deadlines
from .states import Status, StatusMoveRefused, check_move

Row = dict[str, Any]
CUSTOMER_FIELDS = ("visitor_id", "customer_email", "customer_name", "locale", "subject", "team_id")
"""What a second opening of the same conversation may fill in when the first left it empty
(a mail opens the conversation, and the chat plugin's event about it arrives first)."""


@dataclass(frozen=True)
class SlaTargets:
    first_response_minutes: Mapping[str, float]
    resolution_minutes: Mapping[str, float]


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    priority: str | None = None
    assignee_id: str | None = None
    unassigned: bool = False
    team_id: int | None = None
    label: str | None = None
    channel: str | None = None
    text: str | None = None
    limit: int = 50
    offset: int = 0


def open_ticket(
    session: Session,
    conversation_id: str,
    channel: str,
    priority: str,
    targets: SlaTargets,
    at: float,
    **customer: Any,
) -> tuple[Row, bool]:
    """The conversation's ticket, opened now unless it exists; True when opened now."""
    due = deadlines(at, priority, targets.first_response_minutes, targets.resolution_minutes)
    values = {
        "conversation_id": conversation_id,
        "channel": channel,
        "status": "open",
        "priority": priority,
        "labels": [],
        "created_at": at,
        "updated_at": at,
        "first_response_due": due.first_response,
        "resolution_due": due.resolution,
        "handled_seq": 0,  # its conversation's messages are all still to be handled
        **{k: v for k, v in customer.items() if k in CUSTOMER_FIELDS},
    }
    created = insert_if_absent(session, tickets, values)
    row = by_conversation(session, conversation_id)
    assert row is not None
    missing = {k: v for k, v in customer.items() if v is not None and row.get(k) is None}
    if not created and missing:
        session.execute(update(tickets).where(tickets.c.id == row["id"]).values(**missing))
        row.update(missing)
    return row, created


def get(session: Session, ticket_id: int) -> Row | None:
    found = session.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().first()
    return dict(found) if found else None


def by_conversation(session: Session, conversation_id: str) -> Row | None:
    query = select(tickets).where(tickets.c.conversation_id == conversation_id)
    found = session.execute(query).mappings().first()
    return dict(found) if found else None


def by_csat_token(session: Session, token: str) -> Row | None:
    found = session.execute(select(tickets).where(tickets.c.csat_token == token)).mappings()
    row = found.first()
    return dict(row) if row else None


def filtered(query: Select[Any], filters: Filters) -> Select[Any]:
    conditions = []
    if filters.status:
        conditions.append(tickets.c.status == filters.status)
    if filters.priority:
        conditions.append(tickets.c.priority == filters.priority)
    if filters.unassigned:
        conditions.append(tickets.c.assignee_id.is_(None))
    elif filters.assignee_id:
        conditions.append(tickets.c.assignee_id == filters.assignee_id)
    if filters.team_id is not None:
        conditions.append(tickets.c.team_id == filters.team_id)
    if filters.channel:
        conditions.append(tickets.c.channel == filters.channel)
    if filters.label:  # labels is a JSON list: match the quoted label in its text
        conditions.append(cast(tickets.c.labels, String).contains(f'"{filters.label}"'))
    if filters.text:
        pattern = f"%{filters.text.lower()}%"
        conditions.append(
            or_(
                tickets.c.subject.ilike(pattern),
                tickets.c.customer_email.ilike(pattern),
                tickets.c.customer_name.ilike(pattern),
            )
        )
    return query.where(and_(*conditions)) if conditions else query


def find(session: Session, filters: Filters) -> list[Row]:
    query = filtered(select(tickets), filters)
    query = query.order_by(tickets.c.updated_at.desc(), tickets.c.id.desc())
    rows = session.execute(query.limit(filters.limit).offset(filters.offset)).mappings()
    return [dict(row) for row in rows]


def move(session: Session, ticket_id: int, wanted: Status, by: str | None, at: float) -> Row:
    """Change the ticket's status; raises `StatusMoveRefused` for a move the workflow does
    not allow, `LookupError` when there is no such ticket. Conditional on the status read,
    so of two agents resolving at once only one moves it (the other is refused)."""
    row = get(session, ticket_id)
    if row is None:
        raise LookupError(ticket_id)
    current: Status = row["status"]
    check_move(current, wanted)
    values: dict[str, Any] = {"status": wanted, "updated_at": at, "status_at": at}
    if wanted == "resolved":
        values |= {"resolved_at": at, "resolved_by": by}
        values["csat_token"] = row["csat_token"] or secrets.token_urlsafe(24)
    elif wanted == "open" and current == "resolved":
        values |= {"resolved_at": None, "resolved_by": None}
    elif wanted == "closed":
        values["closed_at"] = at
    changed = session.execute(
        update(tickets)
        .where(tickets.c.id == ticket_id, tickets.c.status == current)
        .values(**values)
    )
    if changed.rowcount != 1:  # someone else moved it between our read and our write
        raise StatusMoveRefused(current, wanted)
    return {**row, **values, "previous": current}


def reprioritise(session: Session, ticket_id: int, priority: str, targets: SlaTargets) -> Row:
    """A new priority, and deadlines counted again from when the ticket opened."""
    row = get(session, ticket_id)
    if row is None:
        raise LookupError(ticket_id)
    due = deadlines(
        row["created_at"], priority, targets.first_response_minutes, targets.resolution_minutes
    )
    values = {
        "priority": priority,
        "first_response_due": due.first_response,
        "resolution_due": due.resolution,
    }
    session.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))
    return {**row, **values}


def change(session: Session, ticket_id: int, at: float, **values: Any) -> Row:
    """Set labels, team or subject."""
    row = get(session, ticket_id)
    if row is None:
        raise LookupError(ticket_id)
    values["updated_at"] = at
    session.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))
    return {**row, **values}


def first_response(session: Session, conversation_id: str, agent_id: str, at: float) -> bool:
    """Record the agent's reply as the ticket's first response, unless one was recorded."""
    answered = session.execute(
        update(tickets)
        .where(tickets.c.conversation_id == conversation_id, tickets.c.first_response_at.is_(None))
        .values(first_response_at=at, first_responder_id=agent_id, updated_at=at)
    )
    return answered.rowcount == 1


def touch(session: Session, conversation_id: str, at: float) -> None:
    session.execute(
        update(tickets).where(tickets.c.conversation_id == conversation_id).values(updated_at=at)
    )


def queue_figures(session: Session) -> dict[str, int]:
    """For `/health`: tickets open or pending, those nobody holds, breaches not announced."""
    active = tickets.c.status.in_(("open", "pending"))
    count = select(func.count()).select_from(tickets)
    return {
        "active_tickets": session.execute(count.where(active)).scalar_one(),
        "unassigned_tickets": session.execute(
            count.where(active, tickets.c.assignee_id.is_(None))
        ).scalar_one(),
        "breaches_unannounced": session.execute(
            select(func.count()).select_from(breaches).where(breaches.c.announced_at.is_(None))
        ).scalar_one(),
    }
