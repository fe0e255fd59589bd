"""Mail to customers, in their own locale: a finalised invoice (HTML, with the PDF
attached), a failed renewal and the end of dunning. Sent through the mail plugin's
`Mailer`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio.to_thread

from mindframe.sdk import PluginContext, ServiceError
from mindframe.sdk.i18n import N_, Localizer, Translations
from mindframe.sdk.mail import Attachment, Mailer, QueuedMail

from . import rendering
from .money import major

INVOICE_SUBJECT = N_("Invoice {number} from {seller}")
INVOICE_TEXT = N_("Invoice {number}: {total}, due {due}.\n\nThe invoice is attached as a PDF.")
FAILED_SUBJECT = N_("Your payment for invoice {number} did not go through")
FAILED_TEXT = N_(
    "We could not collect {total} for invoice {number}. We will try again on {date}. "
    "You can update your card here: {link}"
)
GAVE_UP_TEXT = N_(
    "We could not collect {total} for invoice {number} and have stopped trying. "
    "Your subscription has been cancelled."
)


def invoice_mail_key(invoice_id: str) -> str:
    """The mail plugin's idempotency key of an invoice's mail: one mail per invoice."""
    return f"billing:invoice:{invoice_id}"


def dunning_mail_key(invoice_id: str, attempt: int) -> str:
    """The mail plugin's idempotency key of a dunning step's mail: one per failed attempt."""
    return f"billing:dunning:{invoice_id}:{attempt}"


class Notices:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx

    def localizer(self, locale: str | None) -> Localizer:
        try:
            return self._ctx.resolve(Translations).localizer(self._ctx.name, locale)
        except ServiceError:
            return Localizer(locale or "en_US")

    def seller(self) -> dict[str, str]:
        settings = self._ctx.settings
        return {"name": settings.seller_name, "vat_number": settings.seller_vat_number}

    def render(self, invoice: dict[str, Any]) -> rendering.InvoiceView:
        return rendering.view(invoice, self.localizer(invoice["locale"]), self.seller())

    def _link(self, path: str) -> str:
        return f"{self._ctx.settings.public_url.rstrip('/')}{path}"

    async def _send(self, invoice: dict[str, Any], **content: Any) -> QueuedMail | None:
        email = (invoice.get("buyer") or {}).get("email")
        if not email:
            return None
        mailer = self._ctx.resolve(Mailer)
        return await mailer.send([email], locale=invoice["locale"], **content)

    async def invoice(self, invoice: dict[str, Any]) -> QueuedMail | None:
        """Mail the invoice to its buyer: HTML, with the PDF attached (rendered on a worker
        thread: fpdf2 takes milliseconds of CPU the event loop would otherwise wait for).
        Keyed by the invoice, so handing it to the mail plugin again queues nothing more."""
        if not (invoice.get("buyer") or {}).get("email"):
            return None
        shown = self.render(invoice)
        l10n = self.localizer(invoice["locale"])
        pdf = await anyio.to_thread.run_sync(rendering.pdf, shown)
        return await self._send(
            invoice,
            subject=l10n.gettext(INVOICE_SUBJECT).format(
                number=shown.number, seller=shown.seller["name"]
            ),
            text=l10n.gettext(INVOICE_TEXT).format(
                number=shown.number, total=shown.total, due=shown.due
            ),
            html=rendering.html(shown),
            attachments=[Attachment(rendering.pdf_filename(invoice), "application/pdf", pdf)],
            idempotency_key=invoice_mail_key(invoice["id"]),
        )

    async def payment_failed(
        self, invoice: dict[str, Any], retry_at: datetime | None, attempt: int
    ) -> QueuedMail | None:
        """Tell the buyer a collection failed (and when we retry, or that we stopped);
        keyed by the attempt, so handing it over again queues nothing more."""
        l10n = self.localizer(invoice["locale"])
        total = l10n.format_currency(major(invoice["total"]), invoice["currency"])
        number = invoice["number"] or ""
        if retry_at is None:
            text = l10n.gettext(GAVE_UP_TEXT).format(total=total, number=number)
        else:
            text = l10n.gettext(FAILED_TEXT).format(
                total=total,
                number=number,
                date=l10n.format_date(retry_at, "long"),
                link=self._link("/billing/portal"),
            )
        subject = l10n.gettext(FAILED_SUBJECT).format(number=number)
        key = dunning_mail_key(invoice["id"], attempt)
        return await self._send(invoice, subject=subject, text=text, idempotency_key=key)
