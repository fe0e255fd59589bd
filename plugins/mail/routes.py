"""HTTP: `POST /api/mail/messages` (queue), `GET /api/mail/messages[/{id}]` (track).

Sending needs the permission `mail.send`, reading `mail.read` (messages hold personal
data). The guards come from `mindframe.sdk.auth` and fail closed: with no auth plugin
active, every request here is answered 401; other plugins send through the `Mailer`
service (`mindframe.sdk.mail`) or the `mail.send` event instead.

Attachments come as `{"filename", "content_type", "content"}` with the content in base64.
The body is bounded by what `max_attachment_size` of attachments takes in base64, plus
`BODY_ALLOWANCE` for the rest: a larger body is refused (413) before it is read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from mindframe.sdk.auth import requires_permission
from mindframe.sdk.mail import Attachment, Mailer, MailError, MailStatus, QueuedMail, State

from .settings import MailSettings

BODY_ALLOWANCE = 1024 * 1024
"""Bytes of a send request beyond its attachments' base64: addresses, subject, text, HTML."""


class AttachmentIn(msgspec.Struct, forbid_unknown_fields=True):
    filename: str
    content_type: Annotated[str, msgspec.Meta(description="type/subtype, as application/pdf")]
    content: Annotated[bytes, msgspec.Meta(description="the file's bytes, in base64")]


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
    attachments: list[AttachmentIn] = []


def body_limit(settings: MailSettings) -> int:
    """The largest send request: the attachments' limit in base64, and `BODY_ALLOWANCE`."""
    return 4 * -(-settings.max_attachment_size // 3) + BODY_ALLOWANCE


async def send_message(data: JSONBody[SendRequest], mailer: NamedDependency[Mailer]) -> QueuedMail:
    fields = msgspec.structs.asdict(data)
    fields["attachments"] = [
        Attachment(a.filename, a.content_type, a.content) for a in data.attachments
    ]
    try:
        queued = await mailer.send(**fields)
    except MailError as error:
        raise HTTPException(status_code=error.status, detail=str(error)) from None
    return queued


def sending(settings: MailSettings) -> Any:
    """`POST /messages`, its body bounded by `body_limit(settings)`."""
    return post(
        "/messages",
        status_code=202,
        summary="Queue a message, with attachments in base64; stored before this answers",
        guards=[requires_permission("mail.send")],
        request_max_body_size=body_limit(settings),
    )(send_message)


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
