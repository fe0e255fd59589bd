"""Which `ResponseRanker` orders the canned responses, first that applies:

1. a `ResponseRanker` another plugin provides (unnamed): it replaces the others;
2. with a learning engine running (`mindframe.sdk.learning.LearningEngine`), the ranker
   that learns from agents' choices (`learned_ranking.py`), falling back to the default;
3. the default, the SDK's `MostUsed`, which this plugin provides under a name of its own so
   the unnamed service stays free for (1).

No plugin imports another: each is found as a service when it is asked for, so one that
starts, stops or reloads later is picked up at the next ranking.
"""

from __future__ import annotations

from mindframe.sdk import PluginContext, ServiceError
from mindframe.sdk.chat import MostUsed, ResponseRanker
from mindframe.sdk.learning import LearningEngine

from .learned_ranking import LearnedRanker

DEFAULT_RANKER = "support_default_ranker"
_learned: dict[int, LearnedRanker] = {}
"""The learned ranker of each engine instance (a reloaded engine gets a new one)."""


def provide_default(ctx: PluginContext) -> None:
    ctx.provide(ResponseRanker, MostUsed(), name=DEFAULT_RANKER)
    ctx.on_unload(_learned.clear, "learned rankers")


def active_ranker(ctx: PluginContext) -> ResponseRanker:
    try:
        return ctx.resolve(ResponseRanker)
    except ServiceError:
        pass
    default = ctx.resolve(ResponseRanker, DEFAULT_RANKER)
    try:
        engine = ctx.resolve(LearningEngine)
    except ServiceError:
        return default
    learned = _learned.get(id(engine))
    if learned is None or learned.engine is not engine:
        _learned.clear()
        learned = _learned[id(engine)] = LearnedRanker(engine, default)
    return learned
