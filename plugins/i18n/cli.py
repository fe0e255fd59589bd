"""`mindframe i18n extract|update|check`: catalog upkeep for the kernel and every plugin."""

from __future__ import annotations

from pathlib import Path

import click

from mindframe.sdk.catalogs import Domain, catalog_problems, update_catalogs

from .tools import BUILTIN_PLUGINS, find_domains, left_to_do, write_template

plugins_dir_option = click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Also a folder of plugins outside the built-in ones (repeatable).",
)
only_option = click.option(
    "--plugin", "only", multiple=True, help="Only this plugin ('kernel' for the kernel)."
)


def _domains(plugins_dirs: tuple[Path, ...], only: tuple[str, ...]) -> list[Domain]:
    domains = find_domains([BUILTIN_PLUGINS, *plugins_dirs])
    if only:
        domains = [d for d in domains if d.name in only]
        unknown = set(only) - {d.name for d in domains}
        if unknown:
            raise click.ClickException(f"no plugin named {', '.join(sorted(unknown))}")
    return domains


@click.group()
def i18n() -> None:
    """Keep the gettext catalogs of the kernel and the plugins up to date."""


@i18n.command()
@plugins_dir_option
@only_option
def extract(plugins_dirs: tuple[Path, ...], only: tuple[str, ...]) -> None:
    """Write each plugin's messages.pot from the messages marked in its code and templates."""
    for domain in _domains(plugins_dirs, only):
        if domain.locales.is_dir():
            click.echo(f"{domain.name}: {write_template(domain)}")


@i18n.command("update")
@plugins_dir_option
@only_option
def update_command(plugins_dirs: tuple[Path, ...], only: tuple[str, ...]) -> None:
    """Add new messages to every locale's catalog (untranslated: nothing is guessed from a
    message that looks alike), drop removed ones; then say what is left to translate, where."""
    left = []
    for domain in _domains(plugins_dirs, only):
        written = update_catalogs(domain)
        if written:
            click.echo(f"{domain.name}: updated {len(written)} catalogs in {domain.locales}")
            left += left_to_do(catalog_problems(domain))
    if not left:
        click.echo("nothing left to translate")
        return
    click.echo("left to translate:")
    for line in left:
        click.echo(f"  {line}")
    click.echo(
        "write each empty msgstr; for a fuzzy entry check its msgstr, then delete its "
        "'#, fuzzy' line. Then run `mindframe i18n check`."
    )


@i18n.command("check")
@plugins_dir_option
@only_option
def check_command(plugins_dirs: tuple[Path, ...], only: tuple[str, ...]) -> None:
    """List missing, untranslated and fuzzy messages per plugin and locale; exit 1 if any."""
    problems = [p for domain in _domains(plugins_dirs, only) for p in catalog_problems(domain)]
    for problem in problems:
        click.echo(str(problem))
    if problems:
        raise click.ClickException(f"{len(problems)} catalog problems; run `mindframe i18n update`")
    click.echo("every catalog is complete")
