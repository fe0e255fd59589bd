"""The durable outbox: every accepted message is a row here before anyone is told "202".

A message's attachments are stored with it, in the same transaction: their bytes in
`mail_attachments`, their names, types and sizes on the row (`attachments`). The bytes are
read only when the message is built for sending, one message at a time, so a claimed batch
never holds every file of its messages in memory at once.

States: `queued` → `sending` (claimed, with a lease) → `sent` | `failed`; a temporary
failure puts the row back to `queued` with a later `send_at`. A row still `sending` when
its lease runs out was being sent by a process that died: it is claimed again and resent
with the same Message-ID (see the README for the at-least-once window), unless that was
its last allowed attempt: then it is `failed`, so no message is tried more than
`max_attempts` times, not even one that crashes the process sending it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext
from mindframe.sdk.mail import Attachment, AttachmentInfo

from .composing import Content, bare_address, message_id
from .models import attachments, outbox

PRIORITIES = {"low": 0, "normal": 5, "high": 9}
PRIORITY_NAMES = {value: name for name, value in PRIORITIES.items()}
QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
KEYED_IDS = uuid.UUID("5d0f3a52-1c4e-4a51-9d37-0b6f1e2c8a90")
"""The namespace of ids derived from idempotency keys (uuid5): one key, one row id."""


@dataclass(frozen=True)
class Claimed:
    """A row claimed for one SMTP transaction."""

    id: str
    message_id: str
    sender: str
    recipients: list[str]
    content: Content
    attempts: int
    created_at: datetime
    attached: tuple[AttachmentInfo, ...] = ()
    """Its attachments; `content` holds their bytes only once `Outbox.with_files` read them."""


@dataclass(frozen=True)
class Claim:
    """What one `claim` took; when it took fewer than asked, nothing else was due then and
    `next_due` says when something will be (None: nothing is waiting at all). `given_up`:
    the rows it failed instead of claiming them once more than `max_attempts` allows."""

    messages: list[Claimed]
    full: bool
    next_due: float | None
    given_up: list[Claimed]


@dataclass(frozen=True)
class Settled:
    """The outcome of a claimed row's transaction, to record: `sent`, `failed`, or
    `queued` again at `send_at` (a temporary failure)."""

    id: str
    state: str
    reply: str
    send_at: float | None = None


GAVE_UP = (
    "no outcome was recorded for the last allowed attempt (the process sending it stopped"
    " or crashed mid-send); not tried again: max_attempts reached"
)


def now() -> float:
    return time.time()


_AT = bindparam("at", type_=Float)
_DUE = or_(
    and_(outbox.c.state == QUEUED, outbox.c.send_at <= _AT),
    and_(outbox.c.state == SENDING, outbox.c.lease_until < _AT),
)
"""Rows to send at `at`: queued ones whose time has come, and leases that ran out."""


def _claim_statement() -> Any:
    """Mark up to `limit` due rows `sending` for `claim` until `lease_until`, highest
    priority first, and return them; a due row with no attempt left (`attempts` at
    `max_attempts`: its lease ran out on the last one) is marked `failed` instead. Built
    once: building it anew for every claim cost more than running it."""
    due = (
        select(outbox.c.id)
        .where(_DUE)
        .order_by(outbox.c.priority.desc(), outbox.c.send_at, outbox.c.created_at)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )  # evaluated once: as a plain `IN (subquery)` PostgreSQL may re-run it per row
    spent = outbox.c.attempts >= bindparam("max_attempts", type_=Integer)
    return (
        update(outbox)
        .where(outbox.c.id.in_(select(due.c.id)), _DUE)
        .values(
            state=case((spent, FAILED), else_=SENDING),
            claim=bindparam("claim", type_=String),
            lease_until=case((spent, None), else_=bindparam("lease_until", type_=Float)),
            attempts=case((spent, outbox.c.attempts), else_=outbox.c.attempts + 1),
            reply=case((spent, GAVE_UP), else_=outbox.c.reply),
        )
        .returning(*outbox.c)
    )


_CLAIM = _claim_statement()


_NEXT_DUE = select(
    select(func.min(outbox.c.send_at)).where(outbox.c.state == QUEUED).scalar_subquery(),
    select(func.min(outbox.c.lease_until)).where(outbox.c.state == SENDING).scalar_subquery(),
)
"""When the earliest queued row, or the earliest lease, becomes due."""


def _settle_statement(state: str, **values: Any) -> Any:
    """One UPDATE run for many rows at once (executemany), keyed by `row_id`."""
    return (
        update(outbox)
        .where(outbox.c.id == bindparam("row_id"))
        .values(state=state, lease_until=None, reply=bindparam("new_reply"), **values)
    )


_SETTLE = {
    SENT: _settle_statement(SENT, sent_at=bindparam("new_sent_at")),
    FAILED: _settle_statement(FAILED),
    QUEUED: _settle_statement(QUEUED, send_at=bindparam("new_send_at")),
}


class Outbox:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx

    def row(
        self,
        *,
        sender: str,
        recipients: list[str],
        content: Content,
        priority: str = "normal",
        send_at: float | None = None,
        template: str | None = None,
        locale: str | None = None,
        user_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """A new `queued` row, with its id and Message-ID, for `add` (the bytes of
        `content.attachments` go to `add` as `files(row, content)`). With an
        `idempotency_key` the id is derived from the key, so a second row for the same key
        has the first one's id and `add` stores it once."""
        row_id = str(uuid.uuid5(KEYED_IDS, idempotency_key) if idempotency_key else uuid.uuid4())
        return {
            "id": row_id,
            "message_id": message_id(row_id, sender),
            "state": QUEUED,
            "priority": PRIORITIES[priority],
            "send_at": send_at if send_at is not None else now(),
            "sender": sender,
            "recipients": recipients,
            "subject": content.subject,
            "text": content.text,
            "html": content.html,
            "in_reply_to": content.in_reply_to,
            "reference_ids": " ".join(content.references) or None,
            "template": template,
            "locale": locale,
            "user_id": user_id,
            "attempts": 0,
            "created_at": datetime.now(UTC),
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in content.attachments
            ]
            or None,
        }

    @staticmethod
    def files(row: dict[str, Any], content: Content) -> list[dict[str, Any]]:
        """The `mail_attachments` rows holding the bytes of `content.attachments`."""
        return [
            {"outbox_id": row["id"], "position": position, "content": attachment.content}
            for position, attachment in enumerate(content.attachments)
        ]

    async def add(
        self,
        rows: list[dict[str, Any]],
        files: Sequence[dict[str, Any]] = (),
        keyed: Sequence[str] = (),
    ) -> dict[str, str]:
        """Store `rows` (made by `row`) and their attachments' `files` in one transaction,
        committed before returning; of the `keyed` ids (rows made with an idempotency key)
        those stored already are skipped, and returned with their state."""
        if not rows:
            return {}
        try:
            return await self._ctx.transaction(_insert_rows, rows, list(files), list(keyed))
        except IntegrityError:  # the same key was queued concurrently: now its row is seen
            return await self._ctx.transaction(_insert_rows, rows, list(files), list(keyed))

    async def with_files(self, message: Claimed) -> Claimed:
        """`message` with the bytes of its attachments read into its content. Raises
        `LookupError` when some are gone (erased while it waited)."""
        if not message.attached:
            return message
        contents = await self._ctx.transaction(_read_files, message.id, read_only=True)
        if len(contents) != len(message.attached):
            raise LookupError(
                f"{len(message.attached)} attachments were queued with this message, "
                f"{len(contents)} are stored"
            )
        files = tuple(
            Attachment(info.filename, info.content_type, data)
            for info, data in zip(message.attached, contents, strict=True)
        )
        return replace(message, content=replace(message.content, attachments=files))

    async def file_contents(self, row_id: str) -> list[bytes]:
        """The bytes of a row's attachments, in order (for a personal data export)."""
        return await self._ctx.transaction(_read_files, row_id, read_only=True)

    async def claim(self, limit: int, lease: float, max_attempts: int) -> Claim:
        """Take up to `limit` due rows, highest priority first, and mark them `sending`;
        when fewer were due, also learn when the next one will be (same transaction).
        A due row with no attempt left (its lease ran out on the last one) is failed
        instead, in the same statement."""
        at = now()
        claiming = {
            "at": at,
            "limit": limit,
            "claim": uuid.uuid4().hex,
            "lease_until": at + lease,
            "max_attempts": max_attempts,
        }
        rows, next_due = await self._ctx.transaction(_claim_rows, claiming)
        rows = sorted(rows, key=lambda r: (-r["priority"], r["send_at"], r["created_at"]))
        return Claim(
            messages=[_claimed(row) for row in rows if row["state"] == SENDING],
            full=len(rows) == limit,
            next_due=next_due,
            given_up=[_claimed(row) for row in rows if row["state"] == FAILED],
        )

    async def settle(self, outcomes: list[Settled]) -> None:
        """Record the outcomes of several transactions in one commit."""
        by_state: dict[str, list[dict[str, Any]]] = {}
        for settled in outcomes:
            values: dict[str, Any] = {"row_id": settled.id, "new_reply": settled.reply}
            if settled.state == SENT:
                values["new_sent_at"] = datetime.now(UTC)
            elif settled.state == QUEUED:
                values["new_send_at"] = settled.send_at
            by_state.setdefault(settled.state, []).append(values)
        await self._ctx.transaction(_settle_rows, by_state)

    async def release(self, row_ids: list[str]) -> None:
        """Give back rows claimed but never tried (the sender was stopped)."""
        if not row_ids:
            return
        await self._ctx.transaction(
            _execute,
            update(outbox)
            .where(outbox.c.id.in_(row_ids), outbox.c.state == SENDING)
            .values(state=QUEUED, lease_until=None, attempts=outbox.c.attempts - 1),
        )

    # --- reading -------------------------------------------------------------------------

    async def get(self, row_id: str) -> dict[str, Any] | None:
        async with self._ctx.session() as session:
            row = (await session.execute(select(outbox).where(outbox.c.id == row_id))).mappings()
            found = row.first()
            return dict(found) if found else None

    async def find(
        self,
        *,
        state: str | None = None,
        recipient: str | None = None,
        template: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        query = select(outbox).order_by(outbox.c.created_at.desc())
        if state:
            query = query.where(outbox.c.state == state)
        if template:
            query = query.where(outbox.c.template == template)
        if recipient:  # narrowed in SQL, matched exactly below
            query = query.where(_mentions(recipient))
        async with self._ctx.session() as session:
            rows = [dict(r) for r in (await session.execute(query)).mappings()]
        if recipient:
            rows = [r for r in rows if _addressed_to(r["recipients"], recipient)]
        return rows[offset : offset + limit]

    async def depth(self) -> tuple[int, float | None]:
        """Messages not yet settled, and the age in seconds of the oldest queued one."""
        async with self._ctx.session() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(outbox.c.send_at)).where(
                        outbox.c.state.in_([QUEUED, SENDING])
                    )
                )
            ).one()
        return int(count), (max(0.0, now() - oldest) if oldest is not None else None)

    # --- personal data -------------------------------------------------------------------

    async def about(self, user_id: str, email: str | None) -> list[dict[str, Any]]:
        query = select(outbox).where(
            or_(outbox.c.user_id == user_id, _mentions(email))
            if email
            else outbox.c.user_id == user_id
        )
        async with self._ctx.session() as session:
            rows = [dict(r) for r in (await session.execute(query)).mappings()]
        return [
            r
            for r in rows
            if r["user_id"] == user_id or (email and _addressed_to(r["recipients"], email))
        ]

    async def erase(self, row_ids: list[str]) -> None:
        """Delete the rows; their attachments go with them (`ON DELETE CASCADE`)."""
        async with self._ctx.session() as session:
            await session.execute(delete(outbox).where(outbox.c.id.in_(row_ids)))
            await session.commit()


