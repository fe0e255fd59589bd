"""SIGKILL at random points, many times, on the same SQLite file: every event publish()
accepted is handled in the end. A kill lands anywhere: in the catch-up of what the last
run left, between a publish and its commit, inside handlers before or after their ack.
Four kills catch, run after run, an ack sent before the handler finished and a publish()
that returns before its commit (each checked by putting it in)."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("crash_child.py")
KILL_WITHIN = 0.15  # seconds after the child starts publishing


def _ids(path: Path) -> set[str]:
    return set(path.read_text().split()) if path.exists() else set()


def _publish_until_killed(workdir: Path, delay: float) -> None:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "publish", str(workdir)], stdout=subprocess.PIPE
    )
    try:
        started, _, _ = select.select([child.stdout], [], [], 60)
        assert started, "the publisher did not start within 60 s"
        assert child.stdout.readline() == b"started\n", "the publisher failed to start"  # type: ignore[union-attr]
        time.sleep(delay)  # the random kill point, not a wait for something to happen
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()  # type: ignore[union-attr]


@pytest.mark.parametrize("kills", [4, pytest.param(40, marks=pytest.mark.slow)])
def test_sigkill_at_random_points_loses_no_accepted_event(tmp_path: Path, kills: int) -> None:
    in_flight = 0  # accepted but not yet handled when a kill landed, over all kills
    for _ in range(kills):
        _publish_until_killed(tmp_path, random.uniform(0, KILL_WITHIN))
        in_flight += len(_ids(tmp_path / "accepted") - _ids(tmp_path / "handled"))
    assert in_flight, "no kill landed while events were on their way: nothing was tested"

    recover = subprocess.run([sys.executable, str(CHILD), "recover", str(tmp_path)], timeout=120)
    assert recover.returncode == 0
    accepted = _ids(tmp_path / "accepted")
    lost = accepted - _ids(tmp_path / "handled")
    assert not lost, (
        f"{len(lost)} of {len(accepted)} accepted events never handled, e.g. {sorted(lost)[:5]}"
    )
