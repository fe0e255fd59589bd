"""`Agent`: what an agent declares about itself (typed input and output, a `run` function,
its title and description), and `AgentError`, the refusal it raises with a message for the
person asking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from ..i18n import N_

if TYPE_CHECKING:
    from .run import Run

I = TypeVar("I", bound=msgspec.Struct)  # noqa: E741
O = TypeVar("O", bound=msgspec.Struct)  # noqa: E741

RESERVED_AGENT_NAMES = frozenset({"runs", "audit"})
"""Paths under `/api/agents/` that are not agents."""

DEFAULT_PURPOSE = N_("treatment")
DEFAULT_APPROVER = "agents.approve"


@dataclass(frozen=True, eq=False)
class Agent(Generic[I, O]):
    """One agent: the plugin it is served by gives it its name (`plugin.toml`'s `name`).

    `input` and `output` are msgspec structs; describe their fields with
    `Annotated[str, msgspec.Meta(description=N_("..."), examples=[...])]` and their JSON
    schemas (in `GET /api/agents`, and as the MCP tool's input schema) carry them, each
    description translated into the caller's locale. `title` and `description` are marked
    with `N_` and translated the same way.

    `run(data, run)` is an `async` function taking the decoded input and the `Run` handle
    (checkpointed steps, tool calls, progress, approval, decisions, translation) and
    returning the output. Import heavy libraries inside it, not at the top of `agent.py`,
    so the server starts fast.

    `health_data=True` marks an agent that reads or returns personal health information:
    every run is written to the append-only, hash-chained access audit (who, when, which
    agent, whose data — the input field named by `subject`, holding one id or a list of
    them, or a function of the input returning one or many — and why: the caller's stated
    purpose, else `purpose`), the run history keeps a keyed digest of the input and never
    the input itself, and running it needs `permission` (by default `<agent>.run`).
    `approver` is the permission needed to approve or reject what a run proposes.
    """

    industry: str
    title: str
    description: str
    input: type[I]
    output: type[O]
    run: Callable[[I, Run], Awaitable[O]]
    health_data: bool = False
    subject: str | Callable[[I], str | Iterable[str]] | None = None
    purpose: str = DEFAULT_PURPOSE
    permission: str | None = None
    approver: str = DEFAULT_APPROVER

    def __post_init__(self) -> None:
        for role, kind in (("input", self.input), ("output", self.output)):
            if not (isinstance(kind, type) and issubclass(kind, msgspec.Struct)):
                raise TypeError(f"an agent's {role} is a msgspec.Struct class, got {kind!r}")
        if self.health_data and self.subject is None:
            raise TypeError(
                "an agent with health_data=True names its subject: the input field (or a "
                "function of the input) saying whose health data a run reads, for the audit log"
            )
        if isinstance(self.subject, str) and self.subject not in self.input.__struct_fields__:
            raise TypeError(
                f"subject {self.subject!r} is not a field of {self.input.__name__} "
                f"(fields: {', '.join(self.input.__struct_fields__)})"
            )

    def run_permission(self, name: str) -> str | None:
        """The permission needed to run the agent served as `name`."""
        if self.permission is None and self.health_data:
            return f"{name}.run"
        return self.permission

    def subjects_of(self, data: I) -> list[str]:
        """Whose data the run with input `data` is about (for the audit log): every subject
        named, each once, in the order named."""
        if self.subject is None:
            return []
        named: Any = (
            getattr(data, self.subject) if isinstance(self.subject, str) else self.subject(data)
        )
        if named is None:
            return []
        if isinstance(named, str) or not isinstance(named, Iterable):
            named = [named]
        return list(dict.fromkeys(str(each) for each in named if each is not None))


class AgentError(Exception):
    """Raised by `run` to refuse with a message for the person asking (translate it with
    `run.gettext` first): the answer is a problem document with `status` and the message as
    its detail, and the run is recorded as failed with that message."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
