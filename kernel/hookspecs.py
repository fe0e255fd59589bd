"""The plugin API: every hook a Mindframe plugin can implement.

This module is the reference documentation for plugin authors; `docs/hooks.md` is
generated from it. A plugin implements only the hooks it needs, as plain or `async`
functions in its package's `__init__.py`, marked with `@hookimpl` from `mindframe.sdk`::

    from mindframe.sdk import PluginContext, hookimpl

    @hookimpl
    async def startup(ctx: PluginContext) -> None:
        ctx.log.info("ready")

An implementation may take fewer arguments than the spec names (pluggy passes only the
ones it asks for), but never other names: a misspelt argument or an unknown hook name is
reported when the plugin loads, and that plugin is marked failed.

Hooks that take `ctx` are called once per plugin, with that plugin's own context, in
dependency order (a plugin's requirements first); `shutdown` runs in reverse order.
Everything acquired through `ctx` is recorded in the plugin's ownership ledger and
released when the plugin is unloaded, disabled or reloaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pluggy import HookspecMarker

if TYPE_CHECKING:
    import click

    from mindframe.sdk import PluginContext, PluginSettings, Subject

PROJECT = "mindframe"
hookspec = HookspecMarker(PROJECT)


# --- lifecycle -----------------------------------------------------------------------


@hookspec
def startup(ctx: PluginContext) -> None:
    """Start the plugin; may be `async`. Called after every `register_*` hook of the plugin.

    Open connections and start background work here (`ctx.spawn(...)` so the task is
    cancelled on unload), and declare WebSocket endpoints (`ctx.socket("/ws", handler)`,
    see `mindframe.sdk.sockets`): the kernel holds those sockets, so a reload hands them to
    the new version's handler instead of closing them. If it raises, or runs past the
    manifest's `startup_timeout` (10 s by default), the plugin is marked failed with the
    traceback, everything it had acquired is released, and the plugins that require it are
    held back.
    """


@hookspec
def shutdown(ctx: PluginContext) -> None:
    """Stop the plugin; may be `async`. Called in reverse dependency order.

    Only undo what `startup` did outside the context: services, routes, subscriptions,
    tasks and sessions acquired through `ctx` are released by the kernel afterwards,
    even if this hook raises.
    """


@hookspec
def snapshot_state(ctx: PluginContext) -> Any:
    """Return state to hand to the next version of this plugin across a hot reload.

    Called on the old version just before it stops. The value is passed unchanged to the
    new version's `restore_state`; keep it to plain data (dicts, lists, strings, numbers),
    since the new code may define its classes differently.
    """


@hookspec
def restore_state(ctx: PluginContext, state: Any) -> None:
    """Take the state the previous version returned from `snapshot_state`; may be `async`.

    Called on the new version after its `startup`, before held requests and events are
    released to it. If it raises, the reload is rolled back to the old version.
    """


# --- wiring --------------------------------------------------------------------------


@hookspec
def settings_model() -> type[PluginSettings]:
    """Return the pydantic model that validates this plugin's settings section.

    The section is built from the manifest's `[settings]` defaults, then the plugin's
    table in `mindframe.toml`, then `MINDFRAME_<PLUGIN>__<KEY>` environment variables.
    A value of the wrong type names the plugin, the key and the expected type, and the
    plugin is marked failed. Without this hook `ctx.settings` is the merged `dict`.
    """


@hookspec
def register_services(ctx: PluginContext) -> None:
    """Offer services to other plugins with `ctx.provide(ServiceType, instance_or_factory)`.

    A service is found by its type (and an optional name) from other plugins'
    `ctx.resolve(ServiceType)` and, by parameter name, from Litestar handlers: a service
    of type `GreetingService` is injected into `def handler(greeting_service: ...)`.
    """


@hookspec
def register_tables(ctx: PluginContext) -> Any:
    """Return the SQLAlchemy tables this plugin owns: a `MetaData`, or a list of `Table`s
    or declarative model classes.

    Table names must start with the plugin's prefix (`ctx.table_prefix`, the plugin name
    with `-` as `_`, then `_`). Missing tables are created before `startup`. Unloading a
    plugin never drops its tables: the data stays for its next version.
    """


@hookspec
def register_subscriptions(ctx: PluginContext) -> None:
    """Subscribe to bus topics with `ctx.subscribe("chat.message.*", handler)`.

    Subscriptions made here (or anywhere through `ctx`) are removed when the plugin
    unloads; during a hot reload, events for it are held and given to the new version.
    """


@hookspec
def register_routes(ctx: PluginContext) -> list[Any]:
    """Return Litestar route handlers, controllers or routers for `/api/<plugin-name>/`.

    Use Litestar's own decorators (`from litestar import get, post`). Paths are relative
    to the plugin's prefix: `@get("/greetings")` in plugin `hello` serves
    `/api/hello/greetings`. The routes appear in the merged OpenAPI schema, tagged with
    the plugin name.

    A hot path that needs nothing Litestar adds (an SDK's intake, a webhook) can instead
    be declared here with `ctx.endpoint(["POST"], "/path", handler)`: the kernel serves it
    itself, without the plugin's app (see `mindframe.sdk.endpoints`).
    """


@hookspec
def register_pages(ctx: PluginContext) -> list[Any]:
    """Return Litestar route handlers for the plugin's HTML pages, under `/<plugin-name>/`."""


@hookspec
def register_cli(group: click.Group) -> None:
    """Add click commands to the `mindframe` command line: `group.add_command(...)`.

    Called when a command that the kernel does not define is asked for, so plugins'
    imports do not slow down the built-in commands.
    """


# --- cross-cutting -------------------------------------------------------------------


@hookspec
def capture_exception(error: BaseException, context: dict[str, Any]) -> None:
    """Hear about an error the runtime caught: a failing request, bus handler or hook.

    Called on every plugin that implements it (error trackers, alerting). `context`
    says where it happened (`plugin`, `hook`, `path`, `topic`, ...). An exception raised
    here is logged and never reaches the failing code's caller.
    """


@hookspec
def health(ctx: PluginContext) -> Any:
    """Report the plugin's health for `/health`; may be `async`, gets 2 seconds.

    Return `True`/`None` for healthy, `False` for unhealthy, or a dict with `"ok": bool`
    and any details to show. Raising counts as unhealthy, with the error shown.
    """


@hookspec
def export_personal_data(ctx: PluginContext, subject: Subject) -> Any:
    """Return, as JSON-able data, everything this plugin stores about `subject` (GDPR
    access). Each plugin's answer becomes one file in the export archive."""


@hookspec
def erase_personal_data(ctx: PluginContext, subject: Subject) -> None:
    """Delete or anonymise everything this plugin stores about `subject` (GDPR erasure).

    Must be safe to call again: an erasure that failed in one plugin is retried, and the
    plugins that already erased are asked again.
    """


@hookspec
def translations(ctx: PluginContext) -> Any:
    """Return extra gettext catalog folders for this plugin. The plugin's own `locales/`
    folder is found without this hook."""
