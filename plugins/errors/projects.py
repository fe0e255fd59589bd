"""Projects and their keys, with the look-ups the intake does on every request cached.

A key is active until revoked; rotating is adding a new key, moving the SDKs to its DSN,
then revoking the old one. The intake asks `authenticate` per request: answered from
memory, refreshed from the database at most every `CACHE_SECONDS` per key or project, so a
key revoked by another process stops working within that time (at once in this one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext

from .dsn import new_public_key
from .generation import bump_generation
from .models import keys, projects

CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    name: str
    builtin: bool
    rate_limit: int | None
    retention_days: float | None
    max_events: int | None
    created_at: float


class DuplicateProject(ValueError):
    """A project of that name exists."""


def _project(row: Any) -> Project:
    return Project(
        id=row.id,
        name=row.name,
        builtin=bool(row.builtin),
        rate_limit=row.rate_limit,
        retention_days=row.retention_days,
        max_events=row.max_events,
        created_at=row.created_at,
    )


class Projects:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self._keys: dict[str, tuple[int | None, float]] = {}  # key -> (project, fetched)
        self._projects: dict[int, tuple[Project | None, float]] = {}

    # --- what the intake asks ---------------------------------------------------------

    async def project(self, project_id: int) -> Project | None:
        """The project, from memory when fetched in the last `CACHE_SECONDS`."""
        cached = self._projects.get(project_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < CACHE_SECONDS:
            return cached[0]
        found = await self.get(project_id)
        self._projects[project_id] = (found, now)
        return found

    async def key_owner(self, public_key: str) -> int | None:
        """The project an active `public_key` belongs to, or None (unknown or revoked)."""
        cached = self._keys.get(public_key)
        now = time.monotonic()
        if cached is not None and now - cached[1] < CACHE_SECONDS:
            return cached[0]
        owner = await self._ctx.transaction(_key_owner, public_key, read_only=True)
        if len(self._keys) > 10_000:  # a client trying keys must not grow this forever
            self._keys.clear()
        self._keys[public_key] = (owner, now)
        return owner

    def forget(self) -> None:
        """Drop the caches (after a change made in this process)."""
        self._keys.clear()
        self._projects.clear()

    # --- managing ---------------------------------------------------------------------

    async def create(
        self,
        name: str,
        *,
        builtin: bool = False,
        rate_limit: int | None = None,
        retention_days: float | None = None,
        max_events: int | None = None,
    ) -> tuple[Project, str]:
        """A new project and its first key; DuplicateProject when the name is taken."""
        values = {
            "name": name,
            "builtin": builtin,
            "rate_limit": rate_limit,
            "retention_days": retention_days,
            "max_events": max_events,
            "created_at": time.time(),
        }
        try:
            project, key = await self._ctx.transaction(_create, values)
        except IntegrityError:
            raise DuplicateProject(name) from None
        self.forget()
        return project, key

    async def ensure(self, name: str) -> Project:
        """The built-in project called `name`, created on first start."""
        found = await self._ctx.transaction(_by_name, name, read_only=True)
        if found is not None:
            return found
        try:
            project, _ = await self.create(name, builtin=True)
        except DuplicateProject:  # another process made it just now
            found = await self._ctx.transaction(_by_name, name, read_only=True)
            assert found is not None
            return found
        return project

    async def get(self, project_id: int) -> Project | None:
        return await self._ctx.transaction(_get, project_id, read_only=True)

    async def all(self) -> list[Project]:
        return await self._ctx.transaction(_all, read_only=True)

    async def keys(self, project_id: int) -> list[dict[str, Any]]:
        return await self._ctx.transaction(_keys_of, project_id, read_only=True)

    async def add_key(self, project_id: int) -> str:
        key = await self._ctx.transaction(_add_key, project_id)
        self.forget()
        return key

    async def revoke_key(self, project_id: int, public_key: str) -> bool:
        """Whether an active key of that project was revoked now."""
        revoked = await self._ctx.transaction(_revoke_key, project_id, public_key)
        self.forget()
        return revoked

    async def change(self, project_id: int, values: dict[str, Any]) -> Project | None:
        """Set the project's own limits (`rate_limit`, `retention_days`, `max_events`)."""
        project = await self._ctx.transaction(_change, project_id, values)
        self.forget()
        return project


# --- units of work for ctx.transaction ------------------------------------------------------


def _key_owner(session: Session, public_key: str) -> int | None:
    return session.execute(
        select(keys.c.project_id).where(keys.c.public_key == public_key, keys.c.active)
    ).scalar()


def _create(session: Session, values: dict[str, Any]) -> tuple[Project, str]:
    project_id = session.execute(insert(projects).values(values)).inserted_primary_key[0]
    key = _add_key(session, project_id)
    return Project(id=project_id, **values), key


def _add_key(session: Session, project_id: int) -> str:
    key = new_public_key()
    session.execute(
        insert(keys).values(
            public_key=key, project_id=project_id, active=True, created_at=time.time()
        )
    )
    return key


def _revoke_key(session: Session, project_id: int, public_key: str) -> bool:
    result = session.execute(
        update(keys)
        .where(keys.c.public_key == public_key, keys.c.project_id == project_id, keys.c.active)
        .values(active=False, revoked_at=time.time())
    )
    bump_generation(session)
    return bool(result.rowcount)


def _by_name(session: Session, name: str) -> Project | None:
    row = session.execute(select(projects).where(projects.c.name == name)).first()
    return _project(row) if row else None


def _get(session: Session, project_id: int) -> Project | None:
    row = session.execute(select(projects).where(projects.c.id == project_id)).first()
    return _project(row) if row else None


def _all(session: Session) -> list[Project]:
    return [_project(row) for row in session.execute(select(projects).order_by(projects.c.id))]


def _keys_of(session: Session, project_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(keys).where(keys.c.project_id == project_id).order_by(keys.c.created_at)
    ).mappings()
    return [dict(row) for row in rows]


def _change(session: Session, project_id: int, values: dict[str, Any]) -> Project | None:
    if values:
        session.execute(update(projects).where(projects.c.id == project_id).values(values))
    return _get(session, project_id)
