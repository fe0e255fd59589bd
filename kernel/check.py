"""`mindframe check`: review a plugin folder the way a maintainer would before accepting it.

Each check returns `Problem`s (file, line, what is wrong, what to do) instead of raising,
so one run lists everything to fix. The checks: the manifest validates, every hook is a
known hook with known argument names, there are tests, the catalogs hold every message the
code marks, translated, in every locale (what `mindframe i18n check` finds), and only
`mindframe.sdk` is imported from `mindframe`.
"""

from __future__ import annotations

import ast
import contextlib
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import click

from . import hooks, loader
from .catalogs import CatalogProblem, Domain, catalog_problems
from .discovery import MANIFEST_FILE, builtin_plugins_dir, find_plugin_folders
from .manifest import Manifest, ManifestError, load_manifest

ALLOWED_MINDFRAME = "mindframe.sdk"


@dataclass(frozen=True)
class Problem:
    """One thing to fix, as a `file:line: what; what to do` line (no line for a missing file)."""

    path: Path
    line: int
    what: str
    todo: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.what}; {self.todo}"


# --- manifest --------------------------------------------------------------------------------


def check_manifest(folder: Path) -> tuple[Manifest | None, list[Problem]]:
    path = folder / MANIFEST_FILE
    try:
        return load_manifest(path), []
    except ManifestError as error:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        return None, [
            Problem(path, _field_line(text, problem), problem, "fix plugin.toml (see README)")
            for problem in error.problems
        ]


def _field_line(text: str, problem: str) -> int:
    """The line of the field a manifest problem names, or 1."""
    found = re.search(r"field '([A-Za-z_]+)", problem)
    if found:
        for number, line in enumerate(text.splitlines(), 1):
            if re.match(rf"\s*{found.group(1)}\s*=", line):
                return number
    return 1


# --- hooks -----------------------------------------------------------------------------------


def check_hooks(folder: Path, manifest: Manifest) -> list[Problem]:
    """Import the plugin (as the kernel would) and check each hook on its own with
    `hooks.collect`, so every problem gets the file and line of its function."""
    init = folder / "__init__.py"
    if not init.is_file():
        return [Problem(folder, 0, "no __init__.py", "add one holding the @hookimpl functions")]
    module_name = loader.module_name_for(manifest.module_name)
    for root in (builtin_plugins_dir(), folder.parent):  # its requirements, as at run time
        loader.make_importable(root)
    try:
        code = loader.import_folder(folder, module_name)
    except Exception as error:
        return [_import_problem(error, folder, init)]
    except SyntaxError as error:
        return [_import_problem(error, folder, init)]
    try:
        return list(_hook_problems(code.module, manifest.name))
    finally:
        code.rollback()


def _import_problem(error: BaseException, folder: Path, init: Path) -> Problem:
    if isinstance(error, SyntaxError) and error.filename:
        return Problem(
            Path(error.filename), error.lineno or 0, f"SyntaxError: {error.msg}", "fix it"
        )
    where = loader.describe_error(error, folder)
    found = re.search(r"\((.+), line (\d+)\)$", where)
    path, line = (Path(found.group(1)), int(found.group(2))) if found else (init, 1)
    return Problem(path, line, f"importing the plugin fails: {where}", "fix the import")


def _hook_problems(module: types.ModuleType, name: str) -> Iterable[Problem]:
    manager = hooks.new_plugin_manager()
    marker = f"{hooks.hookspecs.PROJECT}_impl"
    for attribute, function in vars(module).items():
        if not callable(function) or not hasattr(function, marker):
            continue
        alone = types.ModuleType(f"{module.__name__}:{attribute}")
        setattr(alone, attribute, function)
        try:
            hooks.collect(manager, alone, name)
        except hooks.HookError as error:
            code = getattr(function, "__code__", None)
            path = Path(code.co_filename) if code else Path(module.__file__ or name)
            line = code.co_firstlineno if code else 0
            what = " ".join(str(error).split())
            yield Problem(path, line, what, "use a hook and arguments listed in docs/hooks.md")


# --- tests -----------------------------------------------------------------------------------


def check_tests(folder: Path) -> list[Problem]:
    tests = folder / "tests"
    for path in sorted(tests.rglob("*.py")) if tests.is_dir() else []:
        named_as_test = path.name.startswith("test_") or path.name.endswith("_test.py")
        if named_as_test and any(n.startswith("test") for n in _function_names(path)):
            return []
    return [
        Problem(
            tests,
            0,
            "no tests (a tests/test_*.py with at least one test function)",
            f"add tests/test_{folder.name.replace('-', '_')}.py using the `kernel` fixture "
            "(`mindframe new plugin` writes one to copy)",
        )
    ]


def _function_names(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, UnicodeDecodeError):
        return []
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


