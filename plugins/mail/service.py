"""`MailService`: the mail plugin's `mindframe.sdk.mail.Mailer`, which other plugins (and
the routes) use to send mail and add templates.

mailer = ctx.resolve(Mailer)
await mailer.send_template(["ops@example.org"], "system_alert", {...})
ctx.on_unload(mailer.register_templates(Path(__file__).parent / "mail_templates", ctx.name))
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mindframe.sdk import PluginContext, Subject
from mindframe.sdk.mail import (
    Attachment,
    AttachmentInfo,
    Mailer,
    MailRequest,
    MailStatus,
    Priority,
    QueuedMail,
    State,
)

from . import composing
from .composing import Content
from .dispatch import Dispatcher
from .errors import MailError
from .events import MailQueued
from .inbound import inbox_about, inbox_erase
from .locales import Locales
from .outbox import PRIORITIES, PRIORITY_NAMES, Outbox
from .settings import MailSettings
from .templates import TemplateRegistry

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
BUILTIN_PRIORITIES = {"error_alert": "high", "system_alert": "high", "daily_report": "low"}


class MailService(Mailer):
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self.settings: MailSettings = ctx.settings
        self.outbox = Outbox(ctx)
        self.templates = TemplateRegistry()
        self.locales = Locales(ctx)
        self.templates.register(BUILTIN_TEMPLATES, ctx.name, BUILTIN_PRIORITIES)
        self.dispatcher = Dispatcher(self.settings, self.outbox, ctx.publish)

    def register_templates(
        self, folder: Path, owner: str, priorities: Mapping[str, Priority] | None = None
    ) -> Callable[[], None]:
        return self.templates.register(folder, owner, priorities)

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
        request = MailRequest(
            to=list(to),
            subject=subject,
            text=text,
            html=html,
            template=template,
            context=context or {},
            locale=locale,
            priority=priority,
            send_at=send_at,
            user_id=user_id,
            in_reply_to=in_reply_to,
            references=tuple(references),
            attachments=list(attachments),
            idempotency_key=idempotency_key,
        )
        [queued] = await self.send_many([request])
        return queued

    async def send_many(self, messages: Iterable[MailRequest]) -> list[QueuedMail]:
        requests = list(messages)
        made = [self._row(request) for request in requests]  # all checked before any is stored
        rows = [row for row, _ in made]
        keyed = [
            row["id"]
            for (row, _), request in zip(made, requests, strict=True)
            if request.idempotency_key
        ]
        earlier = await self.outbox.add(rows, [file for _, files in made for file in files], keyed)
        self.dispatcher.wake()
        for row in rows:
            if row["id"] in earlier:  # its idempotency key was used: nothing new was queued
                continue
            await self._ctx.publish(
                MailQueued(
                    id=row["id"],
                    message_id=row["message_id"],
                    to=row["recipients"],
                    subject=row["subject"],
                )
            )
        return [
            QueuedMail(row["id"], row["message_id"], earlier.get(row["id"], row["state"]))
            for row in rows
        ]

    def _row(self, request: MailRequest) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Check and render one request into an outbox row and the rows of its attachments'
        bytes; `MailError` on bad input."""
        recipients = composing.check_recipients(list(request.to))
        template, locale, priority = request.template, request.locale, request.priority
        if template is not None:
            if request.subject is not None or request.text is not None or request.html is not None:
                raise MailError("give either 'template' or 'subject'/'text'/'html', not both")
            owner = self.templates.get(template)
            l10n = self.locales.localizer(owner.owner, locale)
            locale = l10n.locale
            content = self.templates.render(template, request.context or {}, l10n)
            priority = priority or owner.priority
        elif request.subject is None or (request.text is None and request.html is None):
            raise MailError("give 'subject' and 'text' (or 'html'), or a 'template'")
        else:
            content = Content(subject=request.subject, text=request.text or "", html=request.html)
        composing.check_attachments(list(request.attachments), self.settings.max_attachment_size)
        content = replace(
            content,
            in_reply_to=request.in_reply_to,
            references=tuple(request.references),
            attachments=tuple(request.attachments),
        )
        composing.check_content(content)
        priority = priority or "normal"
        if priority not in PRIORITIES:
            raise MailError(f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}")
        send_at = request.send_at
        row = self.outbox.row(
            sender=self.settings.sender,
            recipients=recipients,
            content=content,
            priority=priority,
            send_at=send_at.replace(tzinfo=send_at.tzinfo or UTC).timestamp() if send_at else None,
            template=template,
            locale=locale,
            user_id=request.user_id,
            idempotency_key=request.idempotency_key,
        )
        return row, self.outbox.files(row, content)

    # --- tracking ------------------------------------------------------------------------

    async def status(self, id: str) -> MailStatus | None:
        row = await self.outbox.get(id)
        return status_of(row) if row is not None else None

    async def messages(
        self,
        *,
        state: State | None = None,
        to: str | None = None,
        template: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[MailStatus]:
        rows = await self.outbox.find(
            state=state, recipient=to, template=template, limit=limit, offset=offset
        )
        return [status_of(row) for row in rows]

    # --- personal data -------------------------------------------------------------------

    async def personal_data(self, subject: Subject) -> dict[str, Any]:
        """Every outbox and inbox record sent by, to or for the subject."""
        sent = await self.outbox.about(subject.user_id, subject.email)
        received = await inbox_about(self._ctx, subject.email)
        for row in sent:
            if row["attachments"]:  # the files too, as sent (base64)
                contents = await self.outbox.file_contents(row["id"])
                row["attachments"] = [
                    {**info, "content_base64": base64.b64encode(data).decode()}
                    for info, data in zip(row["attachments"], contents, strict=False)
                ]
        return {
            "outbox": [_plain(row) for row in sent],
            "inbox": [_plain(row) for row in received],
        }

    async def erase_personal_data(self, subject: Subject) -> None:
        """Delete them (queued ones too: an erased person is not mailed afterwards)."""
        await self.outbox.erase(
            [row["id"] for row in await self.outbox.about(subject.user_id, subject.email)]
        )
        await inbox_erase(
            self._ctx, [row["id"] for row in await inbox_about(self._ctx, subject.email)]
        )


def status_of(row: Mapping[str, Any]) -> MailStatus:
    return MailStatus(
        id=row["id"],
        message_id=row["message_id"],
        state=row["state"],
        to=list(row["recipients"]),
        subject=row["subject"],
        priority=PRIORITY_NAMES.get(row["priority"], "normal"),
        template=row["template"],
        locale=row["locale"],
        attempts=row["attempts"],
        reply=row["reply"],
        send_at=row["send_at"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        attachments=[AttachmentInfo(**info) for info in row["attachments"] or ()],
    )


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
