"""agents: the registry every agent registers with, their runs' history, traces and
approvals over HTTP, and the access audit of health-data agents."""

from __future__ import annotations

from typing import Any, cast

import click

from mindframe.sdk import PluginContext, Subject, hookimpl
from mindframe.sdk.agents import AgentRegistry, RunStore
from mindframe.sdk.auth import declare_permissions

from . import models, personal_data, routes
from .audit_log import AccessAudit
from .registry import Registry
from .run_spool import open_spool
from .sealing import Sealer, load_secret
from .settings import AgentsSettings
from .store import SqlRunStore

PERMISSIONS = {
    "agents.read": "Read every agent's run history and runs",
    "agents.approve": "Approve or reject what an agent's run proposes",
    "audit.read": "Read the access audit of agents handling health data",
}


def registry_of(ctx: PluginContext) -> Registry:
    """The registry this plugin provided, with its store and audit."""
    return cast(Registry, ctx.resolve(AgentRegistry))


@hookimpl
def settings_model() -> type[AgentsSettings]:
    return AgentsSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    store = SqlRunStore(ctx)
    registry = Registry(store, AccessAudit(ctx, store.writer.settled))
    ctx.provide(AgentRegistry, registry)
    ctx.provide(RunStore, registry.store)
    declare_permissions(ctx, PERMISSIONS)


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    registry = registry_of(ctx)
    return routes.build(ctx, registry, registry.store, registry.audit)


@hookimpl
async def startup(ctx: PluginContext) -> None:
    registry = registry_of(ctx)
    configured = ctx.settings.secret_key

    def secret(session: Any) -> bytes:
        return load_secret(session, configured)

    sealer = Sealer(await ctx.transaction(secret))
    batch = ctx.settings.writer_process_min_batch
    registry.store.open(sealer, open_spool(ctx), ctx.process_pool() if batch else None, batch)
    registry.audit.sealer = sealer
    await registry.store.replay_spool()  # runs a killed process answered: before any new one
    registry.store.writer.start()


@hookimpl
def register_cli(group: click.Group) -> None:
    from .cli import audit

    group.add_command(audit)


@hookimpl
async def health(ctx: PluginContext) -> dict[str, Any]:
    registry = registry_of(ctx)
    writer = registry.store.writer
    return {
        "ok": writer.running and writer.last_error is None,
        "agents": len(registry.all()),
        "queued_writes": writer.depth,
        "transactions": writer.transactions,
        "last_error": writer.last_error,
    }


@hookimpl
async def export_personal_data(ctx: PluginContext, subject: Subject) -> Any:
    return await personal_data.export(ctx, subject)


@hookimpl
async def erase_personal_data(ctx: PluginContext, subject: Subject) -> None:
    await personal_data.erase(ctx, subject)
