"""The pages under `/errors/`: issues with a trend chart, an issue, an event's stack trace.

They need `errors.read` (events hold personal data), read through the same functions as the
API (`reading.py`) and render server-side (`page_templates.py`); the charts are drawn by
`static/pages.js` with Chart.js, served from `/static/vendor/chart.js/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import File

from mindframe.sdk.http import MAX_ROW_ID, RowId
from mindframe.sdk.i18n import N_

from . import reading, stack_view
from .access import READ
from .alert_text import KINDS
from .alerts import Alerts
from .page_templates import render
from .service import ErrorTracker

STATIC = Path(__file__).parent / "static"
PAGE_SIZE = 50
STATES = {
    "unresolved": N_("Unresolved"),
    "resolved": N_("Resolved"),
    "ignored": N_("Ignored"),
}
DELIVERY_STATES = {
    "pending": N_("waiting"),
    "delivered": N_("delivered"),
    "failed": N_("given up"),
}
CHANNELS = {"mail": N_("mail"), "webhook": N_("webhook")}
NO_ISSUE = N_("There is no issue {issue_id}.")
NO_EVENT = N_("There is no event {event_id}.")
State = Literal["unresolved", "resolved", "ignored"]


def html(text: str, status: int = 200) -> Response[str]:
    return Response(text, media_type=MediaType.HTML, status_code=status)


def trend_data(points: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """A chart's data for `pages.js`: hours (unix seconds) and counts."""
    return {
        "label": label,
        "hours": [p["hour"] for p in points],
        "counts": [p["count"] for p in points],
    }


@get("/", guards=[READ], summary="Issues, with a trend chart", include_in_schema=False)
async def issues_page(
    request: Request,
    error_tracker: NamedDependency[ErrorTracker],
    project: Annotated[int | None, QueryParameter(ge=1, le=MAX_ROW_ID)] = None,
    state_filter: Annotated[State | Literal[""], QueryParameter(name="state")] = "unresolved",
    text: Annotated[str | None, QueryParameter(name="query", max_length=200)] = None,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> Response[str]:
    ctx = error_tracker.ctx

    def read(session: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        found = reading.list_issues(
            session,
            project_id=project,
            state=state_filter or None,
            text=text or None,
            limit=PAGE_SIZE + 1,
            offset=offset,
        )
        return found, reading.trend(session, project_id=project, days=7)

    found, trend = await ctx.transaction(read, read_only=True)
    projects = await error_tracker.projects.all()
    names = {p.id: p.name for p in projects}
    body = render(
        ctx,
        request,
        "issues.html",
        issues=found[:PAGE_SIZE],
        more=len(found) > PAGE_SIZE,
        offset=offset,
        page_size=PAGE_SIZE,
        projects=projects,
        project_names=names,
        project=project,
        state=state_filter,
        states=STATES,
        query=text or "",
        trend=trend_data(trend, ctx.gettext(N_("Events per hour"))),
        total=sum(p["count"] for p in trend),
    )
    return html(body)


@get("/issues/{issue_id:int}", guards=[READ], summary="An issue", include_in_schema=False)
async def issue_page(
    issue_id: FromPath[RowId],
    request: Request,
    error_tracker: NamedDependency[ErrorTracker],
    alerts: NamedDependency[Alerts],
) -> Response[str]:
    ctx = error_tracker.ctx

    def read(session: Any) -> tuple[Any, ...]:
        issue = reading.get_issue(session, issue_id)
        if issue is None:
            return None, [], []
        events = reading.issue_events(session, issue_id, limit=20)
        return issue, events, reading.trend(session, issue_id=issue_id, days=7)

    issue, events, trend = await ctx.transaction(read, read_only=True)
    if issue is None:
        raise NotFoundException(ctx.gettext(NO_ISSUE).format(issue_id=issue_id))
    project = await error_tracker.projects.get(issue["project_id"])
    latest = events[0] if events else None
    body = render(
        ctx,
        request,
        "issue.html",
        issue=issue,
        project_name=project.name if project else str(issue["project_id"]),
        states=STATES,
        events=events,
        event=latest,
        exceptions=stack_view.exceptions_of(latest["event"]) if latest else [],
        message=stack_view.message_of(latest["event"]) if latest else None,
        tags=stack_view.tags_of(latest["event"]) if latest else [],
        trend=trend_data(trend, ctx.gettext(N_("Events per hour"))),
        alerts=await alerts.history(issue_id),
        kinds=KINDS,
        delivery_states=DELIVERY_STATES,
        channels=CHANNELS,
    )
    return html(body)


@get("/events/{event_id:str}", guards=[READ], summary="An event", include_in_schema=False)
async def event_page(
    event_id: FromPath[str], request: Request, error_tracker: NamedDependency[ErrorTracker]
) -> Response[str]:
    ctx = error_tracker.ctx
    found = await ctx.transaction(reading.get_event, event_id[:64], read_only=True)
    if found is None:
        raise NotFoundException(ctx.gettext(NO_EVENT).format(event_id=event_id[:64]))
    body = render(
        ctx,
        request,
        "event.html",
        event=found,
        exceptions=stack_view.exceptions_of(found["event"]),
        message=stack_view.message_of(found["event"]),
        tags=stack_view.tags_of(found["event"]),
    )
    return html(body)


@get("/static/pages.js", summary="The pages' script (charts)", include_in_schema=False)
async def pages_script() -> File:
    return File(
        STATIC / "pages.js", content_disposition_type="inline", media_type="text/javascript"
    )


PAGES = [issues_page, issue_page, event_page, pages_script]
