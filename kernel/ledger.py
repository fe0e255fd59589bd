"""The ownership ledger: what a plugin acquired, recorded at the moment it acquired it.

Release is registered together with acquisition (the Home Assistant `async_on_unload`
idea), so unloading a plugin cannot forget anything and a test can assert that nothing
of it is left.
"""

from __future__ import annotations

import inspect
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("mindframe.ledger")

Release = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """One acquisition. Entries compare by identity: the same thing acquired twice is two
    entries, each released once (and finding one to forget costs no field comparisons)."""

    kind: str  # "service", "route", "subscription", "task", "table", "session", ...
    label: str
    release: Release


class Ledger:
    """Entries in acquisition order; released newest first, each exactly once."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._entries: list[Entry] = []

    def record(self, kind: str, label: str, release: Release) -> Entry:
        entry = Entry(kind, label, release)
        self._entries.append(entry)
        return entry

    def forget(self, entry: Entry) -> None:
        """Drop an entry whose resource was already released by its owner. Searched from
        the newest: what is forgotten is mostly what was just recorded (a transaction, a
        session), so this stays cheap however much the plugin holds."""
        entries = self._entries
        for index in range(len(entries) - 1, -1, -1):
            if entries[index] is entry:
                del entries[index]
                return

    def counts(self) -> dict[str, int]:
        return dict(Counter(entry.kind for entry in self._entries))

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    async def release_all(self, keep: frozenset[str] = frozenset()) -> list[str]:
        """Release everything but the kinds in `keep`: background tasks first (so none is
        cut off mid-query by its session closing), then the rest newest first. Returns the
        failures so none is hidden."""
        failures = []
        kept = [entry for entry in self._entries if entry.kind in keep]
        remaining = [entry for entry in self._entries if entry.kind not in keep]
        tasks = [entry for entry in remaining if entry.kind == "task"]
        self._entries = [entry for entry in remaining if entry.kind != "task"] + tasks
        while self._entries:
            entry = self._entries.pop()
            try:
                result = entry.release()
                if inspect.isawaitable(result):
                    await result
            except Exception as error:
                failures.append(f"{entry.kind} {entry.label}: {error!r}")
                log.exception(
                    "plugin %s: releasing %s %s failed", self.owner, entry.kind, entry.label
                )
        self._entries = kept
        return failures

    def forget_kind(self, kind: str) -> None:
        """Drop entries of `kind` whose release someone else has taken over."""
        self._entries = [entry for entry in self._entries if entry.kind != kind]
