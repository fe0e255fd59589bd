"""`mindframe test DIR` runs a plugin folder's tests, installing pytest where it is missing."""

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from mindframe.kernel.cli import main

MINDFRAME = Path(sys.executable).with_name("mindframe")
SHOUT_ROUTE = """
    @get("/shout/{who:str}")
    async def shout(who: FromPath[str]) -> str:
        return who.upper()

    return [hello, shout]
"""
SHOUT_TEST = """
import pytest

pytestmark = pytest.mark.anyio


async def test_shout_answers_in_capitals(kernel):
    assert (await kernel.client.get("/api/notes/shout/ada")).text == "ADA"
"""


def scaffold(parent: Path) -> Path:
    """`mindframe new plugin notes`, then a route and a test of it added as an author would."""
    subprocess.run(
        [MINDFRAME, "new", "plugin", "notes", "--dir", parent], check=True, capture_output=True
    )
    folder = parent / "notes"
    code = (folder / "__init__.py").read_text()
    assert "\n    return [hello]\n" in code, "the scaffold's register_routes changed shape"
    (folder / "__init__.py").write_text(code.replace("\n    return [hello]\n", SHOUT_ROUTE))
    (folder / "tests" / "test_shout.py").write_text(SHOUT_TEST)
    return folder


@pytest.mark.slow  # a real pytest subprocess: about 5 s idle, 20 s under load
def test_mindframe_test_runs_a_scaffolded_plugin_with_an_added_route_and_test(tmp_path):
    folder = scaffold(tmp_path / "my-plugins")
    run = subprocess.run(
        [MINDFRAME, "test", folder, "-v", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"test_shout_answers_in_capitals\S* PASSED", run.stdout), run.stdout
    assert "installing" not in run.stderr


def environment_without_pytest(venv: Path) -> Path:
    """A virtual environment seeing every package of this one but pytest: what
    `scripts/serve` makes. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    borrowed = venv / "borrowed"
    borrowed.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().replace("_", "").startswith(("pytest", "py.py")):
            (borrowed / entry.name).symlink_to(entry)
    (Path(purelib) / "borrowed.pth").write_text(
        f"import site; site.addsitedir({str(borrowed)!r})\n"
    )
    return python


@pytest.mark.slow  # a fresh environment and a pip install: about 5 s idle, 20 s under load
def test_mindframe_test_installs_pytest_into_an_environment_without_it(tmp_path):
    python = environment_without_pytest(tmp_path / "venv")
    lacks = subprocess.run([python, "-c", "import pytest"], capture_output=True)
    assert lacks.returncode != 0, "the environment was meant to have no pytest"
    folder = scaffold(tmp_path / "my-plugins")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [python, "-m", "mindframe.kernel.cli", "test", folder, "-v", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "pytest>=8 missing from" in run.stderr and "installing" in run.stderr
    assert re.search(r"test_shout_answers_in_capitals\S* PASSED", run.stdout), run.stdout
    assert subprocess.run([python, "-c", "import pytest"]).returncode == 0


def test_mindframe_test_refuses_a_folder_without_a_plugin(tmp_path):
    result = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert result.exit_code == 1
    assert "holds no plugin" in result.output and "mindframe new plugin" in result.output
