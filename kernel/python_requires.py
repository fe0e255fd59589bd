"""A plugin's Python requirements (`python_requires` in `plugin.toml`): checked before its
code is imported, so a plugin whose packages are missing fails alone, with the command that
installs them, instead of with an ImportError from somewhere inside it."""

from __future__ import annotations

import shlex
import sys
from importlib import metadata

from packaging.requirements import Requirement

from .manifest import Manifest


class MissingPackages(Exception):
    """Packages the manifest's `python_requires` lists are not installed (or too old)."""

    def __init__(self, plugin: str, problems: list[str], install: list[str]) -> None:
        command = shlex.join([sys.executable, "-m", "pip", "install", *install])
        super().__init__(
            f"plugin '{plugin}' needs Python packages that are not installed: "
            f"{'; '.join(problems)}. Install them with: {command}"
        )
        self.problems = problems
        self.install = install
        self.command = command


def unmet(requirement: Requirement) -> str | None:
    """Why `requirement` is not met in this environment, or None when it is (or its marker
    says it does not apply here)."""
    if requirement.marker is not None and not requirement.marker.evaluate():
        return None
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return f"{requirement.name} is not installed"
    if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
        return f"{requirement.name} {installed} is installed, {requirement.specifier} is needed"
    return None


def check_python_requires(manifest: Manifest) -> None:
    """Raise `MissingPackages` naming every unmet requirement and the pip command."""
    problems, install = [], []
    for text in manifest.python_requires:
        requirement = Requirement(text)
        problem = unmet(requirement)
        if problem is not None:
            problems.append(problem)
            install.append(text)
    if problems:
        raise MissingPackages(manifest.name, problems, install)
