"""HTTP: `POST /api/mail/messages` (queue), `GET /api/mail/messages[/{id}]` (track).

Sending needs the permission `mail.send`, reading `mail.read` (messages hold personal
data). The guards come from `mindframe.sdk.auth` and fail closed: with no auth plugin
active, every request here is answered 401; other plugins send through `MailService` or
the `mail.send` event instead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from mindframe.sdk.auth import requires_permission

from .errors import MailError
from .outbox import PRIORITY_NAMES
from .service import MailService

State = Literal["queued", "sending", "sent", "failed"]


class SendRequest(msgspec.Struct, forbid_unknown_fields=True):
    to: list[str]
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template: str | None = None
    context: dict[str, Any] = {}
    locale: str | None = None
    priority: Literal["low", "normal", "high"] | None = None
    send_at: datetime | None = None


class Accepted(msgspec.Struct):
    id: str
    message_id: str
    state: str


class Message(msgspec.Struct):
    id: str
    message_id: str
    state: str
    to: list[str]
    subject: str
    priority: str
    template: str | None
    locale: str | None
    attempts: int
    reply: str | None
    send_at: float
    created_at: datetime
    sent_at: datetime | None


def _message(row: dict[str, Any]) -> Message:
    return Message(
        id=row["id"],
        message_id=row["message_id"],
        state=row["state"],
        to=row["recipients"],
        subject=row["subject"],
        priority=PRIORITY_NAMES.get(row["priority"], str(row["priority"])),
        template=row["template"],
        locale=row["locale"],
        attempts=row["attempts"],
        reply=row["reply"],
        send_at=row["send_at"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
    )


@post(
    "/messages",
    status_code=202,
    summary="Queue a message; stored before this answers",
    guards=[requires_permission("mail.send")],
)
async def send_message(
    data: JSONBody[SendRequest], mail_service: NamedDependency[MailService]
) -> Accepted:
    try:
        row = await mail_service.send(**msgspec.structs.asdict(data))
    except MailError as error:
        raise HTTPException(status_code=error.status, detail=str(error)) from None
    return Accepted(id=row["id"], message_id=row["message_id"], state=row["state"])


@get(
    "/messages/{message_id:str}",
    summary="A message's state, attempts and SMTP reply",
    guards=[requires_permission("mail.read")],
)
async def show_message(
    message_id: FromPath[str], mail_service: NamedDependency[MailService]
) -> Message:
    row = await mail_service.outbox.get(message_id)
    if row is None:
        raise NotFoundException(f"no mail message with id {message_id!r}")
    return _message(row)


@get(
    "/messages",
    summary="Messages, newest first; filter by state, recipient, template",
    guards=[requires_permission("mail.read")],
)
async def list_messages(
    mail_service: NamedDependency[MailService],
    state_filter: Annotated[State | None, QueryParameter(query="state")] = None,
    to: FromQuery[str | None] = None,
    template: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> list[Message]:
    rows = await mail_service.outbox.find(
        state=state_filter, recipient=to, template=template, limit=limit, offset=offset
    )
    return [_message(row) for row in rows]
