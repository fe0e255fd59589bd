"""The `mindframe` command line: run the server and manage a running one.

Commands that talk to a running server use its management API (`--url`); `plugins`
falls back to a dry load (discover and import, start nothing) when no server answers.
Plugins add commands through the `register_cli` hook, loaded only when such a command
is asked for so the built-in ones stay fast.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from . import boot_gc

boot_gc.begin()  # the imports below and a `run`'s boot; `main` ends it for other commands

DEFAULT_URL = "http://127.0.0.1:8000"


class PluginCommands(click.Group):
    """The kernel's commands and those plugins add. Plugins' commands are listed from their
    manifests (`[commands]`), so `--help` imports no plugin; the plugins are imported only
    when a command that the kernel does not define is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_declared_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and not getattr(self, "_plugins_asked", False):
            self._plugins_asked = True
            _add_plugin_commands(self)
            command = super().get_command(ctx, name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        declared = _declared_commands()
        rows = []
        for name in self.list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is None:
                rows.append((name, declared[name]))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - len(name) - 6)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _declared_commands() -> dict[str, str]:
    """Each command a plugin's manifest declares, with its help and the plugin's name; read
    from the manifests alone (a broken settings file or manifest just lists nothing)."""
    from .discovery import discover, plugin_roots
    from .settings import SettingsError, load_settings

    try:
        roots = plugin_roots(load_settings().kernel)
    except SettingsError:
        return {}
    declared: dict[str, str] = {}
    for candidate in discover(roots):
        if candidate.manifest is not None:
            for name, help_text in candidate.manifest.commands.items():
                declared.setdefault(name, f"{help_text} [plugin {candidate.manifest.name}]")
    return declared


def _add_plugin_commands(group: click.Group) -> None:
    from .runtime import Runtime

    runtime = Runtime()
    runtime.prepare()
    for record in runtime.records.values():
        if "register_cli" in record.hooks:
            record.hooks["register_cli"].call(group=group)


@click.group(cls=PluginCommands)
@click.version_option(package_name="mindframe")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Mindframe: a plugin-hosting agent runtime."""
    if ctx.invoked_subcommand != "run":
        boot_gc.end()  # `run` ends it once every plugin has started (Runtime.start)


@main.command()
@click.option("--host", default=None, help="Interface to listen on [default: 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default: 8000].")
@click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="An extra folder of plugins (repeatable).",
)
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING … [default: INFO].")
@click.option("--reload", is_flag=True, default=None, help="Hot-reload plugins as files change.")
@click.option("--no-access-log", is_flag=True, help="Do not log every request.")
def run(
    host: str | None,
    port: int | None,
    plugins_dirs: tuple[Path, ...],
    config: Path | None,
    data_dir: Path | None,
    log_level: str | None,
    reload: bool | None,
    no_access_log: bool,
) -> None:
    """Run the server with every plugin found."""
    import uvicorn

    from .runtime import Runtime
    from .settings import SettingsError, load_settings

    try:
        settings = load_settings(
            config,
            overrides={
                "host": host,
                "port": port,
                "data_dir": data_dir,
                "log_level": log_level,
                "reload": reload,
            },
        )
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    if plugins_dirs:
        settings.kernel.plugins_dirs = [*settings.kernel.plugins_dirs, *plugins_dirs]
    level = settings.kernel.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    runtime = Runtime(settings)
    proxies = settings.kernel.trusted_proxies
    uvicorn.run(
        runtime.asgi,
        host=settings.kernel.host,
        port=settings.kernel.port,
        log_level=level.lower(),
        lifespan="on",
        access_log=not no_access_log,
        # X-Forwarded-For names the client only when a trusted proxy sent it: uvicorn's
        # default trusts any peer on loopback (and FORWARDED_ALLOW_IPS), which let one
        # client pose as many (login throttling) or as local (the management API).
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
    )


# --- plugins -------------------------------------------------------------------------------


def _api(
    server: dict[str, str | None], method: str, path: str, ok: tuple[int, ...] = (200,)
) -> Any:
    """Call the running server's management API; a refusal becomes a one-line error."""
    import httpx

    url, token = server["url"] or DEFAULT_URL, server.get("token")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.request(method, url.rstrip("/") + path, headers=headers, timeout=60)
    except httpx.HTTPError as error:
        raise click.ClickException(f"{method} {path}: cannot reach {url}: {error}") from None
    if response.status_code in ok:
        return response.json()
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    raise click.ClickException(f"{method} {path}: {response.status_code} {detail}")


def _server_answers(url: str) -> bool:
    import httpx

    try:
        httpx.get(url.rstrip("/") + "/health", timeout=2)
        return True
    except httpx.HTTPError:
        return False


