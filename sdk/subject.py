"""The person a GDPR export or erasure is about."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Subject:
    """Identifies a user to every plugin's personal-data hooks; plugins match on whichever
    identifier they store."""

    user_id: str
    username: str | None = None
    email: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
