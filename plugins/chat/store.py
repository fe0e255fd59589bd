"""The chat tables read and written as plain synchronous SQLAlchemy, each function one unit of
work for `ctx.transaction` (one thread hop per transaction on SQLite)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.orm import Session

from mindframe.sdk.chat import Attachment, Author, ChatMessage, Conversation

from .models import attachments, conversations, messages, reads, visitors


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; every stored one is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# --- visitors --------------------------------------------------------------------------------


def create_visitor(
    session: Session,
    digest: str,
    *,
    name: str | None = None,
    email: str | None = None,
    locale: str | None = None,
    user_id: str | None = None,
) -> str:
    visitor_id = new_id()
    session.execute(
        visitors.insert().values(
            id=visitor_id,
            token_digest=digest,
            name=name,
            email=email,
            locale=locale,
            user_id=user_id,
            created_at=now(),
        )
    )
    return visitor_id


def visitor_by_digest(session: Session, digest: str) -> dict[str, Any] | None:
    row = session.execute(select(visitors).where(visitors.c.token_digest == digest)).first()
    return dict(row._mapping) if row else None


def visitor_by_email(session: Session, email: str) -> dict[str, Any] | None:
    row = session.execute(
        select(visitors).where(visitors.c.email == email).order_by(visitors.c.created_at)
    ).first()
    return dict(row._mapping) if row else None


# --- conversations ---------------------------------------------------------------------------


def as_conversation(row: Any) -> Conversation:
    m = row._mapping if hasattr(row, "_mapping") else row
    return Conversation(
        id=m["id"],
        channel=m["channel"],
        status=m["status"],
        visitor_id=m["visitor_id"],
        assignee_id=m["assignee_id"],
        subject=m["subject"],
        locale=m["locale"],
        created_at=aware(m["created_at"]),  # type: ignore[arg-type]
        last_seq=m["last_seq"],
        last_message_at=aware(m["last_message_at"]),
        closed_at=aware(m["closed_at"]),
        external_ref=m["external_ref"],
    )


def open_conversation(
    session: Session,
    visitor_id: str,
    channel: str,
    *,
    subject: str | None = None,
    locale: str | None = None,
    external_ref: str | None = None,
) -> tuple[Conversation, bool]:
    """The conversation opened, and whether it is new (an open one with the same
    `external_ref` on the channel is returned instead)."""
    if external_ref is not None:
        row = session.execute(
            select(conversations).where(
                conversations.c.channel == channel,
                conversations.c.external_ref == external_ref,
                conversations.c.status == "open",
            )
        ).first()
        if row is not None:
            return as_conversation(row), False
    values = {
        "id": new_id(),
        "channel": channel,
        "status": "open",
        "visitor_id": visitor_id,
        "assignee_id": None,
        "subject": subject,
        "locale": locale,
        "external_ref": external_ref,
        "last_seq": 0,
        "created_at": now(),
        "last_message_at": None,
        "closed_at": None,
    }
    session.execute(conversations.insert().values(**values))
    return as_conversation(values), True


def conversation(session: Session, conversation_id: str) -> Conversation | None:
    row = session.execute(
        select(conversations).where(conversations.c.id == conversation_id)
    ).first()
    return as_conversation(row) if row else None


def last_seqs(session: Session, conversation_ids: list[str]) -> dict[str, int]:
    if not conversation_ids:
        return {}
    rows = session.execute(
        select(conversations.c.id, conversations.c.last_seq).where(
            conversations.c.id.in_(conversation_ids)
        )
    )
    return {conversation_id: last_seq for conversation_id, last_seq in rows}


def list_conversations(
    session: Session,
    *,
    status: str | None = None,
    assignee_id: str | None = None,
    channel: str | None = None,
    visitor_id: str | None = None,
    limit: int = 50,
) -> list[Conversation]:
    query = select(conversations)
    for column, value in (
        (conversations.c.status, status),
        (conversations.c.assignee_id, assignee_id),
        (conversations.c.channel, channel),
        (conversations.c.visitor_id, visitor_id),
    ):
        if value is not None:
            query = query.where(column == value)
    active = conversations.c.last_message_at
    query = query.order_by(active.desc().nulls_last(), conversations.c.created_at.desc())
    return [as_conversation(r) for r in session.execute(query.limit(limit))]


def set_assignee(
    session: Session, conversation_id: str, agent_id: str | None
) -> tuple[Conversation, str | None] | None:
    """The conversation after the change, and the assignee before it."""
    before = conversation(session, conversation_id)
    if before is None:
        return None
    session.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(assignee_id=agent_id)
    )
    after = conversation(session, conversation_id)
    assert after is not None
    return after, before.assignee_id


def close_conversation(session: Session, conversation_id: str) -> tuple[Conversation, bool] | None:
    """The conversation, and whether this call closed it (False: it was closed already)."""
    changed = session.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id, conversations.c.status == "open")
        .values(status="closed", closed_at=now())
    ).rowcount
    found = conversation(session, conversation_id)
    return (found, bool(changed)) if found else None


# --- messages --------------------------------------------------------------------------------


@dataclass(slots=True)
class Draft:
    """A message to store: the group commit takes many at once."""

    conversation_id: str
    author: Author
    text: str
    client_id: str | None = None
    attachment_ids: Sequence[str] = ()


@dataclass(slots=True)
class Stored:
    """What became of a draft: the message (new, or the one its client id already named),
    or why it was refused ("missing", "closed")."""

    message: ChatMessage | None = None
    created: bool = False
    channel: str = "web"
    refused: str | None = None


def attachment_of(row: Any) -> Attachment:
    m = row._mapping
    return Attachment(
        id=m["id"],
        filename=m["filename"],
        content_type=m["content_type"],
        size=m["size"],
        url=f"/api/chat/attachments/{m['id']}?key={m['key']}",
    )


ATTACHMENT_COLUMNS = [
    attachments.c.id,
    attachments.c.key,
    attachments.c.message_id,
    attachments.c.filename,
    attachments.c.content_type,
    attachments.c.size,
]


def _message(m: Any, files: Sequence[Attachment] = ()) -> ChatMessage:
    return ChatMessage(
        id=m["id"],
        conversation_id=m["conversation_id"],
        seq=m["seq"],
        author=Author(m["author_kind"], m["author_id"], m["author_name"]),
        text=m["text"],
        created_at=aware(m["created_at"]),  # type: ignore[arg-type]
        client_id=m["client_id"],
        attachments=tuple(files),
    )


NUMBER = (
    update(conversations)
    .where(conversations.c.id == bindparam("the_id"), conversations.c.status == "open")
    .values(
        last_seq=conversations.c.last_seq + bindparam("the_count"),
        last_message_at=bindparam("the_stamp"),
    )
)
NUMBERED = select(conversations.c.id, conversations.c.last_seq, conversations.c.channel).where(
    conversations.c.id.in_(bindparam("ids", expanding=True)),
    conversations.c.last_message_at == bindparam("stamp"),
)
"""Numbering a batch: each open conversation's `last_seq` moved on by its count, then read
back (the batch's own stamp tells which it moved). Fixed statements, so SQLAlchemy compiles
them once: compiling a statement shaped by the batch cost more than running it."""


def store_messages(session: Session, drafts: Sequence[Draft]) -> list[Stored]:
    """Store `drafts` in one transaction: each gets the next sequence number of its
    conversation; a draft whose client id its author already used gets the stored message."""
    outcomes: list[Stored | None] = [None] * len(drafts)
    same_as: dict[int, int] = {}
    keyed = [(i, d) for i, d in enumerate(drafts) if d.client_id]
    if keyed:
        found = session.execute(
            select(messages).where(
                messages.c.conversation_id.in_({d.conversation_id for _, d in keyed}),
                messages.c.client_id.in_({d.client_id for _, d in keyed}),
            )
        ).mappings()
        existing = {
            (m["conversation_id"], m["author_kind"], m["author_id"], m["client_id"]): m
            for m in found
        }
        first: dict[tuple[str, str, str | None, str | None], int] = {}
        for i, d in keyed:
            key = (d.conversation_id, d.author.kind, d.author.id, d.client_id)
            if key in existing:
                stored = _message(existing[key], _files_of(session, [existing[key]["id"]]))
                outcomes[i] = Stored(stored, created=False)
            elif key in first:
                same_as[i] = first[key]
            else:
                first[key] = i
    fresh = [i for i in range(len(drafts)) if outcomes[i] is None and i not in same_as]
    stamp = now()
    next_seq: dict[str, int] = {}
    channel: dict[str, str] = {}
    counts = Counter(drafts[i].conversation_id for i in fresh)
    if counts:
        session.execute(
            NUMBER,
            [{"the_id": c, "the_count": n, "the_stamp": stamp} for c, n in counts.items()],
        )
        numbered = session.execute(NUMBERED, {"ids": list(counts), "stamp": stamp})
        for conversation_id, last_seq, kind in numbered:
            next_seq[conversation_id] = last_seq - counts[conversation_id] + 1
            channel[conversation_id] = kind
    rows = []
    for i in fresh:
        draft = drafts[i]
        if draft.conversation_id not in next_seq:
            known = conversation(session, draft.conversation_id)
            outcomes[i] = Stored(refused="missing" if known is None else "closed")
            continue
        seq = next_seq[draft.conversation_id]
        next_seq[draft.conversation_id] = seq + 1
        row = {
            "id": new_id(),
            "conversation_id": draft.conversation_id,
            "seq": seq,
            "author_kind": draft.author.kind,
            "author_id": draft.author.id,
            "author_name": draft.author.name,
            "text": draft.text,
            "client_id": draft.client_id,
            "created_at": stamp,
        }
        rows.append(row)
        files: list[Attachment] = []
        if draft.attachment_ids:
            session.execute(
                update(attachments)
                .where(
                    attachments.c.id.in_(list(draft.attachment_ids)),
                    attachments.c.conversation_id == draft.conversation_id,
                    attachments.c.message_id.is_(None),
                )
                .values(message_id=row["id"])
            )
            files = _files_of(session, [row["id"]])
        outcomes[i] = Stored(_message(row, files), True, channel[draft.conversation_id])
    if rows:
        session.execute(messages.insert(), rows)
    for i, j in same_as.items():
        original = outcomes[j]
        assert original is not None
        outcomes[i] = Stored(original.message, False, original.channel, original.refused)
    return [o for o in outcomes if o is not None]


def _files_of(session: Session, message_ids: Iterable[str]) -> list[Attachment]:
    rows = session.execute(
        select(*ATTACHMENT_COLUMNS)
        .where(attachments.c.message_id.in_(list(message_ids)))
        .order_by(attachments.c.created_at)
    )
    return [attachment_of(r) for r in rows]


def messages_after(
    session: Session, conversation_id: str, after: int, limit: int
) -> list[ChatMessage]:
    rows = (
        session.execute(
            select(messages)
            .where(messages.c.conversation_id == conversation_id, messages.c.seq > after)
            .order_by(messages.c.seq)
            .limit(limit)
        )
        .mappings()
        .all()
    )
    if not rows:
        return []
    files: dict[str, list[Attachment]] = {}
    for r in session.execute(
        select(*ATTACHMENT_COLUMNS).where(
            attachments.c.conversation_id == conversation_id,
            attachments.c.message_id.in_([m["id"] for m in rows]),
        )
    ):
        files.setdefault(r.message_id, []).append(attachment_of(r))
    return [_message(m, files.get(m["id"], ())) for m in rows]


# --- attachments -----------------------------------------------------------------------------


def store_attachment(
    session: Session, conversation_id: str, filename: str, content_type: str, data: bytes, key: str
) -> str:
    attachment_id = new_id()
    session.execute(
        attachments.insert().values(
            id=attachment_id,
            key=key,
            conversation_id=conversation_id,
            message_id=None,
            filename=filename,
            content_type=content_type,
            size=len(data),
            data=data,
            created_at=now(),
        )
    )
    return attachment_id


def attachment_file(session: Session, attachment_id: str) -> dict[str, Any] | None:
    row = session.execute(select(attachments).where(attachments.c.id == attachment_id)).first()
    return dict(row._mapping) if row else None


# --- read receipts ---------------------------------------------------------------------------


def mark_read(session: Session, conversation_id: str, kind: str, reader_id: str, seq: int) -> int:
    """Move the reader's receipt up to `seq` (never down; never past the last message);
    returns the receipt's seq now."""
    last = session.execute(
        select(conversations.c.last_seq).where(conversations.c.id == conversation_id)
    ).scalar_one()
    seq = min(seq, last)
    key = and_(
        reads.c.conversation_id == conversation_id,
        reads.c.reader_kind == kind,
        reads.c.reader_id == reader_id,
    )
    current = session.execute(select(reads.c.seq).where(key)).scalar_one_or_none()
    if current is None:
        session.execute(
            reads.insert().values(
                conversation_id=conversation_id,
                reader_kind=kind,
                reader_id=reader_id,
                seq=seq,
                read_at=now(),
            )
        )
        return seq
    if seq > current:
        session.execute(update(reads).where(key).values(seq=seq, read_at=now()))
        return seq
    return int(current)


def receipts(session: Session, conversation_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(reads.c.reader_kind, reads.c.reader_id, reads.c.seq).where(
            reads.c.conversation_id == conversation_id
        )
    )
    return [{"kind": r.reader_kind, "id": r.reader_id, "seq": r.seq} for r in rows]
