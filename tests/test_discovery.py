"""Discovery: folders with a plugin.toml anywhere under a root, each imported as a real package."""

import os
import time
from pathlib import Path

import pytest

from mindframe.kernel.discovery import builtin_plugins_dir, discover, find_plugin_folders
from mindframe.kernel.loader import forget_modules, import_folder
from mindframe.kernel.records import PluginState

pytestmark = pytest.mark.anyio


def make(folder: Path, name: str, init: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(f'name = "{name}"\nversion = "1.0"\n')
    (folder / "__init__.py").write_text(init)
    return folder


def test_nested_plugin_folders_are_found_and_a_plugins_own_subfolders_are_not_searched(tmp_path):
    triage = make(tmp_path / "agents" / "healthcare" / "triage", "triage")
    make(triage / "vendored", "not-a-plugin-of-its-own")
    billing = make(tmp_path / "billing", "billing")
    assert find_plugin_folders(tmp_path) == [triage, billing]


def test_a_missing_root_is_reported_not_ignored(tmp_path):
    [candidate] = discover([tmp_path / "nowhere"], include_entry_points=False)
    assert candidate.error == f"{tmp_path / 'nowhere'}: plugins folder does not exist"


def test_unchanged_plugin_code_is_imported_from_its_bytecode_not_compiled_again(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("sys.dont_write_bytecode", False)
    folder = make(tmp_path / "steady", "steady", "VALUE = 1\n")
    a_minute_ago = time.time() - 60
    os.utime(folder / "__init__.py", (a_minute_ago, a_minute_ago))
    name = "mindframe_plugins.steady_bytecode"
    try:
        import_folder(folder, name)
        [cached] = (folder / "__pycache__").glob("*.pyc")
        written = cached.stat().st_mtime_ns
        assert import_folder(folder, name).module.VALUE == 1
        assert cached.stat().st_mtime_ns == written  # neither deleted nor written again
    finally:
        forget_modules(name)


def test_the_built_in_plugins_folder_is_beside_the_kernel():
    assert (builtin_plugins_dir() / "hello" / "plugin.toml").is_file()


async def test_relative_imports_work_inside_a_nested_plugin(boot_kernel, tmp_path):
    folder = make(
        tmp_path / "extra" / "agents" / "retail" / "advisor",
        "advisor",
        "from .knowledge import ANSWER\nfrom .deep.more import MORE\n",
    )
    (folder / "knowledge.py").write_text("ANSWER = 42\n")
    (folder / "deep").mkdir()
    (folder / "deep" / "__init__.py").write_text("")
    (folder / "deep" / "more.py").write_text("from ..knowledge import ANSWER\nMORE = ANSWER + 1\n")
    async with boot_kernel(["advisor"], builtin=False, plugins_dirs=[tmp_path / "extra"]) as kernel:
        assert kernel.state("advisor") is PluginState.ACTIVE
        module = kernel.runtime.plugin("advisor").code.module
        assert module.__name__ == "mindframe_plugins.advisor"
        assert (module.ANSWER, module.MORE) == (42, 43)


async def test_duplicate_and_reserved_names_fail_only_the_offender(boot_kernel, tmp_path):
    make(tmp_path / "one" / "twin", "twin")
    make(tmp_path / "two" / "twin", "twin")
    make(tmp_path / "one" / "api", "api")
    roots = [tmp_path / "one", tmp_path / "two"]
    async with boot_kernel(None, builtin=False, plugins_dirs=roots) as kernel:
        assert kernel.state("twin") is PluginState.ACTIVE
        duplicate = next(r for n, r in kernel.runtime.records.items() if n.startswith("twin@"))
        assert duplicate.state is PluginState.FAILED
        assert (
            f"a plugin named 'twin' is already loaded from {tmp_path / 'one' / 'twin'}"
            in duplicate.error
        )
        assert "the name 'api' is reserved by the kernel" in kernel.error("api")
