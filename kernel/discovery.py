"""Finding plugins: folders with a `plugin.toml`, and pip packages in the entry-point group.

Discovery only reads manifests; nothing is imported yet, so one broken plugin cannot
stop the others from being found.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from .manifest import Manifest, ManifestError, load_manifest, parse_manifest

if TYPE_CHECKING:
    from .settings import KernelSettings

MANIFEST_FILE = "plugin.toml"
ENTRY_POINT_GROUP = "mindframe.plugins"
_SKIPPED_DIRS = {"__pycache__", "node_modules", "tests", "templates", "locales", "static"}


@dataclass
class Candidate:
    """A plugin found on disk or in an installed package, valid or not."""

    origin: str  # the folder, or "entry point <name> (<distribution>)"
    folder: Path | None
    manifest: Manifest | None = None
    error: str | None = None
    entry_point: EntryPoint | None = None

    @property
    def name(self) -> str:
        if self.manifest is not None:
            return self.manifest.name
        if self.folder is not None:
            return self.folder.name
        return self.entry_point.name if self.entry_point else self.origin


def builtin_plugins_dir() -> Path:
    """`plugins/` beside the kernel: the repository root in a checkout, the installed
    `mindframe/` folder otherwise."""
    return Path(__file__).resolve().parent.parent / "plugins"


def plugin_roots(kernel: KernelSettings) -> list[Path]:
    """The folders searched for plugins: the built-in ones (unless switched off), then
    the settings' `plugins_dirs` (`--plugins-dir`, `MINDFRAME_PLUGINS_DIRS`)."""
    builtin = [builtin_plugins_dir()] if kernel.builtin_plugins else []
    return [*builtin, *kernel.plugins_dirs]


def find_plugin_folders(root: Path) -> list[Path]:
    """Every folder under `root` holding a `plugin.toml`; a plugin's own subfolders are
    its business and are not searched."""
    found = []
    for current, dirs, files in os.walk(root):
        if MANIFEST_FILE in files:
            found.append(Path(current))
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
    return sorted(found)


def discover_folder(folder: Path) -> Candidate:
    candidate = Candidate(origin=str(folder), folder=folder)
    try:
        candidate.manifest = load_manifest(folder / MANIFEST_FILE)
    except ManifestError as error:
        candidate.error = str(error)
        return candidate
    if not (folder / "__init__.py").is_file():
        candidate.error = f"{folder}: has a {MANIFEST_FILE} but no __init__.py to hold its hooks"
    return candidate


def discover_entry_point(entry_point: EntryPoint) -> Candidate:
    """A pip-installed plugin: its `plugin.toml` beside the module if it ships one, else a
    manifest made from the distribution's metadata."""
    dist = entry_point.dist
    origin = f"entry point {entry_point.name} ({dist.name if dist else 'unknown distribution'})"
    candidate = Candidate(origin=origin, folder=None, entry_point=entry_point)
    try:
        spec = importlib.util.find_spec(entry_point.module)
    except (ImportError, ValueError) as error:
        candidate.error = f"{origin}: module {entry_point.module!r} cannot be found: {error}"
        return candidate
    if spec is None or spec.origin is None:
        candidate.error = f"{origin}: module {entry_point.module!r} cannot be found"
        return candidate
    candidate.folder = Path(spec.origin).parent
    manifest_path = candidate.folder / MANIFEST_FILE
    try:
        if manifest_path.is_file():
            candidate.manifest = load_manifest(manifest_path)
        else:
            meta = dist.metadata if dist else None
            candidate.manifest = parse_manifest(
                {
                    "name": entry_point.name,
                    "version": dist.version if dist else "0",
                    "description": (meta["Summary"] or "") if meta else "",
                },
                origin,
            )
    except ManifestError as error:
        candidate.error = str(error)
    return candidate


def discover(roots: list[Path], *, include_entry_points: bool = True) -> list[Candidate]:
    """All candidates from the given roots (in order), then from installed packages."""
    candidates = []
    for root in roots:
        if not root.is_dir():
            candidates.append(
                Candidate(
                    origin=str(root), folder=root, error=f"{root}: plugins folder does not exist"
                )
            )
            continue
        candidates.extend(discover_folder(folder) for folder in find_plugin_folders(root))
    if include_entry_points:
        candidates.extend(discover_entry_point(ep) for ep in entry_points(group=ENTRY_POINT_GROUP))
    return candidates
