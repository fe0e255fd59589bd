"""GDPR: a person's tickets and ratings, found by their e-mail address, their user id or
their visitor id (`Subject.extra["visitor_id"]`), exported or erased.

Erasure anonymises rather than deletes: the ticket keeps its status and timings (the
agents' and teams' figures stay true) but loses who it was about and its subject, the
rating loses its comment, and the thread's Message-IDs are deleted. The conversation's
messages are the chat plugin's, erased by its own hook. Safe to run again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Subject

from .models import mail_messages, ratings, tickets


def _about(subject: Subject) -> Any:
    visitors = {v for v in (subject.user_id, subject.extra.get("visitor_id")) if v}
    conditions = [tickets.c.visitor_id.in_(sorted(visitors))] if visitors else []
    if subject.email:
        conditions.append(func.lower(tickets.c.customer_email) == subject.email.lower())
    return or_(*conditions) if conditions else None


def export(session: Session, subject: Subject) -> dict[str, Any]:
    about = _about(subject)
    if about is None:
        return {"tickets": []}
    found = [dict(row) for row in session.execute(select(tickets).where(about)).mappings()]
    ids = [row["id"] for row in found]
    rated = {
        row["ticket_id"]: {"score": row["score"], "comment": row["comment"], "at": row["rated_at"]}
        for row in session.execute(select(ratings).where(ratings.c.ticket_id.in_(ids))).mappings()
    }
    fields = (
        "id", "conversation_id", "channel", "subject", "status", "priority", "labels",
        "customer_email", "customer_name", "visitor_id", "locale", "created_at", "resolved_at",
        "closed_at",
    )  # fmt: skip
    return {
        "tickets": [{**{f: row[f] for f in fields}, "csat": rated.get(row["id"])} for row in found]
    }


def erase(session: Session, subject: Subject) -> int:
    """Anonymise the subject's tickets; how many there were."""
    about = _about(subject)
    if about is None:
        return 0
    ids = list(session.execute(select(tickets.c.id).where(about)).scalars())
    if not ids:
        return 0
    session.execute(
        update(tickets)
        .where(tickets.c.id.in_(ids))
        .values(
            customer_email=None,
            customer_name=None,
            visitor_id=None,
            subject=None,
            labels=[],
            csat_token=None,
        )
    )
    session.execute(update(ratings).where(ratings.c.ticket_id.in_(ids)).values(comment=None))
    session.execute(delete(mail_messages).where(mail_messages.c.ticket_id.in_(ids)))
    return len(ids)
