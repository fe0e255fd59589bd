"""Choosing an agent for a ticket: round robin or least loaded, among those with room.

Pure functions: the `assignment` job (`auto_assign.py`) gathers the candidates (online
agents of the ticket's queue, their open tickets and limits) and claims the ticket for the
one chosen here with a conditional update, which is what makes a choice stick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .settings import Strategy


@dataclass(frozen=True)
class Candidate:
    """An online agent who could take the ticket: `load` open tickets of `limit`."""

    agent_id: str
    load: int
    limit: int

    @property
    def has_room(self) -> bool:
        return self.load < self.limit


def round_robin(candidates: Sequence[Candidate], last: str | None) -> Candidate | None:
    """The agent after `last` (in agent-id order, wrapping around) who has room."""
    ordered = sorted((c for c in candidates if c.has_room), key=lambda c: c.agent_id)
    if not ordered:
        return None
    after = [c for c in ordered if last is not None and c.agent_id > last]
    return (after or ordered)[0]


def least_loaded(candidates: Sequence[Candidate]) -> Candidate | None:
    """The agent with room holding the fewest open tickets (ties: the lowest agent id)."""
    with_room = [c for c in candidates if c.has_room]
    return min(with_room, key=lambda c: (c.load, c.agent_id), default=None)


def choose(
    strategy: Strategy, candidates: Sequence[Candidate], last: str | None
) -> Candidate | None:
    """The agent `strategy` picks; None when nobody has room, or assignment is manual."""
    if strategy == "round_robin":
        return round_robin(candidates, last)
    if strategy == "least_loaded":
        return least_loaded(candidates)
    return None


def taken(candidates: Sequence[Candidate], agent_id: str) -> list[Candidate]:
    """`candidates` after `agent_id` took one more ticket."""
    return [
        Candidate(c.agent_id, c.load + 1, c.limit) if c.agent_id == agent_id else c
        for c in candidates
    ]
