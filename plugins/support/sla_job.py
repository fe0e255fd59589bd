"""The `sla` job: finds the deadlines tickets missed, records each breach once and announces
it as `support.ticket.sla_breached`.

A breach is a row (`support_breaches`, unique per ticket and kind) inserted in the same
transaction that found it, so however often the job runs a breach is recorded once; it is
announced after that commit and marked announced. Should the process stop between the two,
the next run announces it then, with the same `breach_id`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from .db import insert_if_absent, now
from .events import SlaBreached
from .models import breaches, tickets
from .service import SupportService
from .sla import KINDS, missed


def _not_recorded(kind: str) -> Any:
    return ~exists().where(breaches.c.ticket_id == tickets.c.id, breaches.c.kind == kind)


def _overdue(kind: str, done: str, at: float) -> Any:
    due, finished = tickets.c[f"{kind}_due"], tickets.c[done]
    return and_(
        due <= at,
        _not_recorded(kind),
        or_(finished.is_(None), finished > due),
        or_(tickets.c.closed_at.is_(None), tickets.c.closed_at > due),
    )


def record_breaches(session: Session, at: float) -> list[dict[str, Any]]:
    """Record the breaches found at `at`; return every breach not yet announced."""
    candidates = session.execute(
        select(tickets).where(
            or_(
                _overdue("first_response", "first_response_at", at),
                _overdue("resolution", "resolved_at", at),
            )
        )
    ).mappings()
    for ticket in candidates:
        for kind in missed(ticket, at):
            values = {
                "ticket_id": ticket["id"],
                "kind": kind,
                "due_at": ticket[f"{kind}_due"],
                "breached_at": at,
            }
            insert_if_absent(session, breaches, values)
    waiting = session.execute(
        select(
            breaches,
            tickets.c.conversation_id,
            tickets.c.priority,
            tickets.c.assignee_id,
        )
        .join(tickets, tickets.c.id == breaches.c.ticket_id)
        .where(breaches.c.announced_at.is_(None), breaches.c.kind.in_(KINDS))
        .order_by(breaches.c.id)
    ).mappings()
    return [dict(row) for row in waiting]


def mark_announced(session: Session, breach_id: int, at: float) -> None:
    session.execute(update(breaches).where(breaches.c.id == breach_id).values(announced_at=at))


class SlaWatch:
    def __init__(self, service: SupportService) -> None:
        self._ctx = service.ctx

    async def run(self) -> None:
        for breach in await self._ctx.transaction(record_breaches, now()):
            await self._ctx.publish(
                SlaBreached(
                    ticket_id=breach["ticket_id"],
                    conversation_id=breach["conversation_id"],
                    breach_id=breach["id"],
                    kind=breach["kind"],
                    due_at=breach["due_at"],
                    breached_at=breach["breached_at"],
                    priority=breach["priority"],
                    assignee_id=breach["assignee_id"],
                )
            )
            await self._ctx.transaction(mark_announced, breach["id"], now())
