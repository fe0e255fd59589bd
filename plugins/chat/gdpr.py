"""What the chat stores about a person, for export and erasure (GDPR).

A person is a visitor (matched by their visitor id, by the user id a signed-in visitor had,
or by e-mail address for an external channel's contact) or an agent (their user id on the
messages they wrote, their read receipts and their presence). Erasing a visitor deletes their
conversations with every message, attachment and receipt; erasing an agent removes their
name and id from what they wrote (the customer's conversation stays whole) and their
presence. Both are safe to run again.
"""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Subject

from .models import attachments, conversations, messages, presence, reads, visitors


def visitors_of(session: Session, subject: Subject) -> list[str]:
    matches = [visitors.c.user_id == subject.user_id]
    if subject.email:
        matches.append(visitors.c.email == subject.email)
    return list(session.execute(select(visitors.c.id).where(or_(*matches))).scalars())


def export_visitors(session: Session, visitor_ids: list[str]) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for row in session.execute(select(visitors).where(visitors.c.id.in_(visitor_ids))).mappings():
        entry = {k: v for k, v in row.items() if k != "token_digest"}
        entry["conversations"] = []
        for conv in session.execute(
            select(conversations).where(conversations.c.visitor_id == row["id"])
        ).mappings():
            found = session.execute(
                select(messages)
                .where(messages.c.conversation_id == conv["id"])
                .order_by(messages.c.seq)
            ).mappings()
            files = session.execute(
                select(attachments.c.id, attachments.c.filename, attachments.c.size).where(
                    attachments.c.conversation_id == conv["id"]
                )
            ).mappings()
            entry["conversations"].append(
                {
                    **conv,
                    "messages": [dict(m) for m in found],
                    "attachments": [dict(f) for f in files],
                }
            )
        out.append(entry)
    return {"visitors": out}


def erase_visitors(session: Session, visitor_ids: list[str]) -> int:
    ids = list(
        session.execute(
            select(conversations.c.id).where(conversations.c.visitor_id.in_(visitor_ids))
        ).scalars()
    )
    if ids:
        session.execute(delete(attachments).where(attachments.c.conversation_id.in_(ids)))
        session.execute(delete(reads).where(reads.c.conversation_id.in_(ids)))
        session.execute(delete(messages).where(messages.c.conversation_id.in_(ids)))
        session.execute(delete(conversations).where(conversations.c.id.in_(ids)))
    session.execute(delete(visitors).where(visitors.c.id.in_(visitor_ids)))
    return len(ids)


def export_subject(session: Session, subject: Subject) -> dict[str, Any]:
    data = export_visitors(session, visitors_of(session, subject))
    written = session.execute(
        select(messages.c.conversation_id, messages.c.seq, messages.c.text, messages.c.created_at)
        .where(messages.c.author_kind == "agent", messages.c.author_id == subject.user_id)
        .order_by(messages.c.created_at)
    ).mappings()
    data["written_as_agent"] = [dict(m) for m in written]
    found = session.execute(select(presence).where(presence.c.agent_id == subject.user_id))
    data["presence"] = [dict(r) for r in found.mappings()]
    return data


def erase_subject(session: Session, subject: Subject) -> None:
    erase_visitors(session, visitors_of(session, subject))
    session.execute(
        update(messages)
        .where(messages.c.author_kind == "agent", messages.c.author_id == subject.user_id)
        .values(author_id=None, author_name=None)
    )
    session.execute(
        delete(reads).where(reads.c.reader_kind == "agent", reads.c.reader_id == subject.user_id)
    )
    session.execute(
        update(conversations)
        .where(conversations.c.assignee_id == subject.user_id)
        .values(assignee_id=None)
    )
    session.execute(delete(presence).where(presence.c.agent_id == subject.user_id))


def attachment_with_key(session: Session, attachment_id: str, key: str) -> dict[str, Any] | None:
    """The attachment, when `key` is its download key."""
    row = session.execute(select(attachments).where(attachments.c.id == attachment_id)).first()
    if row is None or not hmac.compare_digest(row.key, key):
        return None
    return dict(row._mapping)
