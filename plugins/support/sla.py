"""SLA deadlines and breaches: when a ticket is due, and whether it missed it.

Pure functions of a ticket's moments; the `sla` job (`sla_job.py`) runs them over the
tickets whose deadline has passed and records each breach once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["first_response", "resolution"]
KINDS: tuple[Kind, ...] = ("first_response", "resolution")


@dataclass(frozen=True)
class Deadlines:
    first_response: float | None
    resolution: float | None


def deadlines(
    created_at: float,
    priority: str,
    first_response_minutes: Mapping[str, float],
    resolution_minutes: Mapping[str, float],
) -> Deadlines:
    """When a ticket opened at `created_at` with `priority` must be answered and resolved
    (None: the priority has no target)."""

    def due(minutes: Mapping[str, float]) -> float | None:
        target = minutes.get(priority)
        return None if target is None else created_at + target * 60

    return Deadlines(due(first_response_minutes), due(resolution_minutes))


def missed(ticket: Mapping[str, Any], now: float) -> list[Kind]:
    """The deadlines `ticket` has missed by `now`: answered (or resolved) after it, or not
    yet and it has passed. A ticket closed before a deadline never misses it."""
    found: list[Kind] = []
    stopped = ticket.get("closed_at")
    for kind, done in (("first_response", "first_response_at"), ("resolution", "resolved_at")):
        due = ticket.get(f"{kind}_due")
        if due is None:
            continue
        moment = ticket.get(done) or stopped or now
        if moment > due:
            found.append(kind)  # type: ignore[arg-type]
    return found
