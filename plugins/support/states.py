"""A ticket's statuses and the moves between them, as pure data and checks.

open: an agent's turn; pending: waiting on the customer; resolved: answered, may reopen
(the customer writes again, or an agent reopens it); closed: final, a new message from the
customer starts a new ticket.
"""

from __future__ import annotations

from typing import Literal

from mindframe.sdk.i18n import N_

Status = Literal["open", "pending", "resolved", "closed"]
STATUSES: tuple[Status, ...] = ("open", "pending", "resolved", "closed")
ACTIVE: tuple[Status, ...] = ("open", "pending")
"""Statuses in which a ticket counts against its assignee's concurrent limit."""

MOVES: dict[Status, frozenset[Status]] = {
    "open": frozenset({"pending", "resolved", "closed"}),
    "pending": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}

PRIORITIES = ("low", "normal", "high", "urgent")

STATUS_NAMES = {
    "open": N_("Open"),
    "pending": N_("Pending"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
PRIORITY_NAMES = {
    "low": N_("Low"),
    "normal": N_("Normal"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
}
"""What people read for each status and priority (translated where shown)."""


class StatusMoveRefused(ValueError):
    """A move the workflow does not allow, such as reopening a closed ticket."""

    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"{current} -> {wanted}")
        self.current = current
        self.wanted = wanted


def check_move(current: Status, wanted: Status) -> None:
    """Raise `StatusMoveRefused` unless a ticket may go from `current` to `wanted`."""
    if wanted not in MOVES[current]:
        raise StatusMoveRefused(current, wanted)


def after_customer_wrote(current: Status) -> Status | None:
    """The status a customer's new message moves a ticket to: back to the agents' turn
    when it was waiting or resolved; None when it stays (open) or cannot (closed)."""
    return "open" if current in ("pending", "resolved") else None
