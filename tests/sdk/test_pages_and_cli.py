"""`register_pages` serves HTML under /<plugin>/, `register_cli` adds `mindframe` commands,
and `settings_model` types the settings both of them read."""

from typing import Any

import pytest
from click.testing import CliRunner

from mindframe.kernel import cli, loader

PLUGIN = '''
from typing import Any

import click
from litestar import MediaType, get

from mindframe.sdk import PluginContext, PluginSettings, hookimpl


class Settings(PluginSettings):
    title: str = "Almanac"


@hookimpl
def settings_model() -> type[Settings]:
    return Settings


@hookimpl
def register_pages(ctx: PluginContext) -> list[Any]:
    @get("/", media_type=MediaType.HTML)
    async def index() -> str:
        return f"<h1>{ctx.settings.title}</h1>"

    return [index]


@click.command()
@click.argument("day")
def almanac(day: str) -> None:
    """Tell what happened on DAY."""
    click.echo(f"on {day}: nothing much")


@hookimpl
def register_cli(group: click.Group) -> None:
    group.add_command(almanac)
'''


@pytest.mark.anyio
async def test_pages_are_served_under_the_plugin_name_not_under_api(plugin_factory, boot_kernel):
    plugin_factory.make("almanac", PLUGIN)
    settings = {"almanac": {"title": "Kalender"}}
    async with boot_kernel(["almanac"], builtin=False, settings=settings) as kernel:
        page = await kernel.client.get("/almanac/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.text == "<h1>Kalender</h1>"
        assert (await kernel.client.get("/api/almanac/")).status_code == 404


@pytest.fixture
def fresh_main(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`mindframe`'s group remembers the plugin commands it found; start and end clean."""
    monkeypatch.setattr(cli.main, "commands", dict(cli.main.commands))
    monkeypatch.setattr(cli.main, "_plugins_asked", False, raising=False)
    yield cli.main
    loader.forget_modules(loader.module_name_for("almanac"))


def test_plugin_command_runs_through_the_mindframe_cli(plugin_factory, fresh_main, tmp_path):
    plugin_factory.make("almanac", PLUGIN)
    env = {
        "MINDFRAME_PLUGINS_DIRS": f'["{plugin_factory.root}"]',
        "MINDFRAME_BUILTIN_PLUGINS": "false",
        "MINDFRAME_DATA_DIR": str(tmp_path / "data"),
        "MINDFRAME_CONFIG": "",
    }
    runner = CliRunner(env=env)
    result = runner.invoke(fresh_main, ["almanac", "monday"])
    assert result.exit_code == 0, result.output
    assert result.output == "on monday: nothing much\n"
    help_text = runner.invoke(fresh_main, ["almanac", "--help"]).output
    assert "Tell what happened on DAY." in help_text
