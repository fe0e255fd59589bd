"""`mindframe db revision PLUGIN -m …` and `mindframe db upgrade`: plugins' migrations from
the command line, against the database the settings name (see `kernel/migrations.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import click

from .settings import Settings, SettingsError, load_settings

config_option = click.option(
    "--config", type=click.Path(dir_okay=False, path_type=Path), default=None
)


@click.group()
def db() -> None:
    """Migrate plugins' tables (Alembic revisions in each plugin's `migrations/`)."""


@db.command()
@click.argument("plugin")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@config_option
def revision(plugin: str, message: str, config: Path | None) -> None:
    """Write a revision taking the database to PLUGIN's tables as its code declares them."""
    from .migrations import MigrationsPending

    settings = _settings(config)
    try:
        written = anyio.run(_write_revision, settings, plugin, message)
    except MigrationsPending as error:
        raise click.ClickException(str(error)) from None
    if written is None:
        click.echo(f"the tables of {plugin} match the database: no revision written")
    else:
        click.echo(f"wrote {written}: read it (a rename shows as a drop and an add), then save")


@db.command()
@click.argument("plugins", nargs=-1)
@config_option
def upgrade(plugins: tuple[str, ...], config: Path | None) -> None:
    """Apply the pending revisions of PLUGINS (every plugin, when none is named)."""
    settings = _settings(config)
    for name, applied in anyio.run(_upgrade, settings, set(plugins)):
        done = ", ".join(applied) if applied else "nothing pending"
        click.echo(f"{name}: {done}")


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


async def _write_revision(settings: Settings, plugin: str, message: str) -> Path | None:
    from .migrations import MIGRATIONS_FOLDER, write_revision
    from .runtime import Runtime
    from .storage import Database, normalise_tables

    runtime = Runtime(settings, only=[plugin])
    runtime.prepare()
    try:
        record = runtime.plugin(plugin)
    except LookupError:
        raise click.ClickException(f"no plugin named {plugin!r} was found") from None
    if record.error or record.folder is None:
        raise click.ClickException(f"plugin {plugin} cannot be loaded: {record.error}")
    try:
        model = await runtime.lifecycle.call(record, "settings_model")
        assert record.manifest is not None
        section = settings.plugin_section(record.name, record.manifest.settings, model)
        ctx = runtime.new_context(record, section)
        tables = normalise_tables(await runtime.lifecycle.call(record, "register_tables", ctx=ctx))
        database = Database(settings.kernel.resolved_database_url())
        try:
            async with database.engine.begin() as connection:
                return await connection.run_sync(
                    write_revision,
                    ctx.table_prefix,
                    tables,
                    record.folder / MIGRATIONS_FOLDER,
                    message,
                )
        finally:
            await database.close()
    finally:
        runtime.unload_all()


async def _upgrade(settings: Settings, only: set[str]) -> list[tuple[str, list[str]]]:
    from .discovery import discover, plugin_roots
    from .migrations import MIGRATIONS_FOLDER, Revisions, upgrade_existing
    from .storage import Database

    found = [
        c for c in discover(plugin_roots(settings.kernel)) if c.manifest and c.folder is not None
    ]
    missing = only - {c.manifest.name for c in found if c.manifest}
    if missing:
        raise click.ClickException(f"no plugin named {', '.join(sorted(missing))} was found")
    database = Database(settings.kernel.resolved_database_url())
    results: list[tuple[str, Any]] = []
    try:
        for candidate in found:
            assert candidate.manifest is not None and candidate.folder is not None
            if only and candidate.manifest.name not in only:
                continue
            revisions = Revisions.of(candidate.folder / MIGRATIONS_FOLDER)
            prefix = f"{candidate.manifest.module_name}_"
            async with database.engine.begin() as connection:
                applied = await connection.run_sync(upgrade_existing, prefix, revisions)
            results.append((candidate.manifest.name, applied))
    finally:
        await database.close()
    return results
