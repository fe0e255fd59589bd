"""Gates between a test and the agents it runs in the same event loop: an agent module does
`from tests_agent_gates import gate, record` and the test opens gates and reads what ran.
The module lives in `sys.modules` under a fixed name, so it outlives reloads of the agent."""

from __future__ import annotations

import sys
import types
from collections import defaultdict

import anyio

NAME = "tests_agent_gates"


class Gates:
    def __init__(self) -> None:
        self.events: dict[str, anyio.Event] = defaultdict(anyio.Event)
        self.ran: list[str] = []

    def gate(self, name: str) -> anyio.Event:
        return self.events[name]

    def record(self, what: str) -> None:
        self.ran.append(what)
        self.gate(f"ran {what}").set()

    async def reached(self, what: str, timeout: float = 10) -> None:
        """Wait (bounded) until an agent recorded `what`."""
        with anyio.fail_after(timeout):
            await self.gate(f"ran {what}").wait()


def install() -> Gates:
    gates = Gates()
    module = types.ModuleType(NAME)
    module.gate = gates.gate  # type: ignore[attr-defined]
    module.record = gates.record  # type: ignore[attr-defined]
    sys.modules[NAME] = module
    return gates