# --- units of work for `ctx.transaction` (one thread hop each on SQLite; each is one
# transaction, committed before the awaiting caller goes on) ---------------------------------


def _insert_rows(
    session: Session, rows: list[dict[str, Any]], files: list[dict[str, Any]], keyed: list[str]
) -> dict[str, str]:
    earlier: dict[str, str] = {}
    if keyed:
        found = session.execute(select(outbox.c.id, outbox.c.state).where(outbox.c.id.in_(keyed)))
        earlier = {row_id: state for row_id, state in found}
        first = {row["id"]: row for row in reversed(rows) if row["id"] not in earlier}
        rows = [row for row in rows if first.get(row["id"]) is row]  # a key twice: once
        files = [file for file in files if file["outbox_id"] not in earlier]
        files = list({(f["outbox_id"], f["position"]): f for f in reversed(files)}.values())
    if rows:
        session.execute(insert(outbox), rows)
    if files:
        session.execute(insert(attachments), files)
    return earlier


_FILES = (
    select(attachments.c.content)
    .where(attachments.c.outbox_id == bindparam("row_id"))
    .order_by(attachments.c.position)
)


def _read_files(session: Session, row_id: str) -> list[bytes]:
    return list(session.execute(_FILES, {"row_id": row_id}).scalars())


