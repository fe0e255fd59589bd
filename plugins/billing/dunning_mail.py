"""The dunning mail outbox, handed over by the `mail` job: each notified dunning step
(a failed collection, or the end of dunning) reaches the customer once.

`Dunning` writes a `billing_dunning_mail` row in the transaction that records the step, so
a crash after that commit cannot lose the mail; this outbox queues it with the `Mailer`
under a key of (invoice, attempt) and then marks it handed. Handed over again after a
crash before the mark, the mail plugin answers with the message it already queued.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext
from mindframe.sdk.mail import MailError

from . import ledger
from .models import dunning_mail, invoices
from .notices import Notices

BATCH = 50


class DunningMail:
    def __init__(self, ctx: PluginContext, notices: Notices) -> None:
        self._ctx = ctx
        self._notices = notices

    async def run(self) -> None:
        """Hand every waiting dunning mail over, a batch at a time, oldest first."""
        while waiting := await self._ctx.transaction(_waiting, BATCH, read_only=True):
            for step in waiting:
                await self._hand_over(step)
            if len(waiting) < BATCH:
                return

    async def _hand_over(self, step: dict[str, Any]) -> None:
        invoice, attempt = step["invoice"], step["attempt"]
        try:
            queued = await self._notices.payment_failed(invoice, step["retry_at"], attempt)
        except MailError as error:  # bad input never gets better: recorded, not retried
            self._ctx.log.warning("billing: dunning mail for %s lost: %s", invoice["id"], error)
            await self._ctx.transaction(_mark, invoice["id"], attempt, None, str(error))
            return
        mail_id = queued.id if queued is not None else None
        await self._ctx.transaction(_mark, invoice["id"], attempt, mail_id, None)


def _waiting(session: Session, limit: int) -> list[dict[str, Any]]:
    statement = (
        select(invoices, dunning_mail.c.attempt, dunning_mail.c.retry_at.label("step_retry_at"))
        .join(dunning_mail, dunning_mail.c.invoice_id == invoices.c.id)
        .where(dunning_mail.c.handed_at.is_(None))
        .order_by(dunning_mail.c.queued_at)
        .limit(limit)
    )
    found = []
    for row in session.execute(statement):
        invoice = dict(row._mapping)
        attempt, retry_at = invoice.pop("attempt"), invoice.pop("step_retry_at")
        found.append({"invoice": invoice, "attempt": attempt, "retry_at": retry_at})
    return found


def _mark(
    session: Session, invoice_id: str, attempt: int, mail_id: str | None, error: str | None
) -> None:
    session.execute(
        update(dunning_mail)
        .where(dunning_mail.c.invoice_id == invoice_id, dunning_mail.c.attempt == attempt)
        .values(handed_at=ledger.now(), mail_id=mail_id, error=error)
    )
