"""A plugin pip-installed from a package with a `mindframe.plugins` entry point is found
and run like a folder plugin."""

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "mindframe-sundial"
version = "1.4.0"
description = "Tells the time from the sun."

[project.entry-points."mindframe.plugins"]
sundial = "mindframe_sundial"

[tool.setuptools]
packages = ["mindframe_sundial"]
"""

PLUGIN = """
from typing import Any

from litestar import get

from mindframe.sdk import PluginContext, hookimpl


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    @get("/now")
    async def now() -> dict[str, str]:
        return {"time": "noon", "plugin": ctx.name, "version": ctx.version}

    return [now]
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    source = tmp_path / "src"
    (source / "mindframe_sundial").mkdir(parents=True)
    (source / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (source / "mindframe_sundial" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target"]
    run = subprocess.run(
        [*pip, str(target), str(source)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    monkeypatch.syspath_prepend(str(target))
    importlib.invalidate_caches()
    yield target
    sys.modules.pop("mindframe_sundial", None)


@pytest.mark.slow  # pip builds a wheel in an isolated environment: several seconds
@pytest.mark.anyio
async def test_entry_point_plugin_is_found_and_serves_like_a_folder_plugin(installed, boot_kernel):
    async with boot_kernel(["sundial"], builtin=False, entry_points=True) as kernel:
        assert kernel.state("sundial").value == "active", kernel.error("sundial")
        record = kernel.runtime.plugin("sundial")
        assert record.candidate.origin == "entry point sundial (mindframe-sundial)"
        response = await kernel.client.get("/api/sundial/now")
        assert response.json() == {"time": "noon", "plugin": "sundial", "version": "1.4.0"}
        listed = (await kernel.client.get("/api/kernel/plugins")).json()
        assert [p["name"] for p in listed] == ["sundial"]