def _dry_load(config: Path | None, plugins_dirs: tuple[Path, ...]) -> list[dict[str, Any]]:
    """Discover and import every plugin without starting any, for when no server runs: the
    same folders `mindframe run` would search with the same settings and flags."""
    from .runtime import Runtime
    from .settings import SettingsError, load_settings

    try:
        settings = load_settings(config)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    settings.kernel.plugins_dirs = [*settings.kernel.plugins_dirs, *plugins_dirs]
    runtime = Runtime(settings)
    runtime.prepare()
    try:
        return runtime.plugins_view()
    finally:
        runtime.unload_all()


def _print_plugins(plugins: list[dict[str, Any]], verbose: bool) -> None:
    width = max([len(p["name"]) for p in plugins] + [4])
    for plugin in plugins:
        state = plugin["state"]
        colour = {"active": "green", "failed": "red", "disabled": "yellow"}.get(state)
        version = plugin["version"] or "-"
        line = f"{plugin['name']:<{width}}  {version:<10} {click.style(f'{state:<10}', fg=colour)}"
        if plugin.get("error"):
            line += f" {plugin['error']}"
        click.echo(line)
        if verbose and plugin.get("traceback"):
            click.echo(click.style(plugin["traceback"], dim=True))


@main.group(invoke_without_command=True)
@click.option("--url", default=DEFAULT_URL, show_default=True, help="The running server.")
@click.option(
    "--token",
    envvar="MINDFRAME_TOKEN",
    help="An API token with kernel.* permissions, needed once an auth plugin has users.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks of failed plugins.")
@click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="An extra folder of plugins for the dry load (repeatable).",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The settings file for the dry load.",
)
@click.pass_context
def plugins(
    ctx: click.Context,
    url: str,
    token: str | None,
    as_json: bool,
    verbose: bool,
    plugins_dirs: tuple[Path, ...],
    config: Path | None,
) -> None:
    """List plugins with their state, version and error (`plugins enable|disable NAME`).

    With no server at --url, a dry load: every plugin `mindframe run` would find (with the
    same settings file and --plugins-dir) is imported and none is started."""
    ctx.obj = {"url": url, "token": token}
    if ctx.invoked_subcommand is not None:
        return
    if _server_answers(url):
        found = _api(ctx.obj, "GET", "/api/kernel/plugins")
    else:
        click.echo(f"(no server at {url}: showing a dry load, nothing started)", err=True)
        found = _dry_load(config, plugins_dirs)
    if as_json:
        click.echo(json.dumps(found, indent=2))
    else:
        _print_plugins(found, verbose)
    if any(p["state"] == "failed" for p in found):
        sys.exit(1)


@plugins.command()
@click.argument("name")
@click.pass_obj
def enable(obj: dict[str, str | None], name: str) -> None:
    """Start a plugin (and the plugins it held back) on the running server."""
    result = _api(obj, "POST", f"/api/kernel/plugins/{name}/enable")
    _print_plugins([result["plugin"]], verbose=True)


@plugins.command()
@click.argument("name")
@click.pass_obj
def reload(obj: dict[str, str | None], name: str) -> None:
    """Replace a plugin's code on the running server with what is on disk now."""
    result = _api(obj, "POST", f"/api/kernel/plugins/{name}/reload", ok=(200, 409))
    if result["ok"]:
        dependents = result["reloaded_dependents"]
        also = f" (and {', '.join(dependents)})" if dependents else ""
        click.echo(f"reloaded {name} {result['version']} in {result['milliseconds']} ms{also}")
    else:
        raise click.ClickException(f"reload of {name} failed: {result['error']}")


@plugins.command()
@click.argument("name")
@click.option(
    "--yes", is_flag=True, help="Go ahead even though this turns sign-in off (auth, with users)."
)
@click.pass_obj
def disable(obj: dict[str, str | None], name: str, yes: bool) -> None:
    """Stop a plugin (and, first, the plugins that require it) on the running server."""
    confirm = "?confirm=auth" if yes else ""
    result = _api(obj, "POST", f"/api/kernel/plugins/{name}/disable{confirm}", ok=(200, 409))
    if "confirm" in result:
        raise click.ClickException(f"{result['detail']} (on the command line: --yes)")
    click.echo(f"stopped: {', '.join(result['stopped'])}")


def _add_kernel_groups() -> None:
    from .bus.cli import bus
    from .check import check
    from .db_cli import db
    from .hookdocs import docs
    from .scaffold.cli import new
    from .testcmd import test

    main.add_command(bus)
    main.add_command(check)
    main.add_command(new)
    main.add_command(docs)
    main.add_command(test)
    main.add_command(db)


_add_kernel_groups()


if __name__ == "__main__":
    main()
