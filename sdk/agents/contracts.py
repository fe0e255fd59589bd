"""The seams between the agent toolkit and the `agents` plugin: the registry every agent
registers with, the store its runs are kept in, and the records they exchange.

Agents never use these directly: `serve_agent` registers them and the executor stores
their runs. They are here so the `agents` plugin (and a test, or another store) can fulfil
them without either side importing the other.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec

if TYPE_CHECKING:
    from ..i18n import Localizer
    from .declaration import Agent

Status = Literal["running", "needs_approval", "completed", "failed", "cancelled"]
SETTLED: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
TraceKind = Literal["step", "tool", "approval", "decision", "reward", "llm"]


class RunView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A run as the API shows it: its status and, once there, its output, or what it
    proposes for approval, or why it failed."""

    run_id: str
    agent: str
    status: Status
    output: Any = None
    proposal: Any = None
    summary: str | None = None
    error: str | None = None
    progress: float | None = None
    message: str | None = None
    requested_by: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None


class TraceEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One thing a run did: a step, a tool call, an approval, a decision, a model call."""

    seq: int
    kind: TraceKind
    name: str
    started_at: datetime
    duration_ms: float
    status: Literal["ok", "error", "replayed", "waiting"] = "ok"
    detail: str | None = None


class AuditEntry(msgspec.Struct, kw_only=True):
    """One access to personal health data: who, when, which agent and run, whose data (every
    subject, in the order the agent named them) and why. `action` is `run` (a run read or
    returned it) or `read` (a run's view was read)."""

    at: datetime
    who: str | None
    agent: str
    run_id: str
    subjects: list[str] = []
    purpose: str | None
    action: Literal["run", "read"]


class RunRecord(msgspec.Struct, kw_only=True):
    """A run's row in the history. `input_digest` is a keyed digest of the input, never
    the input; `output` and `proposal` are JSON (sealed at rest for health-data agents)."""

    id: str
    agent: str
    status: Status
    input_digest: str
    started_at: datetime
    requested_by: str | None = None
    purpose: str | None = None
    locale: str | None = None
    health_data: bool = False
    finished_at: datetime | None = None
    duration_ms: float | None = None
    output: bytes | None = None
    proposal: bytes | None = None
    summary: str | None = None
    error: str | None = None


class RunChange(msgspec.Struct, kw_only=True):
    """What one write to the store does: the run's row as it is now (`created`: already
    stored, so update it), the input to keep while the run is unfinished (so it can be
    resumed), a checkpoint, the trace entries since the last write, an audit entry, and
    whether the kept input can go (the run settled)."""

    record: RunRecord
    created: bool = False
    pending_input: bytes | None = None
    checkpoint: tuple[str, bytes] | None = None
    trace: list[TraceEntry] = []
    audit: AuditEntry | None = None
    drop_input: bool = False


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A run as the store has it: its row, its checkpoints by step name (JSON), and its
    input while it is unfinished."""

    record: RunRecord
    checkpoints: dict[str, bytes]
    pending_input: bytes | None


class RunStore(ABC):
    """Where runs are kept: the `agents` plugin's tables."""

    @abstractmethod
    def digest(self, payload: bytes) -> str:
        """A keyed digest of `payload`: equal inputs compare equal, and a guessed input
        cannot be confirmed without the key."""

    @abstractmethod
    async def save(self, change: RunChange, *, wait: bool = True) -> None:
        """Apply `change` in the next transaction (writes that arrive together share one);
        with `wait`, return once it is committed, else at once (written behind)."""

    @abstractmethod
    async def load(self, run_id: str) -> StoredRun | None:
        """The run, its checkpoints and its kept input; None if there is no such run."""

    @abstractmethod
    async def interrupted(self, agent: str) -> list[str]:
        """Ids of `agent`'s runs that are `running` (a restart or reload cut them off)."""

    @abstractmethod
    async def trace(self, run_id: str) -> list[TraceEntry]:
        """Everything the run did, in order."""

    @abstractmethod
    async def history(
        self, agent: str, *, limit: int = 50, before: datetime | None = None
    ) -> list[RunRecord]:
        """`agent`'s runs, newest first."""

    @abstractmethod
    async def audit(self, entry: AuditEntry) -> None:
        """Append `entry` to the access audit; committed when this returns."""


class AgentHandle(ABC):
    """What the registry (and its API) can ask of one served agent."""

    @abstractmethod
    async def start(
        self,
        data: Any,
        *,
        requested_by: str | None,
        locale: str | None,
        purpose: str | None,
        wait: bool = True,
    ) -> RunView:
        """Run the agent on decoded input `data` (wait=False: answer once the run is
        stored and go on in the background)."""

    @abstractmethod
    async def view(self, run_id: str, *, with_output: bool = True) -> RunView | None:
        """The run as the API shows it (live progress included), None if unknown."""

    @abstractmethod
    async def answer(self, run_id: str, approval: Any, *, wait: bool = True) -> RunView:
        """Record a person's `Approval` of the paused run and resume it."""

    @abstractmethod
    async def cancel(self, run_id: str) -> RunView:
        """Cancel the run (live, paused or interrupted)."""

    @abstractmethod
    async def reward(self, run_id: str, value: float) -> list[str]:
        """Report `value` for every decision the run made; returns their ids."""


@dataclass(frozen=True, slots=True)
class RegisteredAgent:
    """An agent as the registry lists it: its name (its plugin's), the declaration, what
    runs it, and its JSON schemas."""

    name: str
    agent: Agent[Any, Any]
    handle: AgentHandle
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]

    def describe(self, l10n: Localizer) -> dict[str, Any]:
        """Name, industry, title, description and schemas, texts in `l10n`'s locale."""
        from .schemas import translated

        agent = self.agent
        return {
            "name": self.name,
            "industry": agent.industry,
            "title": l10n.gettext(agent.title),
            "description": l10n.gettext(agent.description),
            "health_data": agent.health_data,
            "permission": agent.run_permission(self.name),
            "input_schema": translated(self.input_schema, l10n),
            "output_schema": translated(self.output_schema, l10n),
        }


class AgentRegistry(ABC):
    """The service the `agents` plugin provides: every agent served right now."""

    @abstractmethod
    def register(self, entry: RegisteredAgent) -> Callable[[], None]:
        """Add `entry`; returns the call that removes it (run it at unload)."""

    @abstractmethod
    def get(self, name: str) -> RegisteredAgent | None:
        """The agent served as `name`, if any."""

    @abstractmethod
    def all(self) -> list[RegisteredAgent]:
        """Every registered agent, by name."""

    @abstractmethod
    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` whenever an agent comes or goes; returns the call that stops."""
