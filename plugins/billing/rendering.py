"""An invoice in the buyer's locale: one view (labels through the plugin's catalog, money
through Babel's currency formatting), rendered as HTML and as PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2

from mindframe.sdk.i18n import N_, Localizer

from .money import major

TEMPLATES = Path(__file__).with_name("templates")
FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
REVERSE_CHARGE = N_(
    "Reverse charge: the buyer accounts for the VAT (Council Directive 2006/112/EC, article 196)."
)
LABELS = {
    "invoice": N_("Invoice"),
    "number": N_("Invoice number"),
    "issued": N_("Invoice date"),
    "due": N_("Due date"),
    "bill_to": N_("Bill to"),
    "vat_number": N_("VAT number"),
    "description": N_("Description"),
    "quantity": N_("Quantity"),
    "unit_price": N_("Unit price"),
    "amount": N_("Amount"),
    "subtotal": N_("Subtotal"),
    "total": N_("Total"),
}
VAT_LINE = N_("VAT {rate} %")


@dataclass(frozen=True)
class InvoiceView:
    """Everything an invoice shows, already translated and formatted."""

    locale: str
    labels: dict[str, str]
    seller: dict[str, str]
    buyer: dict[str, Any]
    number: str
    issued: str
    due: str
    lines: list[dict[str, str]]
    subtotal: str
    vat_label: str
    vat: str
    total: str
    note: str | None
    dated: datetime
    """When it was issued (made, for a draft): the PDF's creation date, so one invoice
    always renders to the same bytes."""


def view(invoice: dict[str, Any], l10n: Localizer, seller: dict[str, str]) -> InvoiceView:
    currency = invoice["currency"]

    def money(amount: int) -> str:
        return l10n.format_currency(major(amount), currency)

    rate = Decimal(invoice["vat_rate"])
    return InvoiceView(
        locale=l10n.locale,
        labels={key: l10n.gettext(text) for key, text in LABELS.items()},
        seller=seller,
        buyer=invoice["buyer"],
        number=invoice["number"] or "",
        issued=l10n.format_date(invoice["issued_at"]) if invoice["issued_at"] else "",
        due=l10n.format_date(invoice["due_at"]) if invoice["due_at"] else "",
        lines=[
            {
                "description": line["description"],
                "quantity": l10n.format_number(line["quantity"]),
                "unit_price": money(line["unit_amount"]),
                "amount": money(line["amount"]),
            }
            for line in invoice["lines"]
        ],
        subtotal=money(invoice["subtotal"]),
        vat_label=l10n.gettext(VAT_LINE).format(rate=l10n.format_number(rate)),
        vat=money(invoice["vat_amount"]),
        total=money(invoice["total"]),
        note=l10n.gettext(REVERSE_CHARGE) if invoice["reverse_charge"] else None,
        dated=invoice["issued_at"] or invoice["created_at"],
    )


_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def html(invoice: InvoiceView) -> str:
    return _environment.get_template("invoice.html").render(invoice=invoice)


def pdf_filename(invoice: dict[str, Any]) -> str:
    """The invoice's PDF as a file: its number (its id while a draft), `.pdf`."""
    return f"{invoice['number'] or invoice['id']}.pdf"


def _font() -> Path | None:
    for folder in FONT_FOLDERS:
        if (folder / "DejaVuSans.ttf").is_file():
            return folder
    return None


def pdf(invoice: InvoiceView) -> bytes:
    """The invoice as an A4 PDF (fpdf2, imported here: only invoices need it). DejaVu Sans
    when the system has it, for every character Babel's formats use; else Helvetica with
    the few it lacks written out."""
    from fpdf import FPDF

    document = FPDF(format="A4")
    document.set_creation_date(invoice.dated)
    document.set_title(f"{invoice.labels['invoice']} {invoice.number}")
    document.add_page()
    folder = _font()
    if folder is not None:
        document.add_font("body", "", str(folder / "DejaVuSans.ttf"))
        document.add_font("body", "B", str(folder / "DejaVuSans-Bold.ttf"))
        family, clean = "body", str
    else:
        family, clean = "helvetica", _latin1
    document.set_font(family, "B", 18)
    document.cell(
        0, 10, clean(f"{invoice.labels['invoice']} {invoice.number}"), new_x="LMARGIN", new_y="NEXT"
    )
    document.set_font(family, "", 10)
    for text in (
        invoice.seller.get("name", ""),
        f"{invoice.labels['vat_number']}: {invoice.seller.get('vat_number', '')}",
        "",
        f"{invoice.labels['bill_to']}: {invoice.buyer.get('name') or ''}",
        f"{invoice.labels['vat_number']}: {invoice.buyer.get('vat_number') or '-'}",
        f"{invoice.labels['issued']}: {invoice.issued}",
        f"{invoice.labels['due']}: {invoice.due}",
        "",
    ):
        document.cell(0, 6, clean(text), new_x="LMARGIN", new_y="NEXT")
    widths = (80, 25, 40, 40)
    heads = ("description", "quantity", "unit_price", "amount")
    document.set_font(family, "B", 10)
    for width, key in zip(widths, heads, strict=True):
        document.cell(width, 7, clean(invoice.labels[key]), border="B")
    document.ln()
    document.set_font(family, "", 10)
    for line in invoice.lines:
        for width, key in zip(widths, heads, strict=True):
            document.cell(width, 7, clean(line[key]), align="L" if key == "description" else "R")
        document.ln()
    for label, value, style in (
        (invoice.labels["subtotal"], invoice.subtotal, ""),
        (invoice.vat_label, invoice.vat, ""),
        (invoice.labels["total"], invoice.total, "B"),
    ):
        document.set_font(family, style, 10)
        document.cell(sum(widths[:3]), 7, clean(label), align="R")
        document.cell(widths[3], 7, clean(value), align="R", new_x="LMARGIN", new_y="NEXT")
    if invoice.note:
        document.ln()
        document.multi_cell(0, 6, clean(invoice.note))
    return bytes(document.output())


def _latin1(text: str) -> str:
    replaced = text.replace("\u2212", "-").replace("\u202f", " ").replace("\u20ac", "EUR")
    return replaced.encode("latin-1", "replace").decode("latin-1")
