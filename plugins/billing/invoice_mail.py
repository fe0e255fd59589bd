"""The invoice mail outbox, the `mail` singleton job: hands each finalised invoice to the
mail plugin once.

Finalising writes a `billing_invoice_mail` row in the transaction that numbers the invoice,
so an invoice issued is an invoice to mail, whatever happens next. This job renders each
waiting one, queues it with the `Mailer` (durable once `send` returns) and then marks the
row handed. A crash between those two steps leaves the row waiting and it is handed over
again; the mail carries the invoice's idempotency key, so the mail plugin answers with the
message it already queued and the customer gets one mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext
from mindframe.sdk.mail import MailError

from . import ledger
from .models import invoice_mail, invoices
from .notices import Notices

BATCH = 50


class InvoiceMail:
    def __init__(self, ctx: PluginContext, notices: Notices) -> None:
        self._ctx = ctx
        self._notices = notices

    async def run(self) -> None:
        """Hand every waiting invoice over, a batch at a time, oldest first."""
        while waiting := await self._ctx.transaction(_waiting, BATCH, read_only=True):
            for invoice in waiting:
                await self._hand_over(invoice)
            if len(waiting) < BATCH:
                return

    async def _hand_over(self, invoice: dict[str, Any]) -> None:
        try:
            queued = await self._notices.invoice(invoice)
        except MailError as error:  # bad input never gets better: recorded, not retried
            self._ctx.log.warning("billing: invoice %s not mailed: %s", invoice["number"], error)
            await self._ctx.transaction(_mark, invoice["id"], None, str(error), ledger.now())
            return
        mail_id = queued.id if queued is not None else None
        await self._ctx.transaction(_mark, invoice["id"], mail_id, None, ledger.now())

    async def depth(self) -> int:
        """How many invoices wait to be handed to the mail plugin (for health)."""
        return await self._ctx.transaction(_depth, read_only=True)


def _waiting(session: Session, limit: int) -> list[dict[str, Any]]:
    statement = (
        select(invoices)
        .join(invoice_mail, invoice_mail.c.invoice_id == invoices.c.id)
        .where(invoice_mail.c.handed_at.is_(None))
        .order_by(invoice_mail.c.queued_at)
        .limit(limit)
    )
    return [dict(row._mapping) for row in session.execute(statement)]


def _depth(session: Session) -> int:
    waiting = select(func.count()).where(invoice_mail.c.handed_at.is_(None))
    return int(session.execute(waiting).scalar_one())


def _mark(
    session: Session, invoice_id: str, mail_id: str | None, error: str | None, at: datetime
) -> None:
    session.execute(
        update(invoice_mail)
        .where(invoice_mail.c.invoice_id == invoice_id)
        .values(handed_at=at, mail_id=mail_id, error=error)
    )
