"""`MailService`: what other plugins (and the routes) use to send mail and add templates.

mail = ctx.resolve(MailService)
await mail.send(["ops@example.org"], template="system_alert", context={...})
ctx.on_unload(mail.register_templates(Path(__file__).parent / "mail_templates", ctx.name))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mindframe.sdk import PluginContext, Subject

from . import composing
from .composing import Content
from .dispatch import Dispatcher
from .errors import MailError
from .events import MailQueued
from .inbound import inbox_about, inbox_erase
from .locales import Locales
from .outbox import PRIORITIES, Outbox
from .settings import MailSettings
from .templates import TemplateRegistry

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
BUILTIN_PRIORITIES = {"error_alert": "high", "system_alert": "high", "daily_report": "low"}


class MailService:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self.settings: MailSettings = ctx.settings
        self.outbox = Outbox(ctx)
        self.templates = TemplateRegistry()
        self.locales = Locales(ctx)
        self.templates.register(BUILTIN_TEMPLATES, ctx.name, BUILTIN_PRIORITIES)
        self.dispatcher = Dispatcher(self.settings, self.outbox, ctx.publish)

    def register_templates(
        self, folder: Path, owner: str, priorities: Mapping[str, str] | None = None
    ) -> Callable[[], None]:
        """Add every `<name>/subject.txt, body.txt[, body.html]` under `folder`; returns
        the function that removes them again (hand it to `ctx.on_unload`)."""
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
        priority: str | None = None,
        send_at: datetime | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """Check, render and queue one message; returns its outbox row. Raises `MailError`
        (with the HTTP status to answer) on bad input, and then nothing is queued."""
        recipients = composing.check_recipients(list(to))
        if template is not None:
            if subject is not None or text is not None or html is not None:
                raise MailError("give either 'template' or 'subject'/'text'/'html', not both")
            owner = self.templates.get(template)
            l10n = self.locales.localizer(owner.owner, locale)
            locale = l10n.locale
            content = self.templates.render(template, context or {}, l10n)
            priority = priority or owner.priority
        elif subject is None or (text is None and html is None):
            raise MailError("give 'subject' and 'text' (or 'html'), or a 'template'")
        else:
            content = Content(subject=subject, text=text or "", html=html)
        priority = priority or "normal"
        if priority not in PRIORITIES:
            raise MailError(f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}")
        row = await self.outbox.add(
            sender=self.settings.sender,
            recipients=recipients,
            content=content,
            priority=priority,
            send_at=send_at.replace(tzinfo=send_at.tzinfo or UTC).timestamp() if send_at else None,
            template=template,
            locale=locale,
            user_id=user_id,
        )
        self.dispatcher.wake()
        await self._ctx.publish(
            MailQueued(
                id=row["id"], message_id=row["message_id"], to=recipients, subject=content.subject
            )
        )
        return row

    # --- personal data -------------------------------------------------------------------

    async def personal_data(self, subject: Subject) -> dict[str, Any]:
        """Every outbox and inbox record sent by, to or for the subject."""
        sent = await self.outbox.about(subject.user_id, subject.email)
        received = await inbox_about(self._ctx, subject.email)
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


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
