"""Agents as MCP tools: a tool per agent the caller may run, and a tool call as a run."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import msgspec

from mindframe.sdk.agents import RegisteredAgent, RunView
from mindframe.sdk.agents.executor import RunFailed
from mindframe.sdk.agents.input_errors import input_problem
from mindframe.sdk.auth import Identity
from mindframe.sdk.i18n import N_, Localizer

if TYPE_CHECKING:
    import mcp_types

UNKNOWN_TOOL = N_("no tool named {name}")
NOT_PERMITTED = N_("this needs the permission '{permission}'")
WAITING = N_("The run {run_id} waits for approval: {summary}")
RUNNING = N_("The run {run_id} goes on; read it at /api/agents/runs/{run_id}")


def may_run(identity: Identity, entry: RegisteredAgent) -> bool:
    permission = entry.agent.run_permission(entry.name)
    return permission is None or identity.can(permission)


def tool_of(entry: RegisteredAgent, l10n: Localizer) -> mcp_types.Tool:
    import mcp_types

    described = entry.describe(l10n)
    return mcp_types.Tool(
        name=entry.name,
        title=described["title"],
        description=described["description"],
        input_schema=described["input_schema"],
    )


async def call(
    entry: RegisteredAgent | None,
    name: str,
    arguments: dict[str, Any],
    identity: Identity,
    l10n: Localizer,
) -> mcp_types.CallToolResult:
    """Run the agent `name` on `arguments` as `identity`; its run as the tool's result."""
    if entry is None:
        return refusal(l10n.gettext(UNKNOWN_TOOL).format(name=name))
    if not may_run(identity, entry):
        permission = entry.agent.run_permission(entry.name)
        return refusal(l10n.gettext(NOT_PERMITTED).format(permission=permission))
    try:
        data = msgspec.convert(arguments, entry.agent.input)
    except msgspec.ValidationError as error:
        problem = input_problem(error, l10n)
        return refusal(problem["detail"], {"errors": problem["errors"]})
    try:
        view = await entry.handle.start(
            data, requested_by=identity.username, locale=l10n.locale, purpose=None
        )
    except RunFailed as failure:
        return result(failure.view, l10n, error=True)
    return result(view, l10n)


def result(view: RunView, l10n: Localizer, *, error: bool = False) -> mcp_types.CallToolResult:
    """The run as a tool result: its view as structured content, and as text the output (or
    what the run waits for, or why it failed)."""
    import mcp_types

    structured = msgspec.to_builtins(view)
    if view.status == "completed":
        text = json.dumps(structured["output"], ensure_ascii=False)
    elif view.status == "needs_approval":
        text = l10n.gettext(WAITING).format(run_id=view.run_id, summary=view.summary)
    elif error:
        text = l10n.gettext(view.error) if view.error else view.status
    else:
        text = l10n.gettext(RUNNING).format(run_id=view.run_id)
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(text=text)], structured_content=structured, is_error=error
    )


def refusal(message: str, structured: dict[str, Any] | None = None) -> mcp_types.CallToolResult:
    """A tool error saying `message`; with `structured` (the input's `errors`) as well."""
    import mcp_types

    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(text=message)],
        structured_content=structured,
        is_error=True,
    )
