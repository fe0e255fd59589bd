"""demo-refill: the example agent to copy. `agent.py` holds everything it does."""

from typing import Any

from mindframe.sdk import PluginContext, hookimpl
from mindframe.sdk.agents import serve_agent

from .agent import AGENT


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return serve_agent(ctx, AGENT)
