"""The optional inbound listener: SMTP (aiosmtpd) for internal addresses only.

Accepted mail is stored in `mail_inbox` and announced as `mail.received`
(`mindframe.sdk.mail.MailReceived`, with In-Reply-To and References for threading; the
support plugin turns those into tickets). Refusals are SMTP replies a sender understands:
552 for mail over `inbound_max_size`, 550 5.1.1 for an address that is not internal,
554 5.6.0 for mail over `inbound_max_parts` or `inbound_max_depth`, 550 5.6.0 for a
message that does not parse as mail. Messages are parsed in a worker thread (`parsing.py`).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import String, cast, delete, func, insert, or_, select

from mindframe.sdk import PluginContext

from .composing import domain_of
from .events import MailReceived
from .models import inbox
from .parsing import Refused, read
from .settings import MailSettings

if TYPE_CHECKING:  # aiosmtpd is imported when the listener starts: it is off by default
    from aiosmtpd.smtp import SMTP, Envelope, Session

PARSING_THREADS = 2
"""Inbound messages parsed at once: a flood of mail waits its turn instead of taking the
worker threads that database transactions (`ctx.transaction`) run in."""


class InboxHandler:
    def __init__(self, ctx: PluginContext, settings: MailSettings) -> None:
        self._ctx = ctx
        self._settings = settings
        self._domains = {d.lower() for d in settings.inbound_domains}
        self._parsing = anyio.CapacityLimiter(PARSING_THREADS)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if domain_of(address) not in self._domains:
            return f"550 5.1.1 <{address}>: not an internal address of this server"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        settings = self._settings
        try:
            received = await anyio.to_thread.run_sync(
                read,
                raw,
                settings.inbound_max_parts,
                settings.inbound_max_depth,
                limiter=self._parsing,
            )
        except Refused as refused:
            return refused.reply
        row = {
            "id": str(uuid.uuid4()),
            "message_id": received.message_id,
            "sender": received.sender,
            "recipients": list(envelope.rcpt_tos),
            "subject": received.subject,
            "text": received.text,
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
                text=row["text"],
                sender_name=received.sender_name,
                in_reply_to=received.in_reply_to,
                references=list(received.references),
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
    from aiosmtpd.smtp import SMTP

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
