"""Which `ResponseRanker` orders the canned responses.

The plugin provides the SDK's default (`MostUsed`) under a name of its own, so the unnamed
`ResponseRanker` stays free: a plugin that provides one (the learning engine) is used
instead, without either plugin importing the other, and the default returns when it
unloads.
"""

from __future__ import annotations

from mindframe.sdk import PluginContext, ServiceError
from mindframe.sdk.chat import MostUsed, ResponseRanker

DEFAULT_RANKER = "support_default_ranker"


def provide_default(ctx: PluginContext) -> None:
    ctx.provide(ResponseRanker, MostUsed(), name=DEFAULT_RANKER)


def active_ranker(ctx: PluginContext) -> ResponseRanker:
    """Another plugin's ranker when one is provided, else the default."""
    try:
        return ctx.resolve(ResponseRanker)
    except ServiceError:
        return ctx.resolve(ResponseRanker, DEFAULT_RANKER)
