"""SIGKILL mid-delivery, restart on the same SQLite file: no accepted event is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("crash_child.py")


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.slow
def test_sigkill_mid_delivery_loses_nothing(tmp_path: Path) -> None:
    count = 300
    child = subprocess.Popen([sys.executable, str(CHILD), "publish", str(tmp_path), str(count)])
    try:
        deadline = time.monotonic() + 30
        while len(_lines(tmp_path / "handled")) < 20:
            assert child.poll() is None, "publisher exited early"
            assert time.monotonic() < deadline, "publisher never started handling"
            time.sleep(0.01)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    accepted = set(_lines(tmp_path / "accepted"))
    handled_before = set(_lines(tmp_path / "handled"))
    assert accepted and not accepted <= handled_before, "kill came too late to test anything"

    recover = subprocess.run(
        [sys.executable, str(CHILD), "recover", str(tmp_path), str(count)], timeout=60
    )
    assert recover.returncode == 0
    assert accepted <= set(_lines(tmp_path / "handled"))
