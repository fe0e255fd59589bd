"""`LiveRun`: the `Run` an executor hands to an agent's `run`, replaying checkpoints.

It keeps what the run did since its last write (trace entries) and writes through the
store: the run's row becomes durable at its first checkpoint (so a restart can resume it),
each step's result is committed before the step returns, and a replay finds finished steps
in `checkpoints` and returns their results without running them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import msgspec

from ..i18n import AS_WRITTEN, Localizer, Translations
from .contracts import AuditEntry, RunChange, RunRecord, RunStore, RunView, TraceEntry
from .run import Approval, Run, Work

if TYPE_CHECKING:
    from mindframe.sdk import PluginContext

    from .declaration import Agent

T = TypeVar("T")
log = logging.getLogger("mindframe.agents")
APPROVAL = "approval"
DECISION = "decision:"
DEFAULT_POLICY_KIND = "lin_thompson"
_encode = msgspec.json.encode
_return_types: dict[Any, Any] = {}


class Paused(BaseException):
    """Raised by `approval` to stop the run at `needs_approval`; a BaseException so an
    agent's `except Exception` does not swallow it."""

    def __init__(self, proposal: bytes, summary: str) -> None:
        super().__init__("the run waits for approval")
        self.proposal = proposal
        self.summary = summary


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked for a run and in which language, as the request (or bus event) said."""

    username: str | None = None
    preferred_locale: str | None = None
    accept_language: str | None = None
    purpose: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def return_type(work: Any) -> Any:
    """What `work` is annotated to return (its awaited value for a coroutine function), for
    decoding a recorded step result; Any when it says nothing."""
    found = _return_types.get(work, _return_types)
    if found is _return_types:
        try:
            found = typing.get_type_hints(work).get("return", Any)
        except Exception:
            found = Any
        _return_types[work] = found
    return found


class LiveRun(Run):
    """One execution (first or replayed) of a run."""

    def __init__(
        self,
        ctx: PluginContext,
        agent: Agent[Any, Any],
        record: RunRecord,
        store: RunStore,
        *,
        asker: Asker,
        raw_input: bytes,
        subjects: list[str],
        checkpoints: dict[str, bytes] | None = None,
        created: bool = False,
    ) -> None:
        self.ctx = ctx
        self.declaration = agent
        self.record = record
        self.store = store
        self.asker = asker
        self.raw_input = raw_input
        self.subjects = subjects
        self.checkpoints = checkpoints or {}
        self.created = created
        self.id = record.id
        self.agent = record.agent
        self.requested_by = record.requested_by
        self.purpose = record.purpose
        self.pending_trace: list[TraceEntry] = []
        self.fraction: float | None = None
        self.message: str | None = None
        self.cancel_requested = False
        self.task: asyncio.Task[Any] | None = None
        """The task executing the run, while it does: `Executor.cancel` cancels it."""
        self.done: asyncio.Event | None = None
        """Made by `Executor.cancel` to wait for the run to end."""
        self._seq = 0
        self._uses: dict[str, int] = {}
        self._l10n: Localizer | None = None

    # --- language ----------------------------------------------------------------------------

    @property
    def locale(self) -> str:
        return self._localizer().locale

    def _localizer(self) -> Localizer:
        if self._l10n is None:
            registration = self.ctx.registration("translations")
            if registration is None:
                self._l10n = AS_WRITTEN
            else:
                translations: Translations = registration.get()
                locale = self.record.locale or translations.negotiate(
                    self.asker.preferred_locale, self.asker.accept_language
                )
                self._l10n = translations.localizer(self.agent, locale)
            self.record.locale = self.record.locale or self._l10n.locale
        return self._l10n

    def gettext(self, message: str) -> str:
        return self._localizer().gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._localizer().ngettext(singular, plural, n)

    # --- the record --------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        """`name` the first time in this execution, `name#2` the second … (steps in loops)."""
        count = self._uses.get(name, 0) + 1
        self._uses[name] = count
        return name if count == 1 else f"{name}#{count}"

    def trace(
        self, kind: Any, name: str, started: float, status: Any = "ok", detail: str | None = None
    ) -> None:
        self._seq += 1
        self.pending_trace.append(
            TraceEntry(
                seq=self._seq,
                kind=kind,
                name=name,
                started_at=datetime.fromtimestamp(started, UTC),
                duration_ms=round((time.time() - started) * 1000, 3),
                status=status,
                detail=detail,
            )
        )

    def resume_sequence(self, after: int) -> None:
        """Number this execution's trace entries after the `after` already stored."""
        self._seq = after

    def drain_trace(self) -> list[TraceEntry]:
        entries, self.pending_trace = self.pending_trace, []
        return entries

    def audit_entry(self) -> AuditEntry | None:
        """The access audit's entry for this run, for a health-data agent."""
        if not self.declaration.health_data:
            return None
        return AuditEntry(
            at=self.record.started_at,
            who=self.requested_by,
            agent=self.agent,
            run_id=self.id,
            subjects=self.subjects,
            purpose=self.purpose or self.declaration.purpose,
            action="run",
        )

    async def make_durable(self) -> None:
        """Store the running run with its input, so a restart can resume it."""
        if self.created:
            return
        self._localizer()  # the locale is kept with the run
        await self.store.save(
            RunChange(
                record=self.record,
                pending_input=self.raw_input,
                trace=self.drain_trace(),
                audit=self.audit_entry(),
            )
        )
        self.created = True

    async def _checkpoint(self, key: str, payload: bytes) -> None:
        await self.make_durable()
        change = RunChange(
            record=self.record, created=True, checkpoint=(key, payload), trace=self.drain_trace()
        )
        await self.store.save(change)
        self.checkpoints[key] = payload

    def view(self) -> RunView:
        record = self.record
        return RunView(
            run_id=self.id,
            agent=self.agent,
            status=record.status,
            progress=self.fraction,
            message=self.message,
            requested_by=record.requested_by,
            started_at=record.started_at,
        )

    # --- the toolkit -------------------------------------------------------------------------

    async def step(self, name: str, work: Work[T], *args: Any, **kwargs: Any) -> T:
        key = self._key(name)
        recorded = self.checkpoints.get(key)
        if recorded is not None:
            self.trace("step", key, time.time(), "replayed")
            return msgspec.json.decode(recorded, type=return_type(work))  # type: ignore[no-any-return]
        await self.make_durable()
        started = time.time()
        try:
            result = await _call(work, args, kwargs)
        except BaseException as error:
            self.trace("step", key, started, "error", detail=type(error).__name__)
            raise
        self.trace("step", key, started)
        await self._checkpoint(key, _encode(result))
        return result

    async def tool(self, name: str, work: Work[T], *args: Any, **kwargs: Any) -> T:
        started = time.time()
        try:
            result = await _call(work, args, kwargs)
        except BaseException as error:
            self.trace("tool", name, started, "error", detail=type(error).__name__)
            raise
        self.trace("tool", name, started)
        return result

    async def thread(self, work: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(work, *args)

    async def progress(self, fraction: float, message: str | None = None) -> None:
        from .events import agent_topics

        self.fraction = min(1.0, max(0.0, float(fraction)))
        self.message = message
        event = agent_topics(self.agent).progress(
            run_id=self.id, fraction=self.fraction, message=message
        )
        await self.ctx.publish(event)

    async def approval(self, proposal: Any, summary: str) -> Approval:
        key = self._key(APPROVAL)
        recorded = self.checkpoints.get(key)
        if recorded is not None:
            answer = msgspec.json.decode(recorded, type=Approval)
            verdict = "approved" if answer.approved else "rejected"
            self.trace("approval", key, time.time(), "replayed", detail=f"{verdict} by {answer.by}")
            return answer
        self.trace("approval", key, time.time(), "waiting")
        raise Paused(_encode(proposal), summary)

    async def decide(self, policy: str, context: Mapping[str, Any], actions: Sequence[str]) -> Any:
        learning = _learning()
        kind = learning.Decision if learning is not None else UniformDecision
        key = self._key(DECISION + policy)
        recorded = self.checkpoints.get(key)
        if recorded is not None:
            self.trace("decision", key, time.time(), "replayed")
            return msgspec.json.decode(recorded, type=kind)
        started = time.time()
        engine = self._engine()
        if engine is not None:
            await _ensure_policy(engine, learning, policy, actions)
            decision = await engine.decide(
                policy,
                dict(context),
                list(actions),
                agent=self.agent,
                subject=self.subjects[0] if len(self.subjects) == 1 else None,
            )
        elif learning is not None:
            decision = await learning.UniformPolicy(actions).decide(context, actions)
        else:
            choices = list(actions)
            decision = UniformDecision("", random.choice(choices), 1 / len(choices))
        self.trace("decision", key, started, detail=f"{policy}: {decision.action}")
        await self._checkpoint(key, _encode(decision))
        return decision

    async def reward(self, decision: Any, value: float) -> None:
        decision_id = decision if isinstance(decision, str) else decision.id
        engine = self._engine()
        started = time.time()
        if engine is not None and decision_id and not decision_id.startswith("uniform-"):
            await engine.reward(decision_id, float(value))
        self.trace("reward", decision_id or "uniform", started, detail=str(value))

    async def phrase(self, instructions: str, facts: Any) -> str | None:
        from ..llm import LanguageModel

        registration = self.ctx.registration("language_model")
        model: LanguageModel | None = registration.get() if registration is not None else None
        if model is None:
            return None
        started = time.time()
        try:
            text = await model.phrase(instructions, facts, locale=self.locale)
        except Exception as error:
            log.warning("run %s: the language model failed: %s", self.id, type(error).__name__)
            self.trace("llm", "phrase", started, "error", detail=type(error).__name__)
            return None
        self.trace("llm", "phrase", started)
        return text

    def _engine(self) -> Any:
        registration = self.ctx.registration("learning_engine")
        return registration.get() if registration is not None else None


async def _call(work: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = work(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


class UniformDecision(msgspec.Struct, frozen=True):
    """A uniformly random choice, for an installation without the learning contract."""

    id: str
    action: str
    propensity: float


def _learning() -> Any:
    """`mindframe.sdk.learning`, when this installation has the learning contract."""
    try:
        from mindframe.sdk import learning
    except ImportError:
        return None
    return learning


async def _ensure_policy(engine: Any, learning: Any, policy: str, actions: Sequence[str]) -> None:
    """Create `policy` over `actions` the first time an agent decides with it."""
    try:
        await engine.info(policy)
    except learning.UnknownPolicy:
        with contextlib.suppress(learning.PolicyExists):
            await engine.create_policy(policy, DEFAULT_POLICY_KIND, list(actions))
