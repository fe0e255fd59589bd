"""Home-visit routing agent: served over HTTP, the bus and MCP by the agent toolkit."""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext, hookimpl
from mindframe.sdk.agents import serve_agent

from .agent import AGENT


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return serve_agent(ctx, AGENT)
