"""Release files (source maps) uploaded for symbolication, and the look-up the digest hands
to `symbolication.symbolicate`."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext

from .models import artifacts
from .symbolication import Lookup


class Artifacts:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx

    async def store(self, project_id: int, release: str, name: str, content: bytes) -> int:
        """Keep `content` as `name` of `release` (an upload of the same name replaces it)."""
        return await self._ctx.transaction(_store, project_id, release, name, content)

    async def list(self, project_id: int, release: str) -> list[dict[str, Any]]:
        return await self._ctx.transaction(_list, project_id, release, read_only=True)


def lookup_in(session: Session, project_id: int) -> Lookup:
    """A `symbolicate` look-up reading `errors_artifacts` in the digest's transaction; each
    (release, name) is read at most once per batch."""
    found: dict[tuple[str, str], bytes | None] = {}

    def lookup(release: str, name: str) -> bytes | None:
        key = (release, name)
        if key not in found:
            found[key] = session.execute(
                select(artifacts.c.content).where(
                    artifacts.c.project_id == project_id,
                    artifacts.c.release == release,
                    artifacts.c.name == name,
                )
            ).scalar()
        return found[key]

    return lookup


def releases_with_artifacts(session: Session, project_id: int) -> frozenset[str]:
    """The releases of the project with any uploaded file: only their events can have a
    frame to map, so the digest symbolicates no others."""
    rows = session.execute(
        select(artifacts.c.release).where(artifacts.c.project_id == project_id).distinct()
    ).scalars()
    return frozenset(rows)


def _store(session: Session, project_id: int, release: str, name: str, content: bytes) -> int:
    session.execute(
        delete(artifacts).where(
            artifacts.c.project_id == project_id,
            artifacts.c.release == release,
            artifacts.c.name == name,
        )
    )
    values = {
        "project_id": project_id,
        "release": release,
        "name": name,
        "content": content,
        "created_at": time.time(),
    }
    return session.execute(insert(artifacts).values(values)).inserted_primary_key[0]


def _list(session: Session, project_id: int, release: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(artifacts.c.id, artifacts.c.name, artifacts.c.created_at)
        .where(artifacts.c.project_id == project_id, artifacts.c.release == release)
        .order_by(artifacts.c.name)
    ).mappings()
    return [dict(row) for row in rows]