def _claim_rows(
    session: Session, claiming: dict[str, Any]
) -> tuple[list[dict[str, Any]], float | None]:
    rows = [dict(row) for row in session.execute(_CLAIM, claiming).mappings()]
    next_due = None
    if len(rows) < claiming["limit"]:
        times = session.execute(_NEXT_DUE).one()
        next_due = min((t for t in times if t is not None), default=None)
    return rows, next_due


def _claimed(row: dict[str, Any]) -> Claimed:
    return Claimed(
        id=row["id"],
        message_id=row["message_id"],
        sender=row["sender"],
        recipients=list(row["recipients"]),
        content=Content(
            row["subject"],
            row["text"],
            row["html"],
            row["in_reply_to"],
            tuple((row["reference_ids"] or "").split()),
        ),
        attempts=row["attempts"],
        created_at=row["created_at"],
        attached=tuple(AttachmentInfo(**info) for info in row["attachments"] or ()),
    )


def _settle_rows(session: Session, by_state: dict[str, list[dict[str, Any]]]) -> None:
    for state, parameters in by_state.items():
        session.execute(_SETTLE[state], parameters)


def _execute(session: Session, statement: Any) -> None:
    session.execute(statement)


def _mentions(email: str) -> Any:
    """A cheap SQL pre-filter on the JSON list; `_addressed_to` then matches exactly."""
    return func.lower(cast(outbox.c.recipients, String)).contains(email.lower())


def _addressed_to(recipients: list[str], email: str) -> bool:
    return any(bare_address(r).lower() == email.lower() for r in recipients)
