"""HTTP for people: issues, their events and trends, and state changes, under `/api/errors/`.

Reading needs `errors.read` (or `errors.manage`); resolving, ignoring, unresolving and
merging need `errors.manage`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody, QueryParameter

from mindframe.sdk.http import MAX_ROW_ID, RowId
from mindframe.sdk.i18n import N_

from . import issue_states, reading
from .access import MANAGE, READ
from .service import ErrorTracker

NO_ISSUE = N_("there is no issue {issue_id}")
NO_EVENT = N_("there is no event {event_id}")
NOTHING_MERGED = N_("none of {issues} is another issue of the same project as issue {issue_id}")

State = Literal["unresolved", "resolved", "ignored"]
Limit = Annotated[int, QueryParameter(ge=1, le=500)]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_ROW_ID)]
Days = Annotated[int, QueryParameter(ge=1, le=90)]


class Merge(msgspec.Struct, forbid_unknown_fields=True):
    issues: Annotated[list[int], msgspec.Meta(min_length=1)]


def missing(tracker: ErrorTracker, template: str, **params: Any) -> HTTPException:
    detail = tracker.ctx.gettext(template).format(**params)
    return HTTPException(status_code=404, detail=detail, extra=params)


async def found_issue(tracker: ErrorTracker, issue_id: int) -> dict[str, Any]:
    issue = await tracker.ctx.transaction(reading.get_issue, issue_id, read_only=True)
    if issue is None:
        raise missing(tracker, NO_ISSUE, issue_id=issue_id)
    return issue


@get("/issues", guards=[READ], summary="Issues, each with its event count; filter and sort")
async def list_issues(
    error_tracker: NamedDependency[ErrorTracker],
    project: Annotated[int | None, QueryParameter(ge=1, le=MAX_ROW_ID)] = None,
    state_filter: Annotated[State | None, QueryParameter(name="state")] = None,
    release: Annotated[str | None, QueryParameter()] = None,
    environment: Annotated[str | None, QueryParameter()] = None,
    text: Annotated[
        str | None, QueryParameter(name="query", description="text in title or culprit")
    ] = None,
    sort: Annotated[reading.Sort, QueryParameter()] = "last_seen",
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    def read(session: Any) -> list[dict[str, Any]]:
        return reading.list_issues(
            session,
            project_id=project,
            state=state_filter,
            release=release,
            environment=environment,
            text=text,
            sort=sort,
            limit=limit,
            offset=offset,
        )

    return await error_tracker.ctx.transaction(read, read_only=True)


@get("/issues/top", guards=[READ], summary="The issues with the most events lately")
async def top_issues(
    error_tracker: NamedDependency[ErrorTracker],
    project: Annotated[int | None, QueryParameter(ge=1, le=MAX_ROW_ID)] = None,
    days: Days = 7,
    limit: Limit = 10,
) -> list[dict[str, Any]]:
    def read(session: Any) -> list[dict[str, Any]]:
        return reading.top_issues(session, project_id=project, days=days, limit=limit)

    return await error_tracker.ctx.transaction(read, read_only=True)


@get("/issues/{issue_id:int}", guards=[READ], summary="An issue, with releases and environments")
async def show_issue(
    issue_id: FromPath[RowId], error_tracker: NamedDependency[ErrorTracker]
) -> dict[str, Any]:
    return await found_issue(error_tracker, issue_id)


@get(
    "/issues/{issue_id:int}/events",
    guards=[READ],
    summary="An issue's events, newest first, in full (stack, breadcrumbs, tags, user, request)",
)
async def list_events(
    issue_id: FromPath[RowId],
    error_tracker: NamedDependency[ErrorTracker],
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    await found_issue(error_tracker, issue_id)

    def read(session: Any) -> list[dict[str, Any]]:
        return reading.issue_events(session, issue_id, limit=limit, offset=offset)

    return await error_tracker.ctx.transaction(read, read_only=True)


@get("/events/{event_id:str}", guards=[READ], summary="One event, in full")
async def show_event(
    event_id: FromPath[str], error_tracker: NamedDependency[ErrorTracker]
) -> dict[str, Any]:
    event = await error_tracker.ctx.transaction(reading.get_event, event_id, read_only=True)
    if event is None:
        raise missing(error_tracker, NO_EVENT, event_id=event_id)
    return event


@get("/issues/{issue_id:int}/trend", guards=[READ], summary="An issue's events per hour")
async def issue_trend(
    issue_id: FromPath[RowId], error_tracker: NamedDependency[ErrorTracker], days: Days = 7
) -> list[dict[str, Any]]:
    await found_issue(error_tracker, issue_id)

    def read(session: Any) -> list[dict[str, Any]]:
        return reading.trend(session, issue_id=issue_id, days=days)

    return await error_tracker.ctx.transaction(read, read_only=True)


@get("/projects/{project_id:int}/trend", guards=[READ], summary="A project's events per hour")
async def project_trend(
    project_id: FromPath[RowId], error_tracker: NamedDependency[ErrorTracker], days: Days = 7
) -> list[dict[str, Any]]:
    def read(session: Any) -> list[dict[str, Any]]:
        return reading.trend(session, project_id=project_id, days=days)

    return await error_tracker.ctx.transaction(read, read_only=True)


async def change_state(
    tracker: ErrorTracker, issue_id: int, state: str, in_release: str | None = None
) -> dict[str, Any]:
    if not await tracker.ctx.transaction(issue_states.set_state, issue_id, state, in_release):
        raise missing(tracker, NO_ISSUE, issue_id=issue_id)
    return await found_issue(tracker, issue_id)


@post(
    "/issues/{issue_id:int}/resolve",
    status_code=200,
    guards=[MANAGE],
    summary="Resolve (in ?in_release=, else its last release); a later release reopens it",
)
async def resolve_issue(
    issue_id: FromPath[RowId],
    error_tracker: NamedDependency[ErrorTracker],
    in_release: Annotated[str | None, QueryParameter()] = None,
) -> dict[str, Any]:
    return await change_state(error_tracker, issue_id, "resolved", in_release)


@post("/issues/{issue_id:int}/ignore", status_code=200, guards=[MANAGE], summary="Ignore")
async def ignore_issue(
    issue_id: FromPath[RowId], error_tracker: NamedDependency[ErrorTracker]
) -> dict[str, Any]:
    return await change_state(error_tracker, issue_id, "ignored")


@post("/issues/{issue_id:int}/unresolve", status_code=200, guards=[MANAGE], summary="Reopen")
async def unresolve_issue(
    issue_id: FromPath[RowId], error_tracker: NamedDependency[ErrorTracker]
) -> dict[str, Any]:
    return await change_state(error_tracker, issue_id, "unresolved")


@post(
    "/issues/{issue_id:int}/merge",
    status_code=200,
    guards=[MANAGE],
    summary="Merge other issues into this one; their later events come here too",
)
async def merge_issues(
    issue_id: FromPath[RowId], data: JSONBody[Merge], error_tracker: NamedDependency[ErrorTracker]
) -> dict[str, Any]:
    await found_issue(error_tracker, issue_id)
    merged = await error_tracker.ctx.transaction(issue_states.merge, issue_id, data.issues)
    if not merged:
        detail = error_tracker.ctx.gettext(NOTHING_MERGED).format(
            issues=data.issues, issue_id=issue_id
        )
        raise HTTPException(status_code=422, detail=detail, extra={"issues": data.issues})
    return {**await found_issue(error_tracker, issue_id), "merged": merged}


ROUTES = [
    list_issues,
    top_issues,
    show_issue,
    list_events,
    show_event,
    issue_trend,
    project_trend,
    resolve_issue,
    ignore_issue,
    unresolve_issue,
    merge_issues,
]
