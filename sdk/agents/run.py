"""`Run`: what an agent's `run` function is handed, the whole toolkit of a run.

A run is replayable: after a restart, a reload or an approval, `run` is called again from
the top and every `step` that had finished returns its recorded result at once instead of
running again, so the run goes on from its last checkpoint. Keep side effects inside steps
(or tool calls inside steps), and make each step's result plain data (msgspec-encodable).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

if TYPE_CHECKING:
    from mindframe.sdk.learning import Decision

T = TypeVar("T")
Work = Callable[..., T | Awaitable[T]]


class Approval(msgspec.Struct, frozen=True, kw_only=True):
    """A person's answer to what a run proposed: `approved`, by whom, when, and why."""

    approved: bool
    by: str
    at: datetime
    comment: str | None = None


class Run(ABC):
    """One run of an agent, handed to its `run(data, run)` function."""

    id: str
    """The run's id: `GET /api/agents/runs/<id>` shows it, with its trace."""
    agent: str
    """The agent's name (its plugin's name)."""
    requested_by: str | None
    """The user name of who asked, when they were signed in (or the bus caller's word)."""
    purpose: str | None
    """Why the caller says they ask (for the access audit of health-data agents)."""

    @property
    @abstractmethod
    def locale(self) -> str:
        """The locale the run answers in: the asker's, kept across a resume."""

    @abstractmethod
    def gettext(self, message: str) -> str:
        """`message` translated into the run's locale from the agent's catalog."""

    @abstractmethod
    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of the message for `n`, in the run's locale."""

    @abstractmethod
    async def step(self, name: str, work: Work[T], *args: Any, **kwargs: Any) -> T:
        """Run `work(*args, **kwargs)` (plain or async) as the checkpointed step `name` and
        return its result; the result is committed before this returns. When the run is
        replayed the step's recorded result is returned without running `work` again. A
        name used twice in one run counts as `name#2`, `name#3` … (steps in a loop)."""

    @abstractmethod
    async def tool(self, name: str, work: Work[T], *args: Any, **kwargs: Any) -> T:
        """Call `work(*args, **kwargs)` (plain or async) as the tool `name`: traced with its
        duration and outcome, not checkpointed (wrap it in a step for that)."""

    @abstractmethod
    async def thread(self, work: Callable[..., T], *args: Any) -> T:
        """Run plain, CPU-heavy `work(*args)` in a worker thread, keeping the server
        responsive (numerical libraries release the GIL)."""

    @abstractmethod
    async def progress(self, fraction: float, message: str | None = None) -> None:
        """Say how far the run is (0.0 to 1.0, and a translated message): published as
        `agents.<agent>.progress` and shown in the run's view."""

    @abstractmethod
    async def approval(self, proposal: Any, summary: str) -> Approval:
        """Stop at `needs_approval` with `proposal` (plain data or a struct) and a
        translated `summary`, until a person holding the agent's `approver` permission
        approves or rejects it over the API; then the run is replayed and this returns
        their answer. Everything before it should be in steps."""

    @abstractmethod
    async def decide(
        self, policy: str, context: Mapping[str, Any], actions: Sequence[str]
    ) -> Decision:
        """Choose one of `actions` in `context` with the learning engine's `policy` (created
        on first use as a contextual Thompson-sampling policy over `actions`); without a
        learning engine, uniformly at random. Checkpointed: a replay gets the same decision.
        Report how it went with `reward`, now or later over the API."""

    @abstractmethod
    async def reward(self, decision: Decision | str, value: float) -> None:
        """Report `value` as the outcome of a decision of this run (by the decision or its
        id); ignored without a learning engine."""

    @abstractmethod
    async def phrase(self, instructions: str, facts: Any) -> str | None:
        """Ask the configured language model (the `llm` plugin) to write `facts` as prose
        following `instructions`, in the run's language; None when no model is configured
        or it fails, so an agent always has its own plain wording to fall back on."""
