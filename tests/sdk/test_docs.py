"""Every Python block in docs/plugins.md runs, so the author guide cannot rot.

`# plugin: NAME` blocks (python: `__init__.py`, toml: `plugin.toml`) become plugin folders
that must all boot active; `# test: NAME` blocks become those plugins' tests and pass in a
real pytest run; any other python block is executed as it is.
"""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mindframe.kernel.discovery import builtin_plugins_dir

pytestmark = pytest.mark.anyio

GUIDE = builtin_plugins_dir().parent / "docs" / "plugins.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"# (plugin|test): ([a-z][a-z0-9_-]*)\n")


def blocks() -> list[tuple[str, str | None, str | None, str]]:
    """(language, marker kind, plugin name, code) for every fenced block."""
    found = []
    for language, code in BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        marker = MARKER.match(code)
        kind, name = (marker.group(1), marker.group(2)) if marker else (None, None)
        found.append((language, kind, name, code))
    return found


def write_guide_plugins(root: Path) -> set[str]:
    """Write every guide plugin (and its tests) under `root`; returns their names."""
    names = set()
    for language, kind, name, code in blocks():
        if kind is None:
            continue
        folder = root / name
        (folder / "tests").mkdir(parents=True, exist_ok=True)
        if kind == "plugin" and language == "python":
            (folder / "__init__.py").write_text(code)
            names.add(name)
        elif kind == "plugin" and language == "toml":
            (folder / "plugin.toml").write_text(code)
        elif kind == "test":
            (folder / "tests" / f"test_guide_{name.replace('-', '_')}.py").write_text(code)
    for name in names:
        manifest = root / name / "plugin.toml"
        if not manifest.exists():
            manifest.write_text(f'name = "{name}"\nversion = "0.1.0"\n')
    return names


async def test_every_guide_plugin_boots_active(tmp_path, boot_kernel):
    names = write_guide_plugins(tmp_path / "guide")
    assert len(names) >= 17, "the guide lost its tutorial plugin or a hook example"
    async with boot_kernel(sorted(names), plugins_dirs=[tmp_path / "guide"]) as kernel:
        states = {name: (kernel.state(name).value, kernel.error(name)) for name in names}
        assert states == {name: ("active", None) for name in names}
        page = await kernel.client.get("/ex-pages/")
        assert page.status_code == 200 and "<h1>Hello</h1>" in page.text
        assert (await kernel.client.get("/api/ex-routes/ping")).json() == {"pong": "ok"}


@pytest.mark.slow  # a real pytest subprocess: about 3 s
def test_the_guides_tests_pass_in_a_real_pytest_run(tmp_path):
    write_guide_plugins(tmp_path / "guide")
    tests = [p for p in (tmp_path / "guide").rglob("test_guide_*.py")]
    assert tests, "the guide shows no test"
    shown = sum(len(re.findall(r"^(?:async )?def test_", p.read_text(), re.M)) for p in tests)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, tests)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(rf"\b{shown} passed\b", run.stdout), run.stdout


def test_plain_python_blocks_run():
    for language, kind, _, code in blocks():
        if language == "python" and kind is None:
            exec(compile(textwrap.dedent(code), str(GUIDE), "exec"), {})
