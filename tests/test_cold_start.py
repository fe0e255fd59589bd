"""Cold start (issue 16): booting every built-in plugin on a fresh database imports only
what starting needs. Heavy packages are imported where they are used (an agent's run, a
learner's first decision, a migration that has to run), so they cost nothing until then."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BOOT = textwrap.dedent(
    """
    import gc
    import json
    import sys
    from pathlib import Path

    import anyio

    default = gc.get_threshold()
    import mindframe.kernel.cli  # what `mindframe run` imports before it boots

    thresholds = {"default": default, "importing": gc.get_threshold()}
    from mindframe.kernel.runtime import Runtime
    from mindframe.kernel.settings import load_settings


    async def main() -> None:
        settings = load_settings(environ={}, overrides={"data_dir": Path(sys.argv[1])})
        async with Runtime(settings) as runtime:
            states = {name: record.state.value for name, record in runtime.records.items()}
            modules = sorted(sys.modules)
            thresholds["started"] = gc.get_threshold()
        print(json.dumps({"states": states, "modules": modules, "gc": thresholds}))


    anyio.run(main)
    """
)

NOT_AT_START = {
    "alembic": "the fresh database is stamped without Alembic (kernel/stamp.py)",
    "mako": "Alembic's templates, for writing revisions only",
    "numpy": "imported by the learners and agents where they compute",
    "aiosmtpd": "the mail plugin's inbound listener, off unless given a port",
    "watchfiles": "the file watcher of `mindframe run --reload`",
    "scipy": "imported inside agents' and experiments' computations",
    "sklearn": "imported inside an agent's run",
    "statsmodels": "imported inside an agent's run and an experiment's analysis",
    "ortools": "imported inside an agent's run",
}


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One fresh boot of every built-in plugin in a new interpreter, as `mindframe run`
    boots: its plugins' states, the modules it imported and the collector's thresholds."""
    tmp_path = tmp_path_factory.mktemp("cold")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    result = subprocess.run(
        [sys.executable, "-c", BOOT, str(tmp_path / "data")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_fresh_boot_starts_every_builtin_plugin_without_the_heavy_packages(booted):
    states = booted["states"]
    assert states and set(states.values()) == {"active"}, states
    roots = {name.split(".")[0] for name in booted["modules"]}  # type: ignore[union-attr]
    imported = {name: why for name, why in NOT_AT_START.items() if name in roots}
    assert imported == {}


def test_the_garbage_collector_runs_less_often_only_until_every_plugin_has_started(booted):
    """kernel/boot_gc.py: the young generation is collected every BOOT_THRESHOLD allocations
    while the CLI imports and the runtime boots, and the thresholds are back after."""
    from mindframe.kernel.boot_gc import BOOT_THRESHOLD

    thresholds = booted["gc"]
    assert thresholds["importing"][0] == BOOT_THRESHOLD  # type: ignore[index]
    assert thresholds["started"] == thresholds["default"]  # type: ignore[index]


def test_a_command_other_than_run_collects_at_the_usual_thresholds(tmp_path: Path):
    code = (
        "import gc; default = gc.get_threshold()\n"
        "from mindframe.kernel.cli import main\n"
        "raised = gc.get_threshold()\n"
        "main(['plugins', '--help'], standalone_mode=False)\n"
        "print(raised != default, gc.get_threshold() == default)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.split()[-2:] == ["True", "True"]
