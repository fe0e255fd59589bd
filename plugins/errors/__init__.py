"""Errors: error tracking the stock Sentry SDKs report to, and the runtime's own errors.

Envelopes are appended to a spool before the SDK hears 200 (`intake.py`, `inbox.py`);
the `digest` job turns them into events grouped into issues (`digest.py`, `grouping.py`);
people read and change issues through `/api/errors/` (`project_routes.py`,
`issue_routes.py`). New and regressed issues are announced on the bus (`events.py`).
"""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext, Subject, hookimpl
from mindframe.sdk.auth import declare_permissions

from . import capture, issue_routes, models, personal_data, project_routes, retention
from .access import PERMISSIONS
from .alerts import Alerts
from .demo_page import DEMO_PAGES
from .intake_routes import declare_intake
from .pages import PAGES
from .service import ErrorTracker
from .settings import ErrorsSettings

_running: dict[str, ErrorTracker] = {}
"""This runtime's tracker, for `capture_exception`, the one hook that gets no `ctx`."""


def tracker(ctx: PluginContext) -> ErrorTracker:
    return ctx.resolve(ErrorTracker)


@hookimpl
def settings_model() -> type[ErrorsSettings]:
    return ErrorsSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(ErrorTracker, ErrorTracker(ctx))
    ctx.provide(Alerts, Alerts(ctx, ctx.settings, ctx.settings.public_url))
    declare_permissions(ctx, PERMISSIONS)


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    service = tracker(ctx)
    declare_intake(ctx, service.intake, service.settings.max_envelope_bytes)  # lean endpoints
    return [*project_routes.ROUTES, *issue_routes.ROUTES]


@hookimpl
def register_pages(ctx: PluginContext) -> list[Any]:
    return [*PAGES, *DEMO_PAGES]  # /errors/: issues, an issue, an event; /errors/demo/


@hookimpl
def register_subscriptions(ctx: PluginContext) -> None:
    ctx.resolve(Alerts).subscribe()  # new and regressed issues become alerts (alerts.py)


@hookimpl
async def startup(ctx: PluginContext) -> None:
    service = tracker(ctx)
    await service.start()
    retention.start(ctx, service)
    ctx.resolve(Alerts).start()
    _running["tracker"] = service

    async def forget() -> None:
        if _running.get("tracker") is service:
            del _running["tracker"]

    ctx.on_unload(forget, "capture_exception target")


@hookimpl
async def capture_exception(error: BaseException, context: dict[str, Any]) -> None:
    service = _running.get("tracker")
    if service is not None and service.settings.capture_runtime_errors:
        await capture.report(service, error, context)


@hookimpl
async def health(ctx: PluginContext) -> dict[str, Any]:
    service = tracker(ctx)
    job = service.digest_job
    return {
        "ok": service.inbox.last_error is None and (job is None or job.last_error is None),
        "inbox_waiting_bytes": await service.digest.waiting_bytes(),
        "set_aside": await service.inbox.set_aside(),
        "accepted": service.inbox.accepted,
        "digested": service.digest.digested,
        "last_error": service.inbox.last_error or (job.last_error if job else None),
        **await ctx.resolve(Alerts).health(),
    }


@hookimpl
async def export_personal_data(ctx: PluginContext, subject: Subject) -> dict[str, Any]:
    return await personal_data.export(ctx, subject)


@hookimpl
async def erase_personal_data(ctx: PluginContext, subject: Subject) -> None:
    await personal_data.erase(ctx, subject)
