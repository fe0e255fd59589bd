"""Billing: a ledger in our own tables, card payments through Stripe, Vipps MobilePay
payments, dunning and reconciliation. See README.md beside this file."""

from __future__ import annotations

from typing import Any

import click

from mindframe.sdk import PluginContext, Subject, hookimpl
from mindframe.sdk.auth import declare_permissions

from . import gdpr, ledger, models, routes, vipps_routes, webhook_endpoints
from .dunning import Dunning
from .dunning_mail import DunningMail
from .inbox import Inbox
from .invoice_mail import InvoiceMail
from .jobs import BillingJobs
from .notices import Notices
from .reconcile import reconcile
from .service import BillingService
from .settings import BillingSettings

PERMISSIONS = {
    "billing.manage": "Manage products, plans, customers, checkouts, captures and invoices",
    "billing.refund": "Refund payments",
}


@hookimpl
def settings_model() -> type[BillingSettings]:
    return BillingSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    service = BillingService(ctx)
    ctx.provide(BillingService, service)
    ctx.provide(Inbox, Inbox(ctx))
    ctx.provide(Notices, Notices(ctx))
    ctx.on_unload(service.vipps.close, "vipps client")
    declare_permissions(ctx, PERMISSIONS)


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    webhook_endpoints.declare(ctx)
    return [*routes.build(ctx), *vipps_routes.build(ctx)]


@hookimpl
def register_cli(group: click.Group) -> None:
    from .cli import billing

    group.add_command(billing)


@hookimpl
async def startup(ctx: PluginContext) -> None:
    settings: BillingSettings = ctx.settings
    service = ctx.resolve(BillingService)
    inbox = ctx.resolve(Inbox)
    dunning = Dunning(ctx, service, ctx.resolve(Notices))
    invoice_mail = InvoiceMail(ctx, ctx.resolve(Notices))
    dunning_mail = DunningMail(ctx, ctx.resolve(Notices))
    jobs = BillingJobs(invoice_mail=invoice_mail)

    async def reconcile_now() -> None:
        found = await reconcile(service)
        jobs.differences = len(found)
        for difference in found:
            ctx.log.warning("billing: reconciliation: %s", difference.as_dict())

    async def mail() -> None:
        await invoice_mail.run()
        await dunning_mail.run()

    async def retention() -> None:
        await ctx.transaction(gdpr.expire, ledger.now(), settings.retention_years)

    jobs.jobs = {
        "apply": ctx.singleton("apply", inbox.apply_pending, every=settings.apply_interval),
        "mail": ctx.singleton("mail", mail, every=settings.apply_interval),
        "dunning": ctx.singleton("dunning", dunning.run, every=settings.dunning_interval),
        "renewals": ctx.singleton(
            "renewals", service.recurring.run, every=settings.dunning_interval
        ),
        "reconcile": ctx.singleton("reconcile", reconcile_now, every=settings.reconcile_interval),
        "retention": ctx.singleton("retention", retention, every=86400.0),
    }
    ctx.provide(BillingJobs, jobs)


@hookimpl
async def health(ctx: PluginContext) -> dict[str, Any]:
    inbox = ctx.resolve(Inbox)
    pending = await inbox.depth()
    jobs = ctx.resolve(BillingJobs)
    unmailed = await jobs.invoice_mail.depth() if jobs.invoice_mail else 0
    return {
        "ok": pending == 0 or inbox.last_error is None,
        "webhooks_pending": pending,
        "invoices_unmailed": unmailed,
        "last_error": inbox.last_error,
        "reconciliation_differences": jobs.differences,
        "jobs": {name: job.last_error for name, job in jobs.jobs.items() if job.last_error},
    }


@hookimpl
async def export_personal_data(ctx: PluginContext, subject: Subject) -> dict[str, Any]:
    return await ctx.transaction(gdpr.export, subject, read_only=True)


@hookimpl
async def erase_personal_data(ctx: PluginContext, subject: Subject) -> None:
    await ctx.transaction(gdpr.erase, subject)
