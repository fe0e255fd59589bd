"""Provides the Clock service."""

from mindframe.sdk import PluginContext, hookimpl

from .contracts import Clock


@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(Clock, Clock())
