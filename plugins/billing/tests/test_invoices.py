"""Invoices: numbers without gaps under concurrent finalisation (SQLite and PostgreSQL),
rendered in the customer's locale, mailed as HTML with the PDF attached, booked in an
append-only journal."""

import asyncio
import re
import time

import pytest
from billing_testlib import eventually, running_billing, table_rows

pytestmark = pytest.mark.anyio

CONCURRENT = 50


async def drafts(billing, count):
    from mindframe_plugins.billing.invoices import Line
    from mindframe_plugins.billing.service import BillingService

    service = billing.kernel.runtime.container.resolve(BillingService)
    customer = await billing.customer(email=None)
    made = []
    for n in range(count):
        draft = await service.draft_invoice(customer["id"], [Line(f"Line {n}", 1, 1000 + n)])
        made.append(draft["id"])
    return service, made


async def finalise_concurrently(billing):
    service, ids = await drafts(billing, CONCURRENT)
    # one of them twice: the second attempt fails and must not burn a number
    outcomes = await asyncio.gather(
        *(service.finalise_invoice(i) for i in [*ids, ids[0]]), return_exceptions=True
    )
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert len(failures) == 1 and type(failures[0]).__name__ == "Conflict", failures
    numbers = sorted(row["number"] for row in await table_rows(billing, "invoices"))
    assert numbers == [f"INV-{n:06d}" for n in range(1, CONCURRENT + 1)]
    journal = await billing.journal()
    assert len(journal) == CONCURRENT and {e["kind"] for e in journal} == {"invoice"}


async def test_fifty_concurrent_finalisations_get_numbers_without_gaps(billing):
    await finalise_concurrently(billing)


@pytest.mark.postgres
async def test_fifty_concurrent_finalisations_get_numbers_without_gaps_on_postgresql(
    boot_kernel, postgres_url
):
    async with running_billing(boot_kernel, boot_options={"database_url": postgres_url}) as billing:
        assert billing.kernel.runtime.database.url.get_backend_name() == "postgresql"
        await finalise_concurrently(billing)


async def test_an_invoice_is_mailed_in_the_customers_locale_as_html_with_its_pdf_attached(
    billing,
):
    customer = await billing.customer(
        locale="sv", country="SE", currency="SEK", email="anna@example.se", name="Anna Andersson"
    )
    draft = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/invoices",
        json={"lines": [{"description": "Licenser", "unit_amount": 123450, "quantity": 2}]},
    )
    finalised = await billing.operator.post(f"/api/billing/invoices/{draft.json()['id']}/finalise")
    assert finalised.status_code == 200, finalised.text
    assert finalised.json()["number"] == "INV-000001"
    await eventually(lambda: _received(billing))
    mailed_at = time.time()  # its PDF was rendered before this
    [mail] = billing.sink.received
    assert str(mail["Subject"]) == "Faktura INV-000001 från Mindframe AS"
    html = mail.get_body(("html",)).get_content()
    assert "Förfallodatum" in html and "3\xa0086,25\xa0kr" in html  # 2 469,00 + 25 % moms
    text = mail.get_body(("plain",)).get_content()
    assert re.search(r"förfaller \d+\s\w+\.?\s20\d\d\.\s+Fakturan bifogas som PDF\.", text), text
    [attachment] = mail.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "INV-000001.pdf"
    while int(time.time()) == int(mailed_at):  # the clock's second has moved on
        await asyncio.sleep(0.05)
    pdf = await billing.operator.get(f"/api/billing/invoices/{draft.json()['id']}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert attachment.get_payload(decode=True) == pdf.content  # the invoice's own PDF


async def _received(billing):
    return billing.sink.received


async def test_the_journal_refuses_updates_and_deletes(billing):
    from mindframe_plugins.billing.models import journal
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DatabaseError

    service, ids = await drafts(billing, 1)
    await service.finalise_invoice(ids[0])
    for statement in (update(journal).values(amount=0), delete(journal)):
        with pytest.raises(DatabaseError, match="append-only"):
            await service.transaction(lambda session, s=statement: session.execute(s))
    assert [e["amount"] for e in await billing.journal()] == [1250]
