"""Importing a plugin's code as a real package, in a way a later reload can replace.

A folder plugin `hello` becomes the package `mindframe_plugins.hello`, so relative imports
work. Importing a new version first takes the old modules out of `sys.modules` and keeps
them aside: if the new code fails, or fails to start, `ImportedCode.rollback` puts the
old ones back and the old version never noticed.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import traceback
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .discovery import discover_folder, find_plugin_folders
from .manifest import ManifestError
from .migrations import MIGRATIONS_FOLDER, Revisions
from .python_requires import MissingPackages
from .settings import SettingsError

ROOT_PACKAGE = "mindframe_plugins"


def module_name_for(plugin_module_name: str) -> str:
    return f"{ROOT_PACKAGE}.{plugin_module_name}"


def _ensure_root_package() -> None:
    if ROOT_PACKAGE not in sys.modules:
        root = types.ModuleType(ROOT_PACKAGE, "Namespace of the plugins loaded from folders.")
        root.__path__ = []
        sys.modules[ROOT_PACKAGE] = root


class _PluginFolderFinder(importlib.abc.MetaPathFinder):
    """Finds `mindframe_plugins.<module name>` in the plugin folders under its roots, for
    code that imports a plugin's types before any runtime has loaded the plugin."""

    def __init__(self) -> None:
        self.roots: list[Path] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        parent, _, leaf = fullname.rpartition(".")
        if parent != ROOT_PACKAGE:
            return None
        for root in self.roots:
            for folder in find_plugin_folders(root):
                manifest = discover_folder(folder).manifest
                if manifest is not None and manifest.module_name == leaf:
                    return importlib.util.spec_from_file_location(
                        fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
                    )
        return None


_finder = _PluginFolderFinder()


def make_importable(root: Path) -> None:
    """Let `import mindframe_plugins.<name>` find the plugins under `root` even before a
    runtime loads them: the SDK's pytest plugin does this for the folders tests are
    collected from, so a test module can import a plugin's types at the top. A runtime
    imports each plugin afresh when it loads it, whatever was imported before."""
    _ensure_root_package()
    if _finder not in sys.meta_path:
        sys.meta_path.append(_finder)
    root = root.resolve()
    if root not in _finder.roots:
        _finder.roots.append(root)


def owned_modules(module_name: str) -> dict[str, types.ModuleType]:
    """The package and every submodule of it currently imported."""
    prefix = module_name + "."
    return {
        name: module
        for name, module in list(sys.modules.items())
        if name == module_name or name.startswith(prefix)
    }


def forget_modules(module_name: str) -> dict[str, types.ModuleType]:
    modules = owned_modules(module_name)
    for name in modules:
        del sys.modules[name]
    root = sys.modules.get(ROOT_PACKAGE)
    leaf = module_name.rpartition(".")[2]
    if root is not None and module_name.startswith(ROOT_PACKAGE + ".") and hasattr(root, leaf):
        delattr(root, leaf)
    return modules


@dataclass
class ImportedCode:
    """A freshly imported plugin package and the modules it displaced."""

    module: types.ModuleType
    module_name: str
    displaced: dict[str, types.ModuleType] = field(default_factory=dict)
    revisions: Revisions | None = None
    """The migration files beside this code when it was imported (`kernel/migrations.py`)."""

    def openapi(self) -> dict[str, Any] | None:
        """The OpenAPI document (paths, components) of routes the kernel cannot describe
        from their Litestar handlers (a sandboxed plugin's, served by a proxy); None: the
        kernel builds it from the handlers."""
        return None

    def rollback(self) -> None:
        """Drop the new modules and put the displaced ones back."""
        forget_modules(self.module_name)
        sys.modules.update(self.displaced)


STALE_WINDOW_NS = 2_000_000_000
"""A `.pyc` written less than this before its source's last change may hold older code."""


def drop_bytecode(folder: Path) -> None:
    """Delete the cached bytecode of the folder's modules that may not match their source,
    so the next import compiles the source as it is now.

    Python trusts a `.pyc` whose recorded source mtime (whole seconds) and size match: an
    edit that keeps a file's size within the second of the previous import (`"1"` -> `"2"`)
    would otherwise be served from the stale cache — exactly the edits a reload is for.
    Such an edit is saved within a second of the import that wrote the `.pyc`, so only a
    `.pyc` not clearly newer than its source goes; the rest are kept, and a boot of code
    that did not change compiles nothing (deleting them all recompiled every plugin module
    on every start)."""
    for source in folder.rglob("*.py"):
        cached = Path(importlib.util.cache_from_source(str(source)))
        with contextlib.suppress(OSError):
            if source.stat().st_mtime_ns > cached.stat().st_mtime_ns - STALE_WINDOW_NS:
                cached.unlink()


def import_folder(folder: Path, module_name: str) -> ImportedCode:
    """Import `folder/__init__.py` as package `module_name`, displacing any older version."""
    _ensure_root_package()
    drop_bytecode(folder)
    displaced = forget_modules(module_name)
    try:
        spec = importlib.util.spec_from_file_location(
            module_name, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException:
        forget_modules(module_name)
        sys.modules.update(displaced)
        raise
    return ImportedCode(module, module_name, displaced, Revisions.of(folder / MIGRATIONS_FOLDER))


def import_installed(module_name: str) -> ImportedCode:
    """Import (or re-import) a pip-installed plugin module and its submodules."""
    importlib.invalidate_caches()
    spec = importlib.util.find_spec(module_name)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            drop_bytecode(Path(location))
    displaced = forget_modules(module_name)
    try:
        module = importlib.import_module(module_name)
    except BaseException:
        forget_modules(module_name)
        sys.modules.update(displaced)
        raise
    return ImportedCode(module, module_name, displaced)


def describe_error(error: BaseException, folder: Path | None = None) -> str:
    """One line saying what went wrong and where: the file and line inside the plugin
    (for a syntax error, the line the parser stopped at)."""
    kind = type(error).__name__
    if isinstance(error, SyntaxError) and error.filename:
        return f"{kind}: {error.msg} ({error.filename}, line {error.lineno})"
    frames = traceback.extract_tb(error.__traceback__)
    inside = [f for f in frames if folder is not None and _is_within(f.filename, folder)]
    if not inside and isinstance(error, ManifestError | SettingsError | MissingPackages):
        frames = []  # their message already names the file, key or environment variable
    frame = (inside or frames or [None])[-1]
    where = f" ({frame.filename}, line {frame.lineno})" if frame else ""
    message = str(error) or repr(error)
    return f"{kind}: {message}{where}"


def format_traceback(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def _is_within(filename: str, folder: Path) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(folder.resolve())
    except OSError:
        return False
