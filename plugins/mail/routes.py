"""HTTP: `POST /api/mail/messages` (queue), `GET /api/mail/messages[/{id}]` (track).

Sending needs the permission `mail.send`, reading `mail.read` (messages hold personal
data). The guards come from `mindframe.sdk.auth` and fail closed: with no auth plugin
active, every request here is answered 401; other plugins send through the `Mailer`
service (`mindframe.sdk.mail`) or the `mail.send` event instead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from mindframe.sdk.auth import requires_permission
from mindframe.sdk.mail import Mailer, MailError, MailStatus, QueuedMail, State


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


@post(
    "/messages",
    status_code=202,
    summary="Queue a message; stored before this answers",
    guards=[requires_permission("mail.send")],
)
async def send_message(data: JSONBody[SendRequest], mailer: NamedDependency[Mailer]) -> QueuedMail:
    try:
        queued = await mailer.send(**msgspec.structs.asdict(data))
    except MailError as error:
        raise HTTPException(status_code=error.status, detail=str(error)) from None
    return queued


@get(
    "/messages/{message_id:str}",
    summary="A message's state, attempts and SMTP reply",
    guards=[requires_permission("mail.read")],
)
async def show_message(message_id: FromPath[str], mailer: NamedDependency[Mailer]) -> MailStatus:
    status = await mailer.status(message_id)
    if status is None:
        raise NotFoundException(f"no mail message with id {message_id!r}")
    return status


@get(
    "/messages",
    summary="Messages, newest first; filter by state, recipient, template",
    guards=[requires_permission("mail.read")],
)
async def list_messages(
    mailer: NamedDependency[Mailer],
    state_filter: Annotated[State | None, QueryParameter(name="state")] = None,
    to: FromQuery[str | None] = None,
    template: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> list[MailStatus]:
    return await mailer.messages(
        state=state_filter, to=to, template=template, limit=limit, offset=offset
    )
