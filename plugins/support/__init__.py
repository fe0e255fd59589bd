"""Support: tickets on the chat plugin's conversations and on e-mail, with SLA timers,
auto-assignment by presence, teams, canned responses in seven languages and CSAT.

Every conversation becomes a ticket (`subscriptions.py`); mail received by the mail plugin
opens or continues one and agents' replies go back by mail (`email_channel.py`). Three
singleton jobs: `assignment` (`auto_assign.py`), `sla` (`sla_job.py`) and `catch_up`, which
handles the chat messages this plugin did not hear (`chat_messages.py`).
Agents work through `/api/support/` and the console under `/support/`.
"""

from __future__ import annotations

from typing import Any

from litestar import Router

from mindframe.sdk import PluginContext, Subject, hookimpl
from mindframe.sdk.auth import IDENTITY, declare_permissions

from . import (
    canned_routes,
    csat_routes,
    models,
    pages,
    personal_data,
    stats_routes,
    subscriptions,
    team_routes,
    ticket_routes,
    tickets,
)
from .access import PERMISSIONS
from .auto_assign import AutoAssigner
from .chat_messages import ChatMessages
from .csat import Csat
from .email_channel import EmailChannel
from .ranking import provide_default
from .replies import Replies
from .service import SupportService
from .settings import SupportSettings
from .sla_job import SlaWatch


def support(ctx: PluginContext) -> SupportService:
    return ctx.resolve(SupportService)


@hookimpl
def settings_model() -> type[SupportSettings]:
    return SupportSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    service = SupportService(ctx)
    ctx.provide(SupportService, service)
    ctx.provide(Replies, Replies(service), name="support_replies")
    ctx.provide(Csat, Csat(service), name="support_csat")
    ctx.provide(AutoAssigner, AutoAssigner(service), name="support_assigner")
    messages = ChatMessages(service, EmailChannel(service))
    ctx.provide(ChatMessages, messages, name="support_chat_messages")
    provide_default(ctx)
    declare_permissions(ctx, PERMISSIONS)


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_subscriptions(ctx: PluginContext) -> None:
    service = support(ctx)
    assigner = ctx.resolve(AutoAssigner, "support_assigner")
    messages = ctx.resolve(ChatMessages, "support_chat_messages")
    subscriptions.subscribe(ctx, service, assigner, messages.mail, messages)


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    handlers = [
        *ticket_routes.ROUTES,
        *canned_routes.ROUTES,
        *team_routes.ROUTES,
        *stats_routes.ROUTES,
        *csat_routes.ROUTES,
    ]
    return [Router("/", route_handlers=handlers, dependencies={"identity": IDENTITY})]


@hookimpl
def register_pages(ctx: PluginContext) -> list[Any]:
    return [Router("/", route_handlers=pages.page_handlers(), dependencies={"identity": IDENTITY})]


@hookimpl
async def startup(ctx: PluginContext) -> None:
    service = support(ctx)
    service.on_resolved.append(ctx.resolve(Csat, "support_csat").ask)
    assigner = ctx.resolve(AutoAssigner, "support_assigner")
    settings: SupportSettings = ctx.settings
    service.assignment_job = ctx.singleton(
        "assignment", assigner.run, every=settings.assignment_interval
    )
    service.sla_job = ctx.singleton("sla", SlaWatch(service).run, every=settings.sla_interval)
    messages = ctx.resolve(ChatMessages, "support_chat_messages")
    service.catch_up_job = ctx.singleton(
        "catch_up", messages.catch_up, every=settings.catch_up_interval
    )


@hookimpl
async def health(ctx: PluginContext) -> dict[str, Any]:
    service = support(ctx)
    figures = await ctx.transaction(tickets.queue_figures, read_only=True)
    errors = {
        job.name: job.last_error
        for job in (service.assignment_job, service.sla_job, service.catch_up_job)
        if job is not None and job.last_error
    }
    return {"ok": not errors, **figures, **({"job_errors": errors} if errors else {})}


@hookimpl
async def export_personal_data(ctx: PluginContext, subject: Subject) -> dict[str, Any]:
    return await ctx.transaction(personal_data.export, subject, read_only=True)


@hookimpl
async def erase_personal_data(ctx: PluginContext, subject: Subject) -> None:
    await ctx.transaction(personal_data.erase, subject)
