"""Retention: events older than the project's `retention_days`, and beyond its newest
`max_events`, are deleted in the background (the singleton job `retention`); issues not
seen within the retention period go with their buckets, users and releases.

Deletes run in chunks of `CHUNK` rows, each its own short transaction, so the intake and
the digest are never held up for long.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext

from .models import events, fingerprints, issue_facets, issue_hours, issue_users, issues

if TYPE_CHECKING:
    from .service import ErrorTracker

CHUNK = 2000
DAY = 86400.0


def start(ctx: PluginContext, tracker: ErrorTracker) -> None:
    async def run() -> None:
        await apply(tracker)

    ctx.singleton("retention", run, every=tracker.settings.retention_interval)


async def apply(tracker: ErrorTracker, now: float | None = None) -> int:
    """One pass over every project; returns the events deleted."""
    settings = tracker.settings
    now = time.time() if now is None else now
    deleted = 0
    for project in await tracker.projects.all():
        days = project.retention_days or settings.retention_days
        keep = project.max_events or settings.max_events
        cutoff = now - days * DAY
        while True:
            removed = await tracker.ctx.transaction(_delete_old, project.id, cutoff, keep)
            deleted += removed
            if removed < CHUNK:
                break
        await tracker.ctx.transaction(_delete_stale_issues, project.id, cutoff)
    return deleted


def _delete_old(session: Session, project_id: int, cutoff: float, keep: int) -> int:
    """Up to CHUNK events of the project that are too old or beyond the newest `keep`."""
    newest_kept = (
        select(events.c.id)
        .where(events.c.project_id == project_id)
        .order_by(events.c.id.desc())
        .offset(keep - 1)
        .limit(1)
    ).scalar_subquery()
    boundary = session.execute(select(newest_kept)).scalar()
    condition = events.c.received_at < cutoff
    if boundary is not None:
        condition = condition | (events.c.id < boundary)
    ids = (
        session.execute(
            select(events.c.id).where(events.c.project_id == project_id, condition).limit(CHUNK)
        )
        .scalars()
        .all()
    )
    if ids:
        session.execute(delete(events).where(events.c.id.in_(ids)))
    return len(ids)


def _delete_stale_issues(session: Session, project_id: int, cutoff: float) -> None:
    stale = (
        session.execute(
            select(issues.c.id).where(
                issues.c.project_id == project_id, issues.c.last_seen < cutoff
            )
        )
        .scalars()
        .all()
    )
    for start in range(0, len(stale), CHUNK):
        ids = stale[start : start + CHUNK]
        for table in (issue_hours, issue_users, issue_facets):
            session.execute(delete(table).where(table.c.issue_id.in_(ids)))
        session.execute(delete(fingerprints).where(fingerprints.c.issue_id.in_(ids)))
        session.execute(delete(events).where(events.c.issue_id.in_(ids)))
        session.execute(delete(issues).where(issues.c.id.in_(ids)))
