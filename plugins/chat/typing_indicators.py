"""Typing indicators: shown to the others in a conversation, gone by themselves.

A "typing" frame shows the indicator for `typing_seconds`; each new one extends it; a
"stopped" frame, a sent message or the time running out ends it, and the others are told.
Held in memory only (it is worth nothing a few seconds later); a reload hands the live ones
over through `snapshot_state`.
"""

from __future__ import annotations

import time
from typing import Any

Key = tuple[str, str, str]  # conversation, author kind, author id


class TypingBoard:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._until: dict[Key, tuple[float, dict[str, Any]]] = {}

    def start(self, conversation_id: str, author: dict[str, Any]) -> bool:
        """Show (or extend) the author's indicator; True when it was not showing."""
        key = (conversation_id, author["kind"], author["id"] or "")
        new = key not in self._until
        self._until[key] = (time.monotonic() + self.seconds, author)
        return new

    def stop(self, conversation_id: str, author: dict[str, Any]) -> bool:
        """End the author's indicator; True when it was showing."""
        return (
            self._until.pop((conversation_id, author["kind"], author["id"] or ""), None) is not None
        )

    def expired(self) -> list[tuple[str, dict[str, Any]]]:
        """The indicators whose time ran out (removed): (conversation, author)."""
        moment = time.monotonic()
        gone = [key for key, (until, _) in self._until.items() if until <= moment]
        return [(key[0], self._until.pop(key)[1]) for key in gone]

    def snapshot(self) -> list[dict[str, Any]]:
        left = time.monotonic()
        return [
            {"conversation_id": key[0], "author": author, "left": until - left}
            for key, (until, author) in self._until.items()
        ]

    def restore(self, entries: list[dict[str, Any]]) -> None:
        moment = time.monotonic()
        for entry in entries:
            author = entry["author"]
            key = (entry["conversation_id"], author["kind"], author["id"] or "")
            self._until[key] = (moment + float(entry["left"]), author)
