"""Learning: policies that improve with use, and A/B tests that need no live traffic.

`Engine` (`engine.py`) is the `LearningEngine` service of `mindframe.sdk.learning`: learners
(`bandits.py`, `linear.py`, `tabular.py`) decide and learn in memory, every decision and
reward goes to a durable log (`log_writer.py`), and learned state is checkpointed and handed
across reloads. Candidates are judged off-policy (`ope.py`, `candidates.py`); live splits
are `experiments.py`. HTTP is `routes.py`, the bus `bus.py`.
"""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext, Subject, hookimpl
from mindframe.sdk.auth import declare_permissions
from mindframe.sdk.learning import LearningEngine

from . import bus, models, personal_data, routes
from .access import PERMISSIONS
from .engine import Engine
from .settings import LearningSettings


def engine(ctx: PluginContext) -> Engine:
    return ctx.resolve(LearningEngine)  # type: ignore[return-value]


@hookimpl
def settings_model() -> type[LearningSettings]:
    return LearningSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(LearningEngine, Engine(ctx, ctx.settings))
    declare_permissions(ctx, PERMISSIONS)


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return routes.build(ctx, engine(ctx))


@hookimpl
def register_subscriptions(ctx: PluginContext) -> None:
    bus.subscribe(ctx, engine(ctx))


@hookimpl
async def startup(ctx: PluginContext) -> None:
    service = engine(ctx)
    await service.load()
    ctx.spawn(service.log.run, name="learning log writer")
    ctx.singleton("checkpoints", _checkpoints(service), every=ctx.settings.checkpoint_interval)


def _checkpoints(service: Engine) -> Any:
    async def checkpoint() -> None:
        service.checkpoint_all()

    return checkpoint


@hookimpl
async def shutdown(ctx: PluginContext) -> None:
    await engine(ctx).close()


@hookimpl
def snapshot_state(ctx: PluginContext) -> Any:
    return engine(ctx).snapshot()


@hookimpl
def restore_state(ctx: PluginContext, state: Any) -> None:
    engine(ctx).restore(state or {})


@hookimpl
async def health(ctx: PluginContext) -> dict[str, Any]:
    service = engine(ctx)
    return {
        "ok": service.log.last_error is None,
        "policies": len(service.live),
        "log_queue": service.log.depth,
        "commits": service.log.commits,
        "open_decisions": service.open_decisions,
        "last_error": service.log.last_error,
    }


@hookimpl
async def export_personal_data(ctx: PluginContext, subject: Subject) -> Any:
    return await personal_data.export(engine(ctx), subject)


@hookimpl
async def erase_personal_data(ctx: PluginContext, subject: Subject) -> None:
    await personal_data.erase(engine(ctx), subject)
