"""Which mail belongs to which ticket: every Message-ID in a ticket's thread, received or
sent, so a customer's reply (its In-Reply-To or References) finds its ticket, and an
agent's reply can name the thread it continues. Units of work for `ctx.transaction`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import insert_if_absent
from .models import mail_messages

MAX_REFERENCES = 20
"""Message-IDs named in a reply's References at most: the first and the latest ones (RFC
5322 lets a long thread drop those in between)."""


@dataclass(frozen=True)
class Thread:
    """A ticket's Message-IDs, oldest first; `answering` is the one a reply answers (the
    customer's latest, else the latest of all)."""

    ids: tuple[str, ...]
    answering: str | None

    def references(self) -> list[str]:
        if len(self.ids) <= MAX_REFERENCES:
            return list(self.ids)
        return [self.ids[0], *self.ids[-(MAX_REFERENCES - 1) :]]


def ticket_of_thread(session: Session, message_ids: Sequence[str]) -> int | None:
    """The ticket one of `message_ids` belongs to, trying them in order."""
    if not message_ids:
        return None
    rows = dict(
        session.execute(
            select(mail_messages.c.message_id, mail_messages.c.ticket_id).where(
                mail_messages.c.message_id.in_(list(message_ids))
            )
        ).all()
    )
    return next((rows[m] for m in message_ids if m in rows), None)


def record(
    session: Session,
    message_id: str,
    ticket_id: int,
    direction: str,
    at: float,
    chat_message_id: str | None = None,
) -> bool:
    """Note a message of the ticket's thread; False when it was noted before."""
    values = {
        "message_id": message_id,
        "ticket_id": ticket_id,
        "direction": direction,
        "chat_message_id": chat_message_id,
        "created_at": at,
    }
    return insert_if_absent(session, mail_messages, values)


def thread_of(session: Session, ticket_id: int) -> Thread:
    rows = session.execute(
        select(mail_messages.c.message_id, mail_messages.c.direction)
        .where(mail_messages.c.ticket_id == ticket_id)
        .order_by(mail_messages.c.created_at, mail_messages.c.message_id)
    ).all()
    ids = tuple(row.message_id for row in rows)
    received = [row.message_id for row in rows if row.direction == "in"]
    return Thread(ids, received[-1] if received else (ids[-1] if ids else None))
