"""Dunning: a failed renewal is retried on the DunningPolicy's schedule, the customer is
mailed in their locale each time, and billing gives up when the policy says so."""

from datetime import UTC, datetime, timedelta

import pytest
from billing_testlib import (
    active_subscription,
    billing_job,
    eventually,
    run_job,
    running_billing,
    table_rows,
)
from sqlalchemy import text

from mindframe.sdk.billing import FailedRenewal, ScheduledDunning

pytestmark = pytest.mark.anyio


def dunning_job(billing):
    return billing_job(billing, "dunning")


async def test_the_default_schedule_retries_after_3_5_and_7_days_then_gives_up():
    policy = ScheduledDunning()
    failed_at = datetime(2026, 11, 1, tzinfo=UTC)
    steps = [
        await policy.next_step(FailedRenewal("s", "i", attempt, failed_at, 100, "NOK", "NO"))
        for attempt in (1, 2, 3, 4)
    ]
    assert [s.retry_at for s in steps] == [
        failed_at + timedelta(days=3),
        failed_at + timedelta(days=5),
        failed_at + timedelta(days=7),
        None,
    ]


async def test_a_failed_renewal_mails_the_customer_in_their_locale_and_retries(billing):
    customer, subscription = await active_subscription(billing)
    billing.stripe.renew(subscription, succeed=False)
    await billing.stripe.settled()
    [_, invoice] = sorted(await table_rows(billing, "invoices"), key=lambda i: i["number"])
    assert (invoice["status"], invoice["dunning_attempts"]) == ("open", 1)
    [row] = await table_rows(billing, "subscriptions")
    assert row["status"] == "past_due"
    job = dunning_job(billing)
    await run_job(job)
    mail = await eventually(lambda: _mails(billing, 1))
    assert mail[0]["To"] == "ola@example.no"
    assert "ikke" in str(mail[0]["Subject"]) and "INV-000002" in str(mail[0]["Subject"])
    assert "250,00" in mail[0].get_content()  # Babel's Norwegian currency format
    [invoice] = [i for i in await table_rows(billing, "invoices") if i["id"] == invoice["id"]]
    assert invoice["next_retry_at"] is not None and invoice["dunning_decided"] == 1
    await run_job(job)  # nothing new to decide: no second mail
    assert len(_dunning_mails(billing)) == 1
    await _make_due(billing, invoice["id"])
    await run_job(job)  # the retry: Stripe collects this time
    await billing.stripe.settled()
    [invoice] = [i for i in await table_rows(billing, "invoices") if i["id"] == invoice["id"]]
    assert invoice["status"] == "paid"
    [row] = await table_rows(billing, "subscriptions")
    assert row["status"] == "active"
    assert (await billing.customer_balance(customer["id"])) == {"NOK": 0}


async def test_when_the_policy_gives_up_the_invoice_is_uncollectible_and_the_subscription_ends(
    boot_kernel, plugin_factory
):
    plugin_factory.make("impatient", IMPATIENT_POLICY, requires=["billing"])
    async with running_billing(boot_kernel, plugins=("impatient",)) as billing:
        _customer, subscription = await active_subscription(billing, locale="de")
        billing.stripe.renew(subscription, succeed=False)
        await billing.stripe.settled()
        await run_job(dunning_job(billing))
        await billing.stripe.settled()
        mail = await eventually(lambda: _mails(billing, 1))
        assert "gekündigt" in mail[0].get_content()
        invoices = {i["status"] for i in await table_rows(billing, "invoices")}
        assert invoices == {"paid", "uncollectible"}
        [row] = await table_rows(billing, "subscriptions")
        assert row["status"] == "cancelled"
        assert billing.stripe.objects[subscription]["status"] == "canceled"


IMPATIENT_POLICY = """
from mindframe.sdk import hookimpl
from mindframe.sdk.billing import DunningPolicy, DunningStep


class GiveUpAtOnce(DunningPolicy):
    async def next_step(self, failure):
        return DunningStep(retry_at=None)


@hookimpl
def register_services(ctx):
    ctx.provide(DunningPolicy, GiveUpAtOnce())
"""


async def _mails(billing, count):
    dunned = _dunning_mails(billing)
    return dunned if len(dunned) >= count else None


def _dunning_mails(billing):
    """The mails without a PDF: the subscription's invoices are mailed too (with theirs)."""
    return [m for m in billing.sink.received if not any(m.iter_attachments())]


async def _make_due(billing, invoice_id):
    from mindframe_plugins.billing.models import invoices
    from mindframe_plugins.billing.service import BillingService
    from sqlalchemy import update

    def due(session):
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(
            update(invoices).where(invoices.c.id == invoice_id).values(next_retry_at=past)
        )

    await billing.kernel.runtime.container.resolve(BillingService).transaction(due)


async def test_a_dunning_step_decided_twice_and_handed_over_twice_mails_once(billing):
    """Two deciders of the same failure (a redelivery, or a crash between the decision and
    the mail) and a handover whose mark was lost: the customer gets one mail."""
    from mindframe_plugins.billing.dunning import Dunning, _undecided
    from mindframe_plugins.billing.notices import Notices
    from mindframe_plugins.billing.service import BillingService

    _customer, subscription = await active_subscription(billing)
    billing.stripe.renew(subscription, succeed=False)
    await billing.stripe.settled()
    container = billing.kernel.runtime.container
    service = container.resolve(BillingService)
    dunning = Dunning(service._ctx, service, container.resolve(Notices))
    [failure] = await service.transaction(_undecided)
    await dunning._decide(failure)
    await dunning._decide(failure)  # the same step again, read before the first committed
    await run_job(billing_job(billing, "mail"))
    await eventually(lambda: _mails(billing, 1))
    await eventually(lambda: _mail_settled(service))
    assert len(_dunning_mails(billing)) == 1

    await service.transaction(_forget_handover)  # as if we crashed before marking it
    await run_job(billing_job(billing, "mail"))
    await eventually(lambda: _mail_settled(service, handed=True))
    assert len(_dunning_mails(billing)) == 1


def _forget_handover(session):
    session.execute(text("UPDATE billing_dunning_mail SET handed_at = NULL"))


async def _mail_settled(service, handed=False):
    """The mail plugin has sent all it queued (and billing handed every dunning mail)."""

    def settled(session):
        unsent = session.execute(text("SELECT count(*) FROM mail_outbox WHERE state != 'sent'"))
        if unsent.scalar_one():
            return False
        if not handed:
            return True
        waiting = "SELECT count(*) FROM billing_dunning_mail WHERE handed_at IS NULL"
        return session.execute(text(waiting)).scalar_one() == 0

    return await service.transaction(settled)
