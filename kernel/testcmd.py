"""`mindframe test DIR`: run a plugin folder's tests, with everything the fixtures need.

The fixtures come with mindframe (`mindframe.sdk.testing`), pytest does not: the
environment `scripts/serve` makes has none, and a pytest from elsewhere cannot import
this environment's Litestar. So the command installs mindframe's `testing` extra into the
environment it runs in when something of it is missing, then runs that environment's
pytest on DIR.
"""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import subprocess
import sys
from pathlib import Path

import click
from packaging.requirements import Requirement

from .discovery import MANIFEST_FILE, find_plugin_folders

EXTRA = "testing"
FIXTURE_PLUGINS = ("mindframe.sdk.testing", "anyio.pytest_plugin")
"""The pytest plugins the fixtures are made of, named when pytest is told not to load
installed plugins by itself (PYTEST_DISABLE_PLUGIN_AUTOLOAD)."""


def missing_requirements(extra: str = EXTRA) -> list[str]:
    """The requirements of mindframe's `extra` that this environment lacks or has too old,
    as pip takes them (`pytest>=8`)."""
    missing = []
    for line in importlib.metadata.requires("mindframe") or []:
        requirement = Requirement(line)
        if requirement.marker is None or not requirement.marker.evaluate({"extra": extra}):
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed is None or not requirement.specifier.contains(installed, prereleases=True):
            requirement.marker = None
            missing.append(str(requirement))
    return missing


def install(requirements: list[str]) -> None:
    """pip-install `requirements` into the environment mindframe runs in, saying so."""
    command = [sys.executable, "-m", "pip", "install", *requirements]
    click.echo(
        f"mindframe test: {', '.join(requirements)} missing from {sys.prefix}; "
        f"installing: {shlex.join(command)}",
        err=True,
    )
    if subprocess.run(command).returncode != 0:
        raise click.ClickException(
            f"could not install {', '.join(requirements)} into {sys.prefix} (pip's message "
            f"is above); install them yourself with `{sys.executable} -m pip install "
            f"'mindframe[{EXTRA}]'` and run `mindframe test` again"
        )


def _holds_a_plugin(folder: Path) -> bool:
    inside = any((parent / MANIFEST_FILE).is_file() for parent in folder.absolute().parents)
    return inside or bool(find_plugin_folders(folder))


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(folder: Path, pytest_args: tuple[str, ...]) -> None:
    """Run the tests of a plugin FOLDER (or a folder of plugins) with the fixtures that come
    with mindframe, installing pytest first if it is missing. Further arguments go to
    pytest: `mindframe test my-plugins/notes -k count -x`."""
    if not _holds_a_plugin(folder):
        raise click.ClickException(
            f"{folder} holds no plugin: no {MANIFEST_FILE} in it, below it or above it; "
            "`mindframe new plugin NAME --dir FOLDER` writes one"
        )
    missing = missing_requirements()
    if missing:
        install(missing)
    plugins = [] if "PYTEST_DISABLE_PLUGIN_AUTOLOAD" not in os.environ else FIXTURE_PLUGINS
    command = [sys.executable, "-m", "pytest", "--import-mode=importlib"]
    command += [option for name in plugins for option in ("-p", name)]
    sys.exit(subprocess.run([*command, str(folder), *pytest_args]).returncode)
