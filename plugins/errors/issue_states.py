"""Changing issues by hand: resolve (optionally in a release), ignore, unresolve, merge.

A resolved issue is reopened by the digest as a regression when an event of a later
release arrives (`releases.is_later`); an ignored one keeps counting but stays ignored.
A merge moves the other issues' events, counts, buckets, users and releases into one and
points their group hashes at it, so later events of either group land in the merged issue.
Every change bumps `errors_generation`, so the digest drops what it had cached.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .digest_store import recount_users
from .generation import bump_generation
from .models import events, fingerprints, issue_facets, issue_hours, issue_users, issues

STATES = ("unresolved", "resolved", "ignored")


def set_state(session: Session, issue_id: int, state: str, in_release: str | None = None) -> bool:
    """Whether the issue exists (and now has `state`)."""
    values: dict[str, Any] = {"state": state, "regressed": False}
    if state == "resolved":
        values["resolved_at"] = time.time()
        values["resolved_in"] = (
            in_release
            or session.execute(
                select(issues.c.last_release).where(issues.c.id == issue_id)
            ).scalar()
        )
    else:
        values["resolved_at"] = values["resolved_in"] = None
    changed = session.execute(update(issues).where(issues.c.id == issue_id).values(values))
    bump_generation(session)
    return bool(changed.rowcount)


def merge(session: Session, into: int, others: list[int]) -> list[int]:
    """Merge `others` into `into` (same project only); returns the ids merged."""
    target = session.execute(select(issues).where(issues.c.id == into)).mappings().first()
    if target is None:
        return []
    sources = [
        dict(row)
        for row in session.execute(
            select(issues).where(
                issues.c.id.in_([o for o in others if o != into]),
                issues.c.project_id == target["project_id"],
            )
        ).mappings()
    ]
    ids = [row["id"] for row in sources]
    if not ids:
        return []
    session.execute(update(events).where(events.c.issue_id.in_(ids)).values(issue_id=into))
    session.execute(
        update(fingerprints).where(fingerprints.c.issue_id.in_(ids)).values(issue_id=into)
    )
    _move_hours(session, into, target["project_id"], ids)
    _move_set(session, issue_users, ["user_key"], into, ids)
    _move_set(session, issue_facets, ["kind", "value"], into, ids)
    everything = [dict(target), *sources]
    session.execute(
        update(issues)
        .where(issues.c.id == into)
        .values(
            count=sum(row["count"] for row in everything),
            first_seen=min(row["first_seen"] for row in everything),
            last_seen=max(row["last_seen"] for row in everything),
        )
    )
    session.execute(issues.delete().where(issues.c.id.in_(ids)))
    recount_users(session, [into])
    bump_generation(session)
    return ids


def _move_hours(session: Session, into: int, project_id: int, ids: list[int]) -> None:
    moved = session.execute(
        select(issue_hours.c.hour, func.sum(issue_hours.c.count))
        .where(issue_hours.c.issue_id.in_([into, *ids]))
        .group_by(issue_hours.c.hour)
    ).all()
    session.execute(issue_hours.delete().where(issue_hours.c.issue_id.in_([into, *ids])))
    if moved:
        session.execute(
            issue_hours.insert(),
            [
                {"issue_id": into, "hour": hour, "project_id": project_id, "count": int(count)}
                for hour, count in moved
            ],
        )


def _move_set(session: Session, table: Any, columns: list[str], into: int, ids: list[int]) -> None:
    """Rows of `table` keyed by (issue_id, *columns), moved to `into` without duplicates."""
    keys = {
        tuple(row)
        for row in session.execute(
            select(*[table.c[c] for c in columns]).where(table.c.issue_id.in_([into, *ids]))
        ).all()
    }
    session.execute(table.delete().where(table.c.issue_id.in_([into, *ids])))
    if keys:
        session.execute(
            table.insert(),
            [{"issue_id": into, **dict(zip(columns, key, strict=True))} for key in keys],
        )
