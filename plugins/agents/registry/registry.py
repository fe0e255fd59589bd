"""`Registry`: the agents served right now, kept true by each agent's plugin registering
through its context (and so unregistering when it unloads or reloads)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from mindframe.sdk.agents import AgentRegistry, RegisteredAgent

if TYPE_CHECKING:
    from .audit_log import AccessAudit
    from .store import SqlRunStore

log = logging.getLogger("mindframe.plugins.agents")


class Registry(AgentRegistry):
    """The registry, with the store and the audit this plugin keeps runs in."""

    def __init__(self, store: SqlRunStore, audit: AccessAudit) -> None:
        self.store = store
        self.audit = audit
        self._agents: dict[str, RegisteredAgent] = {}
        self._watchers: list[Callable[[], None]] = []

    def register(self, entry: RegisteredAgent) -> Callable[[], None]:
        held = self._agents.get(entry.name)
        if held is not None and held is not entry:
            raise ValueError(f"an agent named {entry.name!r} is registered already")
        self._agents[entry.name] = entry
        self._changed()

        def unregister() -> None:
            if self._agents.get(entry.name) is entry:
                del self._agents[entry.name]
                self._changed()

        return unregister

    def get(self, name: str) -> RegisteredAgent | None:
        return self._agents.get(name)

    def all(self) -> list[RegisteredAgent]:
        return [self._agents[name] for name in sorted(self._agents)]

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        self._watchers.append(callback)

        def stop() -> None:
            if callback in self._watchers:
                self._watchers.remove(callback)

        return stop

    def _changed(self) -> None:
        for callback in list(self._watchers):
            try:
                callback()
            except Exception:
                log.exception("a watcher of the agent registry failed")
