"""The bus side of every agent: `agents.<agent>.run` (request/reply), `.progress`, `.status`.

The classes are made once per agent name and kept, so a reloaded agent publishes and hears
the same types:

    topics = agent_topics("demo-refill")
    reply = await ctx.bus.request(topics.run(input={"patient_id": "p-1", ...}), timeout=30)
    reply["status"], reply["output"]          # a RunView as plain data

`ctx.subscribe("agents.*.status", ...)` hears every agent's runs end or pause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from mindframe.kernel.bus import Event


class RunRequested(Event):
    """Run an agent over the bus: the reply is the run's `RunView` as plain data (or a
    problem document: `{"status": 400, "detail": …}`). `requested_by` names who asks."""

    input: dict[str, Any]
    requested_by: str | None = None
    locale: str | None = None
    purpose: str | None = None


class RunProgressed(Event):
    """How far a run is: `fraction` from 0.0 to 1.0, and a message in the run's locale."""

    run_id: str
    fraction: float
    message: str | None = None


class RunStatusChanged(Event):
    """A run ended or paused: `completed`, `failed`, `cancelled` or `needs_approval`."""

    durable: ClassVar[bool] = False

    run_id: str
    status: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AgentTopics:
    """The event classes of one agent, whose topics start with `agents.<agent>.`."""

    run: type[RunRequested]
    progress: type[RunProgressed]
    status: type[RunStatusChanged]


_made: dict[str, AgentTopics] = {}


def agent_topics(agent: str) -> AgentTopics:
    """The event classes of `agent` (made on first use, then the same ones)."""
    topics = _made.get(agent)
    if topics is None:
        stem = "".join(part.capitalize() for part in agent.replace("_", "-").split("-"))

        def subclass(base: type[Event], suffix: str) -> Any:
            topic = f"agents.{agent}.{suffix}"
            return type(f"{stem}{base.__name__}", (base,), {"topic": topic})

        topics = _made[agent] = AgentTopics(
            run=subclass(RunRequested, "run"),
            progress=subclass(RunProgressed, "progress"),
            status=subclass(RunStatusChanged, "status"),
        )
    return topics
