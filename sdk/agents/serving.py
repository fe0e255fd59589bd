"""`serve_agent(ctx, agent)`: everything an agent gets for free, wired in one call: its entry
in the registry, its bus topic, its interrupted runs taken up again, and `POST /run`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException

from mindframe.sdk import PluginContext, ServiceError

from ..auth import Identity, authorized, current_identity, declare_permissions
from ..endpoints import Handler, Problem, json_response
from ..endpoints import Request as EndpointRequest
from ..endpoints import Response as EndpointResponse
from ..http import TOO_DEEP, require_json_content_type
from ..i18n import N_, request_localizer
from .contracts import AgentRegistry, RegisteredAgent, RunView
from .declaration import RESERVED_AGENT_NAMES, Agent
from .executor import CANCELLED, INTERNAL_ERROR, Executor, RunFailed
from .input_errors import input_problem
from .schemas import schema_of

RUN_PERMISSION = N_("Run the agent {agent}")
ASYNC_PREFERENCE = "respond-async"
BUS_CONCURRENCY = 32


def serve_agent(ctx: PluginContext, agent: Agent[Any, Any]) -> list[Any]:
    """Serve `agent` as `ctx`'s plugin: register it with the `agents` plugin's registry (until
    the plugin unloads), answer `agents.<name>.run` on the bus, resume its interrupted runs,
    and serve `POST /api/<name>/run`; returns the plugin's Litestar routes (none: call it
    from `register_routes` and return what it gives)."""
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
    ctx.endpoint(
        ["POST"], "/run", run_endpoint(executor, permission), openapi=run_operation(name, agent)
    )
    return []


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


def run_problem(failure: RunFailed, request: ASGIConnection[Any, Any, Any, Any]) -> HTTPException:
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


def run_endpoint(executor: Executor, permission: str | None) -> Handler:
    """`POST /run`, served by the kernel as a lean endpoint (the hot path of every agent):
    the agent on the JSON body. 200 with the run once it completed; 202 with `Location`
    when it waits for approval or the client sent `Prefer: respond-async`; problem details
    (with `run_id`) when it failed or was cancelled, and 400 with the field and the reason
    in the asker's language when the input does not fit."""
    decode = msgspec.json.Decoder(executor.agent.input, strict=False).decode

    async def run(request: EndpointRequest) -> EndpointResponse:
        headers = request.headers
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(request.scope)
        try:
            identity = await asker_of(connection, headers, permission)
            data = read_input(request, decode, connection)
            result = await executor.start(
                data,
                requested_by=identity.username if identity is not None else None,
                locale=identity.locale if identity is not None else None,
                purpose=request.query.get("purpose") if request.query_string else None,
                wait=ASYNC_PREFERENCE not in headers.get("prefer", ""),
                accept_language=headers.get("accept-language"),
            )
        except RunFailed as failure:  # answered by the kernel as its problem
            raise run_problem(failure, connection) from None
        if result.status == "completed":
            return json_response(result)
        location = f"/api/agents/runs/{result.run_id}"
        return json_response(result, status=202, headers={"Location": location})

    return run


async def asker_of(
    connection: ASGIConnection[Any, Any, Any, Any],
    headers: dict[str, str],
    permission: str | None,
) -> Identity | None:
    """Who runs the agent: a holder of `permission` when the agent needs one (401 or 403
    otherwise), else whoever the credentials say, if the request sent any."""
    if permission is not None:
        return await authorized(connection, permission)
    if "authorization" in headers or "cookie" in headers:
        return await current_identity(connection)
    return None


def read_input(
    request: EndpointRequest,
    decode: Callable[[bytes], Any],
    connection: ASGIConnection[Any, Any, Any, Any],
) -> Any:
    """The body as the agent's input: 415 unless it is declared JSON, 400 (in the asker's
    language, with the field) when it does not fit."""
    require_json_content_type(request.scope)
    try:
        return decode(request.body or b"null")
    except msgspec.DecodeError as error:
        problem = input_problem(error, request_localizer(connection))
        raise Problem(400, problem["detail"], errors=problem["errors"]) from None
    except RecursionError:
        raise Problem(400, TOO_DEEP) from None


def run_operation(name: str, agent: Agent[Any, Any]) -> dict[str, Any]:
    """`POST /run` in the OpenAPI document: the agent's input and its run view."""
    given = {"application/json": {"schema": inline_definitions(schema_of(agent.input))}}
    answered = {
        "application/json": {"schema": inline_definitions(schema_of(view_type(name, agent)))}
    }
    purpose = {"name": "purpose", "in": "query", "required": False, "schema": {"type": "string"}}
    return {
        "post": {
            "summary": agent.title,
            "description": agent.description,
            "tags": ["agents"],
            "operationId": f"{name}-run",
            "parameters": [purpose],
            "requestBody": {"required": True, "content": given},
            "responses": {
                "200": {"description": "The run, completed", "content": answered},
                "202": {
                    "description": "The run, waiting for approval or going on",
                    "content": answered,
                },
                "400": {"description": "The input does not fit the agent's input"},
                "401": {"description": "Signing in is needed"},
                "403": {"description": "The agent's run permission is needed"},
            },
        }
    }


def inline_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with each `$ref` to its `$defs` replaced by the definition, so it stands on
    its own inside the OpenAPI document (where `#/$defs/...` would point nowhere)."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            name = ref.rpartition("/")[2]
            if ref.startswith("#/$defs/") and name in definitions and name not in seen:
                return resolve(definitions[name], seen | {name})
            return {k: resolve(v, seen) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        return node

    return resolve(schema, frozenset())  # type: ignore[no-any-return]
