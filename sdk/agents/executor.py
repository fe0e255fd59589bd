"""`Executor`: runs one served agent — new runs, replays after a restart, a reload or an
approval — and writes each run's history through the store.

A run that takes no checkpoint is written once, when it ends (the history row, its trace
and, for a health-data agent, its audit entry in one write that shares its transaction
with the runs that end at the same moment), and the answer waits for that commit. A run
that checkpoints becomes durable at its first checkpoint, with its input kept until it
ends, so `resume_interrupted` can take it up again after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from ..i18n import N_
from .contracts import SETTLED, AgentHandle, RunChange, RunRecord, RunStore, RunView, TraceEntry
from .declaration import AgentError
from .events import agent_topics
from .input_errors import input_problem, localizer_for
from .live_run import APPROVAL, DECISION, Asker, LiveRun, Paused, now
from .run import Approval

if TYPE_CHECKING:
    from mindframe.sdk import PluginContext

    from .declaration import Agent

log = logging.getLogger("mindframe.agents")
CANCEL_WAIT = 10.0
INTERNAL_ERROR = N_("the agent failed; the error has been recorded")
CANCELLED = N_("the run was cancelled")
_encode = msgspec.json.encode

LIVE: dict[str, LiveRun] = {}
"""Runs executing in this process, by id, across reloads of their agents: a new version
resumes only the interrupted runs no older version is still finishing."""


def new_run_id() -> str:
    """32 hex digits: the time in milliseconds, then 80 random bits. Unguessable (the id is
    all it takes to read an ordinary agent's run), and in time order, so each new run's row
    lands at the end of the history's key instead of anywhere in it."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


class RunFailed(Exception):
    """A run that failed or was cancelled, for callers that answer with a problem: `status`
    is the HTTP status, `view` the run."""

    def __init__(self, view: RunView, status: int) -> None:
        super().__init__(view.error or view.status)
        self.view = view
        self.status = status


class RunConflict(Exception):
    """The run is not in a state that allows the call (approving a finished run): it is
    `status` (`being answered` while another answer is recorded)."""

    def __init__(self, run_id: str, status: str) -> None:
        super().__init__(f"run {run_id} is {status}")
        self.run_id = run_id
        self.status = status


class Executor(AgentHandle):
    """Runs the agent served as `name` by `ctx`'s plugin."""

    def __init__(self, ctx: PluginContext, name: str, agent: Agent[Any, Any]) -> None:
        self.ctx = ctx
        self.name = name
        self.agent = agent
        self.topics = agent_topics(name)
        self.decode_input = msgspec.json.Decoder(agent.input).decode
        self._answering: set[str] = set()

    @property
    def store(self) -> RunStore:
        registration = self.ctx.registration("run_store")
        if registration is None:
            raise RuntimeError("no RunStore: the agents plugin is not active")
        return registration.get()  # type: ignore[no-any-return]

    # --- starting and driving runs -----------------------------------------------------------

    async def start(
        self,
        data: Any,
        *,
        requested_by: str | None = None,
        locale: str | None = None,
        purpose: str | None = None,
        wait: bool = True,
        accept_language: str | None = None,
    ) -> RunView:
        raw = _encode(data)
        store = self.store
        record = RunRecord(
            id=new_run_id(),
            agent=self.name,
            status="running",
            input_digest=store.digest(raw),
            started_at=now(),
            requested_by=requested_by,
            purpose=purpose,
            health_data=self.agent.health_data,
        )
        asker = Asker(requested_by, locale, accept_language, purpose)
        run = LiveRun(
            self.ctx,
            self.agent,
            record,
            store,
            asker=asker,
            raw_input=raw,
            subjects=self.agent.subjects_of(data),
        )
        if wait:
            return await self._drive(run, data)
        await run.make_durable()
        self.ctx.spawn(self._drive_quietly, run, data, name=f"run {record.id}")
        return run.view()

    async def _drive_quietly(self, run: LiveRun, data: Any) -> None:
        """`_drive` in the background: a failed or cancelled run is recorded, not raised."""
        with contextlib.suppress(RunFailed):
            await self._drive(run, data)

    async def _drive(self, run: LiveRun, data: Any) -> RunView:
        """Execute (or replay) `run` to its end or pause and store the outcome. Cancelled
        from outside (the plugin unloading), the run stays `running` for the next version;
        cancelled through `cancel`, it is recorded as cancelled."""
        LIVE[run.id] = run
        run.task = asyncio.current_task()
        record = run.record
        started = time.perf_counter()
        output: Any = None
        status_code = 200
        try:
            try:
                output = await self.agent.run(data, run)
                record.status = "completed"
            except Paused as pause:
                record.status = "needs_approval"
                record.proposal = pause.proposal
                record.summary = pause.summary
            except AgentError as error:
                record.status, record.error, status_code = "failed", error.message, error.status
            except asyncio.CancelledError:
                if not run.cancel_requested or run.task is None or run.task.uncancel() > 0:
                    raise
                record.status, status_code = "cancelled", 409
            except Exception as error:
                record.status, record.error, status_code = "failed", INTERNAL_ERROR, 500
                self._report(run, error)
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            if record.status != "needs_approval":
                record.finished_at = now()
            if output is not None:
                record.output = _encode(output)
            await self._settle(run)
        finally:
            LIVE.pop(run.id, None)
            run.task = None
            if run.done is not None:
                run.done.set()
        view = self._view(record, output)
        if record.status in ("failed", "cancelled"):
            raise RunFailed(view, status_code)
        return view

    async def _settle(self, run: LiveRun) -> None:
        """Store the run's outcome. A run that never checkpointed is written behind the
        answer (the writer commits it with the next transaction); one that did, or one
        holding health data (its access audit entry must be durable before the data is
        returned), waits for the commit."""
        record = run.record
        change = RunChange(
            record=record,
            created=run.created,
            trace=run.drain_trace(),
            audit=None if run.created else run.audit_entry(),
            drop_input=record.status in SETTLED,
        )
        await self.store.save(change, wait=run.created or self.agent.health_data)
        event = self.topics.status(run_id=record.id, status=record.status, error=record.error)
        await self.ctx.publish(event)

    def _report(self, run: LiveRun, error: Exception) -> None:
        """Log and report a failing run without its input (it may hold health data)."""
        if self.agent.health_data:
            log.error("agent %s: run %s failed: %s", self.name, run.id, type(error).__name__)
        else:
            log.error("agent %s: run %s failed", self.name, run.id, exc_info=error)
        if self.agent.health_data:  # its traceback's frames hold the input: leave them out
            error = RuntimeError(f"run {run.id} of {self.name} failed: {type(error).__name__}")
        self.ctx.report_error(error, agent=self.name, run_id=run.id)

    def _view(self, record: RunRecord, output: Any = None) -> RunView:
        proposal = msgspec.json.decode(record.proposal) if record.proposal else None
        if output is None and record.output is not None:
            output = msgspec.json.decode(record.output)
        return RunView(
            run_id=record.id,
            agent=record.agent,
            status=record.status,
            output=output,
            proposal=proposal if record.status == "needs_approval" else None,
            summary=record.summary if record.status == "needs_approval" else None,
            error=record.error,
            requested_by=record.requested_by,
            started_at=record.started_at,
            finished_at=record.finished_at,
            duration_ms=record.duration_ms,
        )

    # --- replaying ---------------------------------------------------------------------------

    async def resume(self, run_id: str) -> RunView:
        """Replay a stored, running run from its last checkpoint."""
        store = self.store
        stored = await store.load(run_id)
        if stored is None or stored.pending_input is None:
            raise LookupError(f"run {run_id} of agent {self.name} cannot be resumed")
        data = self.decode_input(stored.pending_input)
        record = stored.record
        asker = Asker(record.requested_by, record.locale, None, record.purpose)
        run = LiveRun(
            self.ctx,
            self.agent,
            record,
            store,
            asker=asker,
            raw_input=stored.pending_input,
            subjects=self.agent.subjects_of(data),
            checkpoints=dict(stored.checkpoints),
            created=True,
        )
        trace = await store.trace(run_id)
        run.resume_sequence(max((entry.seq for entry in trace), default=0))
        return await self._drive(run, data)

    async def resume_interrupted(self) -> None:
        """Take up this agent's runs that a restart or a reload cut off."""
        for run_id in await self.store.interrupted(self.name):
            if run_id not in LIVE:
                log.info("agent %s: resuming run %s from its last checkpoint", self.name, run_id)
                self.ctx.spawn(self._resume_quietly, run_id, name=f"resume {run_id}")

    async def _resume_quietly(self, run_id: str) -> None:
        with contextlib.suppress(RunFailed):  # recorded as failed or cancelled
            await self.resume(run_id)

    # --- what the API asks -------------------------------------------------------------------

    async def view(self, run_id: str, *, with_output: bool = True) -> RunView | None:
        live = LIVE.get(run_id)
        if live is not None and live.agent == self.name:
            return live.view()
        stored = await self.store.load(run_id)
        if stored is None or stored.record.agent != self.name:
            return None
        view = self._view(stored.record)
        if not with_output:
            view.output = None
        return view

    async def answer(self, run_id: str, approval: Any, *, wait: bool = True) -> RunView:
        if run_id in self._answering:
            raise RunConflict(run_id, "being answered")
        self._answering.add(run_id)
        try:
            store = self.store
            stored = await store.load(run_id)
            if stored is None or stored.record.agent != self.name:
                raise LookupError(run_id)
            record = stored.record
            if record.status != "needs_approval":
                raise RunConflict(run_id, record.status)
            key = _next_key(APPROVAL, stored.checkpoints)
            record.status = "running"
            verdict = "approved" if approval.approved else "rejected"
            trace = await store.trace(run_id)
            entry = TraceEntry(
                seq=max((e.seq for e in trace), default=0) + 1,
                kind="approval",
                name=key,
                started_at=approval.at,
                duration_ms=round((now() - record.started_at).total_seconds() * 1000, 3),
                detail=f"{verdict} by {approval.by}",
            )
            change = RunChange(
                record=record, created=True, checkpoint=(key, _encode(approval)), trace=[entry]
            )
            await store.save(change)
        finally:
            self._answering.discard(run_id)
        if wait:
            return await self.resume(run_id)
        self.ctx.spawn(self._resume_quietly, run_id, name=f"resume {run_id}")
        return self._view(record)

    async def cancel(self, run_id: str) -> RunView:
        live = LIVE.get(run_id)
        if live is not None and live.agent == self.name and live.task is not None:
            live.done = asyncio.Event()
            live.cancel_requested = True
            live.task.cancel()
            with anyio.fail_after(CANCEL_WAIT):
                await live.done.wait()
            return self._view(live.record)
        store = self.store
        stored = await store.load(run_id)
        if stored is None or stored.record.agent != self.name:
            raise LookupError(run_id)
        record = stored.record
        if record.status in SETTLED:
            raise RunConflict(run_id, record.status)
        record.status = "cancelled"
        record.finished_at = now()
        await store.save(RunChange(record=record, created=True, drop_input=True))
        await self.ctx.publish(self.topics.status(run_id=run_id, status="cancelled"))
        return self._view(record)

    async def reward(self, run_id: str, value: float) -> list[str]:
        stored = await self.store.load(run_id)
        if stored is None or stored.record.agent != self.name:
            raise LookupError(run_id)
        ids = []
        for name, payload in stored.checkpoints.items():
            if name.startswith(DECISION):
                decision_id = msgspec.json.decode(payload).get("id")
                if decision_id:
                    ids.append(decision_id)
        registration = self.ctx.registration("learning_engine")
        if registration is not None:
            engine = registration.get()
            for decision_id in ids:
                await engine.reward(decision_id, float(value))
        return ids

    async def on_bus_request(self, event: Any) -> dict[str, Any]:
        """`agents.<agent>.run`: run on the event's input and reply with the run (or a
        problem document)."""
        try:
            data = msgspec.convert(event.input, self.agent.input)
        except msgspec.ValidationError as error:
            return input_problem(error, localizer_for(self.ctx, event.locale))
        try:
            view = await self.start(
                data,
                requested_by=event.requested_by,
                locale=event.locale,
                purpose=event.purpose,
            )
        except RunFailed as failure:
            return msgspec.to_builtins(failure.view)  # type: ignore[no-any-return]
        return msgspec.to_builtins(view)  # type: ignore[no-any-return]


def _next_key(name: str, checkpoints: dict[str, bytes]) -> str:
    """The key the next use of `name` in a replay gets: the first of name, name#2 … free."""
    count = 1
    while (name if count == 1 else f"{name}#{count}") in checkpoints:
        count += 1
    return name if count == 1 else f"{name}#{count}"


__all__ = ["LIVE", "Approval", "Executor", "RunConflict", "RunFailed"]
