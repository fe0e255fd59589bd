"""The optional inbound listener: SMTP (aiosmtpd) for internal addresses only.

Accepted mail is stored in `mail_inbox` and announced as `mail.received` (the support
plugin turns those into tickets). Refusals are SMTP replies a sender understands:
552 for mail over `inbound_max_size`, 550 5.1.1 for an address that is not internal,
550 5.6.0 for a message that does not parse as mail.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import String, cast, delete, func, insert, or_, select

from mindframe.sdk import PluginContext

from .composing import ADDR_SPEC, domain_of
from .events import MailReceived
from .models import inbox
from .settings import MailSettings

PARSER = BytesParser(policy=policy.default)


def problem_with(message: EmailMessage) -> str | None:
    """Why `message` is not mail we can file, or None."""
    if message.defects:
        return type(message.defects[0]).__name__
    sender = message.get("From")
    if not sender or not sender.addresses or not ADDR_SPEC.match(sender.addresses[0].addr_spec):
        return "no valid From header"
    for part in message.walk():
        if part.defects:
            return type(part.defects[0]).__name__
    return None


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    return body.get_content() if body is not None else ""


class InboxHandler:
    def __init__(self, ctx: PluginContext, settings: MailSettings) -> None:
        self._ctx = ctx
        self._domains = {d.lower() for d in settings.inbound_domains}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if domain_of(address) not in self._domains:
            return f"550 5.1.1 <{address}>: not an internal address of this server"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            message = PARSER.parsebytes(raw)
            problem = problem_with(message)  # type: ignore[arg-type]
            text = plain_text(message) if problem is None else ""  # type: ignore[arg-type]
        except (ValueError, LookupError, UnicodeError) as error:
            problem = f"{type(error).__name__}: {error}"
        if problem is not None:
            return f"550 5.6.0 Malformed message: {problem}"
        row = {
            "id": str(uuid.uuid4()),
            "message_id": str(message["Message-ID"]) if message["Message-ID"] else None,
            "sender": message["From"].addresses[0].addr_spec,
            "recipients": list(envelope.rcpt_tos),
            "subject": str(message.get("Subject", "")),
            "text": text,
            "raw": raw.decode("utf-8", "replace"),
            "received_at": datetime.now(UTC),
        }
        async with self._ctx.session() as db:
            await db.execute(insert(inbox).values(row))
            await db.commit()
        await self._ctx.publish(
            MailReceived(
                id=row["id"],
                message_id=row["message_id"],
                sender=row["sender"],
                to=row["recipients"],
                subject=row["subject"],
                text=text,
            )
        )
        return "250 2.0.0 Message accepted"


async def inbox_about(ctx: PluginContext, email: str | None) -> list[dict[str, Any]]:
    """Received mail from or to `email`."""
    if not email:
        return []
    email = email.lower()
    query = select(inbox).where(
        or_(
            func.lower(inbox.c.sender) == email,
            func.lower(cast(inbox.c.recipients, String)).contains(email),
        )
    )
    async with ctx.session() as db:
        rows = [dict(row) for row in (await db.execute(query)).mappings()]
    return [
        r for r in rows if r["sender"].lower() == email or email in map(str.lower, r["recipients"])
    ]


async def inbox_erase(ctx: PluginContext, row_ids: list[str]) -> None:
    async with ctx.session() as db:
        await db.execute(delete(inbox).where(inbox.c.id.in_(row_ids)))
        await db.commit()


async def listen(ctx: PluginContext, settings: MailSettings) -> asyncio.Server:
    """Start the listener in this event loop; closed when the plugin unloads."""
    handler = InboxHandler(ctx, settings)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(
            handler,
            data_size_limit=settings.inbound_max_size,
            enable_SMTPUTF8=True,
            hostname="mindframe",
        ),
        host=settings.inbound_host,
        port=settings.inbound_port,
    )

    async def close() -> None:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 2)

    ctx.on_unload(close, "inbound SMTP listener")
    return server
