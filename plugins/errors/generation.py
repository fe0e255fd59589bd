"""A counter that says "what the digest cached may be stale": bumped by every change of an
issue's state, a merge or a key, read by the digest at the start of each batch."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from .models import generation

ROW = 1


def bump_generation(session: Session) -> None:
    """Mark every cache of issues and keys stale, in the caller's transaction."""
    changed = session.execute(
        update(generation).where(generation.c.id == ROW).values(value=generation.c.value + 1)
    )
    if not changed.rowcount:
        session.execute(insert(generation).values(id=ROW, value=1))


def current_generation(session: Session) -> int:
    return session.execute(select(generation.c.value).where(generation.c.id == ROW)).scalar() or 0
