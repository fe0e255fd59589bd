"""Throw-away agent plugins for the toolkit's tests: an agent is `agent.py` plus the same
two-line wiring every agent has."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mindframe.sdk.testing import PluginFactory

WIRING = """
from typing import Any

from mindframe.sdk import PluginContext, hookimpl
from mindframe.sdk.agents import serve_agent

from .agent import AGENT


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return serve_agent(ctx, AGENT)
"""


def write_agent(
    factory: PluginFactory, name: str, agent: str, *, version: str = "0.1.0", extra: str = ""
) -> Path:
    """An agent plugin `name` whose `agent.py` is `agent` (dedented)."""
    return factory.make(
        name,
        WIRING,
        version=version,
        requires=["agents"],
        extra_manifest=extra,
        files={"agent.py": textwrap.dedent(agent)},
    )
