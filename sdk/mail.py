"""Sending mail: the contract the mail plugin fulfils.

A plugin asks for the `Mailer` service (`ctx.resolve(Mailer)`, put `mail` in its
manifest's `requires`; or a handler parameter named `mailer`) and queues mail that is
stored before the call returns and sent in the background::

    mailer = ctx.resolve(Mailer)
    queued = await mailer.send_template(["ops@example.org"], "system_alert", {...})
    ctx.on_unload(mailer.register_templates(Path(__file__).parent / "mail_templates", ctx.name))
    (await mailer.status(queued.id)).state  # "queued", "sending", "sent" or "failed"

A reply keeps its thread: pass the Message-ID it answers as `in_reply_to` and the thread's
Message-IDs, oldest first, as `references` (RFC 5322 section 3.6.4); its own Message-ID is
`QueuedMail.message_id`, for the answer to it.

Files go with a message as `attachments` (`Attachment(filename, content_type, content)`),
stored in the outbox with it and sent as MIME attachments beside the text and HTML::

    pdf = Attachment("INV-000001.pdf", "application/pdf", pdf_bytes)
    await mailer.send([email], subject=..., text=..., html=..., attachments=[pdf])

Their total size is bounded by the mail plugin's `max_attachment_size` setting (bytes,
before encoding); a message over it is refused with `AttachmentTooLarge` (a `MailError`).

Bad input (an invalid address, an unknown template, a missing template variable, a line
break or other control character in a header, text UTF-8 cannot encode, an attachment
without a file name or a `type/subtype`, attachments over the size limit) raises
`MailError` naming the field and the character, and queues nothing.

A caller that must not mail twice (an outbox of its own that hands mail over, then marks
it handed) passes an `idempotency_key`: the same key again queues nothing new and answers
with the message first queued under it, so a crash between the two steps is repaired by
sending again. Keys are shared by all plugins: start yours with your plugin's name::

    await mailer.send([email], subject=..., text=..., idempotency_key=f"billing:invoice:{id}")

Mail the inbound listener accepts is announced as `MailReceived` (`mail.received`), with
the headers a reply is threaded by, for a plugin that files it (support tickets).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from mindframe.kernel.bus import Event

Priority = Literal["low", "normal", "high"]
State = Literal["queued", "sending", "sent", "failed"]


class MailError(ValueError):
    """A message refused before it was queued; `status` is the HTTP status to answer with."""

    status = 400


class AttachmentTooLarge(MailError):
    """A message's attachments together exceed the mail plugin's `max_attachment_size`."""

    status = 413


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: `filename` as the recipient sees it (a name, not a
    path), `content_type` as `type/subtype` (`application/pdf`), and its bytes."""

    filename: str
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        """Bytes of content, before the base64 the message carries it in."""
        return len(self.content)


@dataclass(frozen=True)
class MailRequest:
    """One message for `Mailer.send_many`: `subject` with `text` and/or `html`, or a
    `template` with its `context`."""

    to: list[str]
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    locale: str | None = None
    priority: Priority | None = None
    send_at: datetime | None = None
    user_id: str | None = None
    """The user the message is for or about, so their personal data export finds it."""
    in_reply_to: str | None = None
    """The Message-ID (`<id@host>`) this message answers."""
    references: tuple[str, ...] = ()
    """The Message-IDs of the thread it belongs to, oldest first."""
    attachments: list[Attachment] = field(default_factory=list)
    """Files sent with it, in this order, after the text and HTML."""
    idempotency_key: str | None = None
    """When a message was queued under this key before, nothing new is queued: the answer
    is that message (until it is erased with its recipient's personal data)."""


@dataclass(frozen=True)
class AttachmentInfo:
    """What `MailStatus` says about an attachment: its name, type and size in bytes."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class QueuedMail:
    """A message stored in the outbox. `id` looks it up; `message_id` is its Message-ID
    header, the same on every resend."""

    id: str
    message_id: str
    state: State


@dataclass(frozen=True)
class MailStatus:
    """Where a message is: its state, tries and the last SMTP reply (or connection error)."""

    id: str
    message_id: str
    state: State
    to: list[str]
    subject: str
    priority: Priority
    template: str | None
    locale: str | None
    attempts: int
    reply: str | None
    send_at: float
    created_at: datetime
    sent_at: datetime | None
    attachments: list[AttachmentInfo] = field(default_factory=list)


class MailReceived(Event):
    """One message the inbound listener accepted and stored (`mail.received`). Durable: a
    plugin that files mail hears it after a restart too. `message_id`, `in_reply_to` and
    `references` are the message's own headers (`<id@host>`), for threading."""

    topic: ClassVar[str] = "mail.received"
    durable: ClassVar[bool] = True

    id: str
    message_id: str | None
    sender: str
    to: list[str]
    subject: str
    text: str
    sender_name: str = ""
    in_reply_to: str | None = None
    references: list[str] = []


class Mailer(ABC):
    """The service the mail plugin provides: a durable outbox sent through SMTP."""

    @abstractmethod
    async def send(
        self,
        to: list[str],
        *,
        subject: str | None = None,
        text: str | None = None,
        html: str | None = None,
        template: str | None = None,
        context: Mapping[str, Any] | None = None,
        locale: str | None = None,
        priority: Priority | None = None,
        send_at: datetime | None = None,
        user_id: str | None = None,
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
        attachments: Sequence[Attachment] = (),
        idempotency_key: str | None = None,
    ) -> QueuedMail:
        """Check, render and queue one message (with its `attachments`, stored with it),
        committed before this returns. Raises `MailError` on bad input, and then nothing is
        queued. With an `idempotency_key` already used, queues nothing and answers with the
        message queued under it."""

    @abstractmethod
    async def send_many(self, messages: Iterable[MailRequest]) -> list[QueuedMail]:
        """Queue all of `messages` in one transaction (cheaper than `send` for each), in
        order; if any of them is bad input, `MailError` is raised and none is queued."""

    async def send_template(
        self,
        to: list[str],
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        locale: str | None = None,
        priority: Priority | None = None,
        send_at: datetime | None = None,
        user_id: str | None = None,
    ) -> QueuedMail:
        """`send` with a registered template rendered in `locale` (the template's own
        priority unless `priority` is given)."""
        return await self.send(
            to,
            template=template,
            context=context,
            locale=locale,
            priority=priority,
            send_at=send_at,
            user_id=user_id,
        )

    @abstractmethod
    def register_templates(
        self, folder: Path, owner: str, priorities: Mapping[str, Priority] | None = None
    ) -> Callable[[], None]:
        """Add every `<name>/subject.txt, body.txt[, body.html]` under `folder` as a
        template owned by plugin `owner`; returns the function that removes them again
        (hand it to `ctx.on_unload`, so a reload registers anew)."""

    @abstractmethod
    async def status(self, id: str) -> MailStatus | None:
        """The message queued as `id` (`QueuedMail.id`), or None when there is none."""

    @abstractmethod
    async def messages(
        self,
        *,
        state: State | None = None,
        to: str | None = None,
        template: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[MailStatus]:
        """Messages, newest first, filtered by state, a recipient's address, template."""
