"""`serve_agent(ctx, agent)`: everything an agent gets for free, wired in one call: its entry
in the registry, its bus topic, its interrupted runs taken up again, and `POST /run`."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromQuery, JSONBody

from mindframe.sdk import PluginContext, ServiceError

from ..auth import current_identity, declare_permissions, requires_permission
from ..i18n import N_, request_localizer
from .contracts import AgentRegistry, RegisteredAgent, RunView
from .declaration import RESERVED_AGENT_NAMES, Agent
from .executor import CANCELLED, INTERNAL_ERROR, Executor, RunFailed
from .input_errors import AgentInputRequest
from .schemas import schema_of

RUN_PERMISSION = N_("Run the agent {agent}")
ASYNC_PREFERENCE = "respond-async"
BUS_CONCURRENCY = 32


def serve_agent(ctx: PluginContext, agent: Agent[Any, Any]) -> list[Any]:
    """Serve `agent` as `ctx`'s plugin: register it with the `agents` plugin's registry (until
    the plugin unloads), answer `agents.<name>.run` on the bus, resume its interrupted runs,
    and return the route handlers of `/api/<name>/` (call it from `register_routes`)."""
    name = ctx.name
    if name in RESERVED_AGENT_NAMES:
        raise ValueError(f"an agent cannot be called {name!r}: /api/agents/{name} is taken")
    try:
        registry = ctx.resolve(AgentRegistry)
    except ServiceError:
        raise ServiceError(
            f'agent {name} needs the agents plugin: add requires = ["agents"] to its plugin.toml'
        ) from None
    executor = Executor(ctx, name, agent)
    entry = RegisteredAgent(
        name=name,
        agent=agent,
        handle=executor,
        input_schema=schema_of(agent.input),
        output_schema=schema_of(agent.output),
    )
    ctx.on_unload(registry.register(entry), f"agent {name} in the registry")
    permission = agent.run_permission(name)
    if permission is not None:
        declare_permissions(ctx, {permission: RUN_PERMISSION.format(agent=name)})
    ctx.subscribe(
        executor.topics.run.topic,
        executor.on_bus_request,
        concurrency=BUS_CONCURRENCY,
        max_retries=0,
    )
    ctx.spawn(executor.resume_interrupted, name=f"resume interrupted runs of {name}")
    return [run_route(executor, permission)]


CREDENTIALS = frozenset({b"authorization", b"cookie"})
"""The headers an authenticator reads (a session cookie, a bearer token): a request with
neither is anonymous without asking."""


def scope_headers(request: Request) -> dict[bytes, str]:
    """The request's headers by lower-case name, read once from the ASGI scope (a repeated
    header keeps its last value)."""
    return {name: value.decode("latin-1") for name, value in request.scope["headers"]}


def wants_async(request: Request) -> bool:
    """Whether the client sent `Prefer: respond-async` (RFC 7240): answer 202 at once."""
    preference = request.headers.get("prefer")
    return bool(preference and ASYNC_PREFERENCE in preference)


def run_response(view: RunView) -> Response[Any]:
    """200 with a completed run; 202 with `Location` for one that goes on or waits."""
    if view.status == "completed":
        return Response(view)
    location = f"/api/agents/runs/{view.run_id}"
    return Response(view, status_code=202, headers={"Location": location})


def run_problem(failure: RunFailed, request: Request) -> HTTPException:
    """A failed or cancelled run as problem details, with its `run_id` and `run_status`;
    the toolkit's own messages in the request's locale (an agent's are translated already)."""
    view = failure.view
    detail = view.error or CANCELLED
    if detail in (INTERNAL_ERROR, CANCELLED):
        detail = request_localizer(request).gettext(detail)
    return HTTPException(
        status_code=failure.status,
        detail=detail,
        extra={"run_id": view.run_id, "run_status": view.status},
    )


def view_type(name: str, agent: Agent[Any, Any]) -> type[RunView]:
    """`RunView` with `output` typed as the agent's output, for the OpenAPI document."""
    stem = "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
    return msgspec.defstruct(
        f"{stem}Run",
        [("output", agent.output | None, None)],
        bases=(RunView,),
        kw_only=True,
        omit_defaults=True,
    )


def run_route(executor: Executor, permission: str | None) -> HTTPRouteHandler:
    """`POST /run`: the agent on the JSON body. 200 with the run once it completed; 202 with
    `Location` when it waits for approval or the client sent `Prefer: respond-async`;
    problem details (with `run_id`) when it failed or was cancelled, and 400 with the
    field and the reason in the asker's language when the input does not fit."""
    agent = executor.agent
    view = view_type(executor.name, agent)

    async def run(request: Request, data: Any, purpose: str | None = None) -> Any:
        headers = scope_headers(request)
        identity = await current_identity(request) if CREDENTIALS & headers.keys() else None
        try:
            result = await executor.start(
                data,
                requested_by=identity.username if identity is not None else None,
                locale=identity.locale if identity is not None else None,
                purpose=purpose,
                wait=ASYNC_PREFERENCE not in headers.get(b"prefer", ""),
                accept_language=headers.get(b"accept-language"),
            )
        except RunFailed as failure:
            raise run_problem(failure, request) from None
        if result.status == "completed":
            return result  # encoded by Litestar as the route's 200
        return run_response(result)

    run.__annotations__ = {
        "request": Request,
        "data": JSONBody[agent.input],  # type: ignore[name-defined]
        "purpose": FromQuery[str | None],
        "return": view,
    }
    return post(
        "/run",
        request_class=AgentInputRequest,
        guards=[requires_permission(permission)] if permission else None,
        summary=agent.title,
        description=agent.description,
        status_code=200,
        tags=["agents"],
    )(run)
