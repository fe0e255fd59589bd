"""`mindframe new plugin NAME` and `mindframe new agent INDUSTRY NAME`."""

from __future__ import annotations

from pathlib import Path

import click

from . import ScaffoldError, new_agent, new_plugin


@click.group()
def new() -> None:
    """Write a new plugin or agent to start from."""


@new.command("plugin")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("plugins"),
    show_default=True,
    help="Folder to create the plugin folder in.",
)
def plugin(name: str, parent: Path) -> None:
    """Write a plugin folder: manifest, hooks, a route, an event, settings, catalogs, tests."""
    try:
        folder = new_plugin(name, parent)
    except ScaffoldError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {folder}")
    click.echo(f"  test it:  mindframe test {folder}")
    click.echo(f"  check it: mindframe check {folder}")
    click.echo(
        f"  run it:   mindframe run --plugins-dir {parent}   (then GET /api/{name}/hello/you)"
    )


@new.command("agent")
@click.argument("industry")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to create the agent folder in [default: plugins/agents/INDUSTRY].",
)
def agent(industry: str, name: str, parent: Path | None) -> None:
    """Write an agent plugin: manifest, wiring, agent.py (typed input and output, run),
    catalogs, tests."""
    parent = parent if parent is not None else Path("plugins") / "agents" / industry
    try:
        folder = new_agent(industry, name, parent)
    except ScaffoldError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {folder}")
    click.echo(f"  test it:  mindframe test {folder}")
    click.echo(f"  check it: mindframe check {folder}")
    click.echo(f"  run it:   mindframe run --plugins-dir {parent}   (then POST /api/{name}/run)")
