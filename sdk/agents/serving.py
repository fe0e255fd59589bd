"""`serve_agent(ctx, agent)`: everything an agent gets for free, wired in one call."""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext

from .declaration import Agent


def serve_agent(ctx: PluginContext, agent: Agent[Any, Any]) -> list[Any]:
    """Serve `agent` as `ctx`'s plugin: register it with the `agents` plugin's registry (until
    the plugin unloads), answer `agents.<name>.run` on the bus, resume its interrupted runs,
    and return the route handlers of `/api/<name>/` (call it from `register_routes`)."""
    raise NotImplementedError("the agent executor lands in the next commit")
