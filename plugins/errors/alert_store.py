"""The alerts' table work, each function a unit for `ctx.transaction(fn, …)`.

An alert is recorded once per cause (its `key`), so a redelivered bus event or a spike seen
by two runs raises nothing twice. Within an issue's cooldown an alert is recorded as
suppressed and goes nowhere. Each channel's delivery stays `pending` until it goes through,
its next try later each time (`retry_delay` doubling up to `max_retry_delay`); one still
undelivered after `give_up_after` is marked `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from .models import alert_deliveries, alerts, events, issues, projects

CHANNELS = ("mail", "webhook")


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery whose time has come, with what its alert says."""

    id: int
    channel: str
    attempts: int
    alert_created_at: float
    facts: dict[str, Any]


def project_name(session: Session, project_id: int) -> str:
    name = session.execute(select(projects.c.name).where(projects.c.id == project_id)).scalar()
    return name if name is not None else str(project_id)


def raise_alert(
    session: Session,
    key: str,
    facts: dict[str, Any],
    channels: list[str],
    now: float,
    cooldown: float,
) -> int | None:
    """Record the alert `key` (unless it was raised before) with a pending delivery on each
    of `channels`, or none within the issue's cooldown. The new alert's id, or None."""
    if session.execute(select(alerts.c.id).where(alerts.c.key == key)).first() is not None:
        return None
    last = session.execute(
        select(func.max(alerts.c.created_at)).where(
            alerts.c.issue_id == facts["issue_id"], alerts.c.suppressed.is_(False)
        )
    ).scalar()
    suppressed = last is not None and now - last < cooldown
    alert_id = session.execute(
        insert(alerts).values(
            key=key,
            kind=facts["kind"],
            issue_id=facts["issue_id"],
            project_id=facts["project_id"],
            facts=msgspec.json.encode(facts),
            suppressed=suppressed,
            created_at=now,
        )
    ).inserted_primary_key[0]
    if not suppressed and channels:
        session.execute(
            insert(alert_deliveries),
            [
                {
                    "alert_id": alert_id,
                    "channel": channel,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for channel in channels
            ],
        )
    return alert_id


def due(session: Session, now: float, limit: int) -> list[Due]:
    rows = session.execute(
        select(
            alert_deliveries.c.id,
            alert_deliveries.c.channel,
            alert_deliveries.c.attempts,
            alerts.c.created_at,
            alerts.c.facts,
        )
        .join(alerts, alerts.c.id == alert_deliveries.c.alert_id)
        .where(alert_deliveries.c.state == "pending", alert_deliveries.c.next_attempt_at <= now)
        .order_by(alert_deliveries.c.next_attempt_at, alert_deliveries.c.id)
        .limit(limit)
    ).all()
    return [
        Due(row.id, row.channel, row.attempts, row.created_at, msgspec.json.decode(row.facts))
        for row in rows
    ]


def delivered(session: Session, delivery_id: int, now: float) -> None:
    session.execute(
        update(alert_deliveries)
        .where(alert_deliveries.c.id == delivery_id)
        .values(
            state="delivered",
            attempts=alert_deliveries.c.attempts + 1,
            delivered_at=now,
            last_error=None,
        )
    )


def not_delivered(
    session: Session, delivery: Due, error: str, now: float, retry_at: float | None
) -> None:
    """Another failed try: retried at `retry_at`, or `failed` when that is None."""
    session.execute(
        update(alert_deliveries)
        .where(alert_deliveries.c.id == delivery.id)
        .values(
            state="pending" if retry_at is not None else "failed",
            attempts=delivery.attempts + 1,
            next_attempt_at=retry_at if retry_at is not None else now,
            last_error=error[:2000],
        )
    )


def history(session: Session, issue_id: int) -> list[dict[str, Any]]:
    """The issue's alerts, newest first, each with its deliveries (for the issue's page)."""
    rows = session.execute(
        select(alerts.c.id, alerts.c.kind, alerts.c.suppressed, alerts.c.created_at)
        .where(alerts.c.issue_id == issue_id)
        .order_by(alerts.c.created_at.desc(), alerts.c.id.desc())
    ).mappings()
    found = [{**row, "deliveries": []} for row in rows]
    by_id = {alert["id"]: alert for alert in found}
    if by_id:
        deliveries = session.execute(
            select(alert_deliveries)
            .where(alert_deliveries.c.alert_id.in_(list(by_id)))
            .order_by(alert_deliveries.c.id)
        ).mappings()
        for delivery in deliveries:
            by_id[delivery["alert_id"]]["deliveries"].append(dict(delivery))
    return found


def pending(session: Session) -> tuple[int, float | None]:
    """How many deliveries wait, and since when the oldest of them does (for health)."""
    count, oldest = session.execute(
        select(func.count(), func.min(alerts.c.created_at))
        .select_from(alert_deliveries)
        .join(alerts, alerts.c.id == alert_deliveries.c.alert_id)
        .where(alert_deliveries.c.state == "pending")
    ).one()
    return int(count), oldest


def forget_before(session: Session, before: float) -> None:
    """Drop alerts older than `before` once nothing of theirs is waiting to be delivered."""
    waiting = select(alert_deliveries.c.alert_id).where(alert_deliveries.c.state == "pending")
    old = select(alerts.c.id).where(alerts.c.created_at < before, alerts.c.id.not_in(waiting))
    ids = list(session.execute(old).scalars())
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        session.execute(delete(alert_deliveries).where(alert_deliveries.c.alert_id.in_(chunk)))
        session.execute(delete(alerts).where(alerts.c.id.in_(chunk)))


def spiking(session: Session, now: float, window: float, threshold: int) -> list[dict[str, Any]]:
    """The unresolved issues with at least `threshold` events received in the last `window`
    seconds, each with that number (`recent`)."""
    recent = (
        select(events.c.issue_id, func.count().label("recent"))
        .where(
            events.c.project_id.in_(select(projects.c.id)),  # the (project, received) index
            events.c.received_at > now - window,
        )
        .group_by(events.c.issue_id)
        .having(func.count() >= threshold)
        .subquery()
    )
    rows = session.execute(
        select(issues, recent.c.recent)
        .join(recent, recent.c.issue_id == issues.c.id)
        .where(issues.c.state == "unresolved")
    ).mappings()
    return [dict(row) for row in rows]
