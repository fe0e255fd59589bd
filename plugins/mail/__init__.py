"""Mail: a durable outbox sent through SMTP, Jinja2 templates, an optional inbound mailbox."""

from __future__ import annotations

from typing import Any, cast

from mindframe.sdk import PluginContext, Subject, hookimpl
from mindframe.sdk.auth import declare_permissions
from mindframe.sdk.mail import Mailer

from . import inbound, models, routes, smtp
from .errors import MailError
from .events import SendMail
from .service import MailService
from .settings import MailSettings

PERMISSIONS = {
    "mail.send": "Send mail through POST /api/mail/messages",
    "mail.read": "See queued, sent and failed mail and its SMTP replies",
}


def mail_service(ctx: PluginContext) -> MailService:
    """The `Mailer` this plugin provided, with its outbox and sender."""
    return cast(MailService, ctx.resolve(Mailer))


@hookimpl
def settings_model() -> type[MailSettings]:
    return MailSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(Mailer, MailService(ctx))
    declare_permissions(ctx, PERMISSIONS)


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_subscriptions(ctx: PluginContext) -> None:
    async def send_on_request(event: SendMail) -> None:
        request = {f: getattr(event, f) for f in event.__struct_fields__}
        try:
            await ctx.resolve(Mailer).send(**request)
        except MailError as error:  # bad input is not worth a retry
            ctx.log.warning("mail.send refused: %s", error)

    ctx.subscribe(SendMail.topic, send_on_request)


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [routes.sending(ctx.settings), routes.show_message, routes.list_messages]


@hookimpl
async def startup(ctx: PluginContext) -> None:
    ctx.spawn(mail_service(ctx).dispatcher.run, name="mail sender")
    settings: MailSettings = ctx.settings
    if settings.inbound_port:
        await inbound.listen(ctx, settings)


@hookimpl
async def shutdown(ctx: PluginContext) -> None:
    await mail_service(ctx).dispatcher.stop()


@hookimpl
async def health(ctx: PluginContext) -> dict[str, Any]:
    service = mail_service(ctx)
    depth, oldest = await service.outbox.depth()
    reachable = await smtp.reachable(service.settings)
    return {
        # unhealthy when mail is waiting and cannot go out; an unconfigured server with an
        # empty outbox is shown (`smtp_reachable`) but degrades nothing
        "ok": reachable is True or depth == 0,
        "outbox_depth": depth,
        "oldest_queued_seconds": round(oldest, 1) if oldest is not None else None,
        "smtp_reachable": reachable,
    }


@hookimpl
async def export_personal_data(ctx: PluginContext, subject: Subject) -> dict[str, Any]:
    service = mail_service(ctx)
    return await service.personal_data(subject)


@hookimpl
async def erase_personal_data(ctx: PluginContext, subject: Subject) -> None:
    await mail_service(ctx).erase_personal_data(subject)
