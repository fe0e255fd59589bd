"""What the API and the pages read: issues (filtered, sorted), an issue's events in full,
hourly trends per issue and per project, the top issues of a period.

Every function is a unit of work for `ctx.transaction(fn, …)`: plain SQLAlchemy on a
`Session`, so the pages can call the same ones.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from .models import events, issue_facets, issue_hours, issues
from .normalize import stored_event

Sort = Literal["last_seen", "count", "users", "first_seen"]
SORTS = {
    "last_seen": issues.c.last_seen.desc(),
    "count": issues.c.count.desc(),
    "users": issues.c.users.desc(),
    "first_seen": issues.c.first_seen.desc(),
}
HOUR = 3600


def issue_row(row: Any) -> dict[str, Any]:
    return dict(row)


def list_issues(
    session: Session,
    *,
    project_id: int | None = None,
    state: str | None = None,
    release: str | None = None,
    environment: str | None = None,
    text: str | None = None,
    sort: Sort = "last_seen",
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    query = select(issues)
    if project_id is not None:
        query = query.where(issues.c.project_id == project_id)
    if state:
        query = query.where(issues.c.state == state)
    for kind, value in (("release", release), ("environment", environment)):
        if value:
            query = query.where(
                issues.c.id.in_(
                    select(issue_facets.c.issue_id).where(
                        issue_facets.c.kind == kind, issue_facets.c.value == value
                    )
                )
            )
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(
            or_(
                func.lower(issues.c.title).like(pattern),
                func.lower(func.coalesce(issues.c.culprit, "")).like(pattern),
                cast(issues.c.id, String) == text,
            )
        )
    query = query.order_by(SORTS[sort], issues.c.id.desc()).limit(limit).offset(offset)
    return [issue_row(row) for row in session.execute(query).mappings()]


def get_issue(session: Session, issue_id: int) -> dict[str, Any] | None:
    row = session.execute(select(issues).where(issues.c.id == issue_id)).mappings().first()
    if row is None:
        return None
    found = issue_row(row)
    facets = session.execute(
        select(issue_facets.c.kind, issue_facets.c.value)
        .where(issue_facets.c.issue_id == issue_id)
        .order_by(issue_facets.c.kind, issue_facets.c.value)
    ).all()
    found["releases"] = [value for kind, value in facets if kind == "release"]
    found["environments"] = [value for kind, value in facets if kind == "environment"]
    return found


def event_row(row: Any) -> dict[str, Any]:
    """An event as the API shows it: its columns and the whole event as sent (frames with
    context lines and locals, breadcrumbs, tags, user, request, contexts)."""
    found = {k: v for k, v in row.items() if k != "data"}
    found["event"] = stored_event(row["data"])
    return found


def issue_events(
    session: Session, issue_id: int, *, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(events)
        .where(events.c.issue_id == issue_id)
        .order_by(events.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    return [event_row(row) for row in rows]


def get_event(session: Session, event_id: str) -> dict[str, Any] | None:
    row = (
        session.execute(select(events).where(events.c.event_id == event_id.replace("-", "")))
        .mappings()
        .first()
    )
    return event_row(row) if row else None


def trend(
    session: Session,
    *,
    issue_id: int | None = None,
    project_id: int | None = None,
    days: int = 7,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """Events per hour over the last `days`, oldest first, hours without events as 0."""
    last = int((time.time() if now is None else now) // HOUR)
    first = last - days * 24 + 1
    condition = and_(issue_hours.c.hour >= first, issue_hours.c.hour <= last)
    if issue_id is not None:
        condition = and_(condition, issue_hours.c.issue_id == issue_id)
    if project_id is not None:
        condition = and_(condition, issue_hours.c.project_id == project_id)
    counts = dict(
        session.execute(
            select(issue_hours.c.hour, func.sum(issue_hours.c.count))
            .where(condition)
            .group_by(issue_hours.c.hour)
        ).all()
    )
    return [
        {"hour": hour * HOUR, "count": int(counts.get(hour, 0))} for hour in range(first, last + 1)
    ]


def top_issues(
    session: Session,
    *,
    project_id: int | None = None,
    days: int = 7,
    limit: int = 10,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """The issues with the most events in the last `days`, each with that number."""
    first = int((time.time() if now is None else now) // HOUR) - days * 24 + 1
    recent = (
        select(issue_hours.c.issue_id, func.sum(issue_hours.c.count).label("recent"))
        .where(issue_hours.c.hour >= first)
        .group_by(issue_hours.c.issue_id)
    )
    if project_id is not None:
        recent = recent.where(issue_hours.c.project_id == project_id)
    recent_sub = recent.subquery()
    rows = session.execute(
        select(issues, recent_sub.c.recent)
        .join(recent_sub, recent_sub.c.issue_id == issues.c.id)
        .order_by(recent_sub.c.recent.desc(), issues.c.id)
        .limit(limit)
    ).mappings()
    return [
        {**issue_row({k: v for k, v in row.items() if k != "recent"}), "recent": int(row["recent"])}
        for row in rows
    ]
