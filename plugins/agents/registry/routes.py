"""HTTP under `/api/agents/`: the agents (schemas, titles in the caller's locale), their run
history, each run with its trace, approving, rejecting, cancelling and rewarding runs, and
the access audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody

from mindframe.sdk import PluginContext
from mindframe.sdk.agents import Approval, RegisteredAgent, RunView, TraceEntry
from mindframe.sdk.agents.executor import RunConflict, RunFailed
from mindframe.sdk.agents.serving import run_problem, run_response, wants_async
from mindframe.sdk.auth import authorized, request_service, requires_permission
from mindframe.sdk.http import Limit, Offset
from mindframe.sdk.i18n import AS_WRITTEN, Localizer, Translations

from .access import READ_ANY, may_see
from .audit_log import AccessAudit
from .registry import Registry
from .store import SqlRunStore

AUDIT_READ = "audit.read"


class Verdict(msgspec.Struct, kw_only=True):
    comment: str | None = None


class Reward(msgspec.Struct, kw_only=True):
    value: float


class HistoryRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    run_id: str
    status: str
    input_digest: str
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: float | None = None
    requested_by: str | None = None
    error: str | None = None


def build(
    ctx: PluginContext, registry: Registry, store: SqlRunStore, audit: AccessAudit
) -> list[Any]:
    """The handlers, closed over the plugin's registry, store and audit."""

    def localizer(request: Request, agent: str) -> Localizer:
        translations = request_service(request, Translations)
        return AS_WRITTEN if translations is None else translations.for_request(request, agent)

    def served(agent: str) -> RegisteredAgent:
        entry = registry.get(agent)
        if entry is None:
            raise NotFoundException(ctx.gettext("no agent named {agent}").format(agent=agent))
        return entry

    async def run_of(run_id: str) -> RegisteredAgent:
        stored = await store.load(run_id)
        if stored is None:
            raise NotFoundException(ctx.gettext("no run {run_id}").format(run_id=run_id))
        entry = registry.get(stored.record.agent)
        if entry is None:
            message = ctx.gettext("the agent {agent} of this run is not served now")
            raise HTTPException(status_code=503, detail=message.format(agent=stored.record.agent))
        return entry

    @get("/", summary="Every agent: name, industry, title, description and JSON schemas")
    async def list_agents(request: Request) -> list[dict[str, Any]]:
        return [entry.describe(localizer(request, entry.name)) for entry in registry.all()]

    @get("/{agent:str}", summary="One agent: industry, title, description and JSON schemas")
    async def show_agent(request: Request, agent: FromPath[str]) -> dict[str, Any]:
        entry = served(agent)
        return entry.describe(localizer(request, entry.name))

    @get(
        "/{agent:str}/runs",
        guards=[requires_permission(READ_ANY)],
        summary="An agent's run history, newest first (input digests, never inputs)",
    )
    async def history(
        agent: FromPath[str], before: FromQuery[datetime | None] = None
    ) -> list[HistoryRow]:
        limit = ctx.settings.history_limit
        records = await store.history(agent, limit=limit, before=before)
        return [
            HistoryRow(
                run_id=record.id,
                status=record.status,
                input_digest=record.input_digest,
                started_at=record.started_at,
                finished_at=record.finished_at,
                duration_ms=record.duration_ms,
                requested_by=record.requested_by,
                error=record.error,
            )
            for record in records
        ]

    @get("/runs/{run_id:str}", summary="A run: status, progress, output or proposal")
    async def show_run(request: Request, run_id: FromPath[str]) -> RunView:
        entry = await run_of(run_id)
        await may_see(request, entry, store, audit, run_id)
        view = await entry.handle.view(run_id)
        assert view is not None
        return view

    @get("/runs/{run_id:str}/trace", summary="What a run did: steps, tool calls, durations")
    async def show_trace(request: Request, run_id: FromPath[str]) -> list[TraceEntry]:
        entry = await run_of(run_id)
        await may_see(request, entry, store, audit, run_id)
        return await store.trace(run_id)

    async def answer(request: Request, run_id: str, approved: bool, comment: str | None) -> Any:
        entry = await run_of(run_id)
        identity = await authorized(request, entry.agent.approver)
        approval = Approval(
            approved=approved, by=identity.username, at=datetime.now(UTC), comment=comment
        )
        try:
            view = await entry.handle.answer(run_id, approval, wait=not wants_async(request))
        except RunConflict as conflict:
            raise HTTPException(status_code=409, detail=_conflict(ctx, conflict)) from None
        except RunFailed as failure:
            raise run_problem(failure, request) from None
        return run_response(view)

    @post("/runs/{run_id:str}/approve", status_code=200, summary="Approve what a run proposes")
    async def approve(
        request: Request, run_id: FromPath[str], data: JSONBody[Verdict | None] = None
    ) -> Response[RunView]:
        return await answer(request, run_id, True, data.comment if data else None)

    @post("/runs/{run_id:str}/reject", status_code=200, summary="Reject what a run proposes")
    async def reject(
        request: Request, run_id: FromPath[str], data: JSONBody[Verdict | None] = None
    ) -> Response[RunView]:
        return await answer(request, run_id, False, data.comment if data else None)

    @post("/runs/{run_id:str}/cancel", status_code=200, summary="Cancel a run")
    async def cancel(request: Request, run_id: FromPath[str]) -> RunView:
        entry = await run_of(run_id)
        await may_see(request, entry, store, audit, run_id)
        try:
            return await entry.handle.cancel(run_id)
        except RunConflict as conflict:
            raise HTTPException(status_code=409, detail=_conflict(ctx, conflict)) from None

    @post(
        "/runs/{run_id:str}/reward",
        status_code=200,
        summary="Report how a run's decisions turned out, to the learning engine",
    )
    async def reward(
        request: Request, run_id: FromPath[str], data: JSONBody[Reward]
    ) -> dict[str, Any]:
        entry = await run_of(run_id)
        await may_see(request, entry, store, audit, run_id)
        return {"rewarded": await entry.handle.reward(run_id, data.value)}

    @get(
        "/audit",
        guards=[requires_permission(AUDIT_READ)],
        summary="The access audit of health-data agents, in order",
    )
    async def read_audit(
        agent: FromQuery[str | None] = None,
        subject: FromQuery[str | None] = None,
        after: FromQuery[Offset] = 0,
        limit: FromQuery[Limit] = 100,
    ) -> list[dict[str, Any]]:
        return await audit.entries(
            agent=agent, subject=subject, after=after, limit=max(1, min(limit, 1000))
        )

    return [
        list_agents,
        show_agent,
        history,
        show_run,
        show_trace,
        approve,
        reject,
        cancel,
        reward,
        read_audit,
    ]


def _conflict(ctx: PluginContext, conflict: RunConflict) -> str:
    return ctx.gettext("run {run_id} is {status}: that cannot be done now").format(
        run_id=conflict.run_id, status=conflict.status
    )