# --- catalogs --------------------------------------------------------------------------------


def check_catalogs(folder: Path, name: str) -> list[Problem]:
    """Every catalog problem `mindframe i18n check` finds for the plugin, with file and line."""
    domain = Domain(name, (folder,), folder / "locales")
    update = f"`mindframe i18n update --plugins-dir {folder.parent} --plugin {name}`"
    return [_catalog_problem(problem, update) for problem in catalog_problems(domain)]


def _catalog_problem(problem: CatalogProblem, update: str) -> Problem:
    message, locale = problem.message, problem.locale
    what, todo = {
        "no catalog": (f"no catalog for locale {locale}", f"create it with {update}"),
        "missing": (
            f"{message} has no entry in the {locale} catalog",
            f"run {update}, then translate it",
        ),
        "untranslated": (f"{message} is not translated into {locale}", "write its msgstr"),
        "fuzzy": (
            f"{message} is marked fuzzy in the {locale} catalog, so it is not used",
            "check its msgstr, then delete the '#, fuzzy' line",
        ),
        "unused": (
            f"{message} is in the {locale} catalog but no code uses it",
            f"delete it (or run {update})",
        ),
    }[problem.kind]
    return Problem(problem.path, problem.line, what, todo)


# --- imports ---------------------------------------------------------------------------------


def check_imports(folder: Path) -> list[Problem]:
    """Plugins use the kernel through `mindframe.sdk` only: anything else is private and
    may change (or not exist in the sandbox's child process)."""
    problems = []
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except SyntaxError as error:
            problems.append(Problem(path, error.lineno or 0, f"SyntaxError: {error.msg}", "fix it"))
            continue
        for node in ast.walk(tree):
            for module in _imported_modules(node):
                if _is_private(module):
                    problems.append(
                        Problem(
                            path,
                            node.lineno,
                            f"imports {module}, which is not part of the plugin API",
                            f"import what you need from {ALLOWED_MINDFRAME} (or ask for it "
                            "to be added there)",
                        )
                    )
    return problems


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module == "mindframe":
            return [f"mindframe.{alias.name}" for alias in node.names]
        return [node.module]
    return []


def _is_private(module: str) -> bool:
    if module != "mindframe" and not module.startswith("mindframe."):
        return False
    return not (module == ALLOWED_MINDFRAME or module.startswith(ALLOWED_MINDFRAME + "."))


# --- the whole check -------------------------------------------------------------------------


def check_plugin(folder: Path) -> list[Problem]:
    """Every problem with the plugin in `folder`, in the order a reviewer would meet them."""
    folder = folder.resolve()
    manifest, problems = check_manifest(folder)
    if manifest is not None:
        problems += check_hooks(folder, manifest)
    problems += check_tests(folder)
    problems += check_catalogs(folder, manifest.name if manifest is not None else folder.name)
    problems += check_imports(folder)
    return list(dict.fromkeys(problems))  # a syntax error is found by two checks


def resolve_plugins(targets: Iterable[str], roots: Iterable[Path]) -> list[Path]:
    """Plugin folders from paths or plugin names (looked up under `roots`); every plugin
    under `roots` when no target is given. An unknown name raises click.BadParameter."""
    targets = list(targets)
    roots = list(roots)
    found = [folder for root in roots if root.is_dir() for folder in find_plugin_folders(root)]
    if not targets:
        return found
    by_name = {folder.name: folder for folder in found}
    for folder in found:
        with contextlib.suppress(ManifestError):
            by_name.setdefault(load_manifest(folder / MANIFEST_FILE).name, folder)
    folders = []
    for target in targets:
        path = Path(target)
        if (path / MANIFEST_FILE).is_file():
            folders.append(path)
        elif target in by_name:
            folders.append(by_name[target])
        else:
            raise click.BadParameter(
                f"{target!r} is neither a folder with a {MANIFEST_FILE} nor a plugin under "
                f"{', '.join(map(str, roots))}; pass the plugin's folder",
                param_hint="PLUGIN",
            )
    return folders


@click.command()
@click.argument("plugins", nargs=-1)
@click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Look for plugins (by name, or all of them) here instead of the built-in ones.",
)
def check(plugins: tuple[str, ...], plugins_dirs: tuple[Path, ...]) -> None:
    """Check plugins (folders or names; all built-in ones by default) like a maintainer:
    manifest, hooks, tests, catalogs and imports. Exits 1 with one line per problem."""
    folders = resolve_plugins(plugins, plugins_dirs or [builtin_plugins_dir()])
    problems = [problem for folder in folders for problem in check_plugin(folder)]
    for problem in problems:
        click.echo(str(problem))
    if problems:
        raise SystemExit(1)
    click.echo(f"{len(folders)} plugin(s) checked, no problems")
