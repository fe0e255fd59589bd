"""`pip install .` (not only -e) gives the mindframe.* layout and ships the built-in plugins."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_regular_install_imports_the_sdk_and_finds_the_builtin_plugins(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    assert not (target / "mindframe" / "__init__.py").exists()  # a namespace, like the tree
    probe = (
        "import mindframe.sdk, mindframe.kernel.discovery as d\n"
        "from mindframe.sdk import hookimpl\n"
        "print(mindframe.sdk.__file__)\n"
        "print(sorted(p.name for p in d.find_plugin_folders(d.builtin_plugins_dir())))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sdk_file, plugins = result.stdout.splitlines()
    assert Path(sdk_file).is_relative_to(target)
    assert "hello" in plugins
    assert (target / "mindframe" / "plugins" / "hello" / "plugin.toml").is_file()
