"""Who a token or a session is, remembered between requests: a busy API client costs a
dictionary lookup per request instead of a database transaction (benchmarks/agents.py).

An entry is trusted for at most `identity_recheck_seconds` and never past the credential's
own expiry. Every change to users, roles, tokens or sessions forgets every entry at once:
in the process that made it; in every process sharing its data directory (the `mindframe
tokens` CLI, other workers) through the `identities` change mark, read with one `stat` per
request; and in processes on other machines through the `auth.identities.changed` bus event
(each process subscribes under a name of its own), with the recheck interval as the bound
when neither reaches. Refusals are never remembered: an unknown token is looked up each time.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from mindframe.sdk import Event
from mindframe.sdk.auth import Identity
from mindframe.sdk.change_marks import ChangeMark

PROCESS = f"{socket.gethostname()}-{os.getpid()}"
"""This process among the runtime's processes: the name it hears invalidations under."""
MOST_REMEMBERED = 10_000
"""Entries kept at once; past it the cache starts afresh (a bound, not an eviction policy)."""


class IdentitiesChanged(Event):
    """A user, role, token or session changed: forget every remembered identity."""

    topic: ClassVar[str] = "auth.identities.changed"

    origin: str


@dataclass(slots=True, frozen=True)
class Remembered:
    identity: Identity
    until: float
    """`time.time()` past which the entry is no longer trusted: the recheck interval or the
    credential's expiry, whichever comes first."""
    csrf_token: str | None = None


class IdentityCache:
    def __init__(self, recheck_seconds: float, mark: ChangeMark) -> None:
        self.recheck_seconds = recheck_seconds
        self.generation = 0
        """Moves on every `forget_all`: an answer read before it must not be remembered."""
        self._entries: dict[str, Remembered] = {}
        self._mark = mark
        self._seen = mark.read()

    def get(self, key: str) -> Remembered | None:
        if not self._entries:
            return None
        seen = self._mark.read()
        if seen != self._seen:  # another process changed something
            self._seen = seen
            self.forget_all()
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.time() >= entry.until:
            self._entries.pop(key, None)
            return None
        return entry

    def put(
        self,
        key: str,
        identity: Identity,
        expires: datetime,
        generation: int,
        csrf_token: str | None = None,
    ) -> None:
        """Remember `identity` for `key`, unless something changed since `generation` was
        read (the lookup may predate a revocation)."""
        if generation != self.generation or self.recheck_seconds <= 0:
            return
        if len(self._entries) >= MOST_REMEMBERED:
            self._entries.clear()
        until = min(time.time() + self.recheck_seconds, expires.timestamp())
        self._entries[key] = Remembered(identity, until, csrf_token)

    def forget_all(self) -> None:
        self.generation += 1
        self._entries.clear()

    def changed(self) -> None:
        """This process changed something: forget, and tell the processes sharing the data
        directory (before the change's answer goes out)."""
        self._mark.bump()
        self._seen = self._mark.read()
        self.forget_all()
