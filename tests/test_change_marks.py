"""Change marks: every bump, from any process, changes what a reader sees."""

import subprocess
import sys
from itertools import pairwise

from mindframe.kernel import change_marks
from mindframe.kernel.change_marks import ABSENT, ChangeMark


def test_every_bump_changes_the_reading_even_when_the_file_starts_over(tmp_path, monkeypatch):
    monkeypatch.setattr(change_marks, "MOST_BYTES", 3)
    path = tmp_path / "marks" / "auth" / "identities"
    mark = ChangeMark(path)
    path.unlink()  # gone (cleaned away while running): made again by the next bump
    readings = [mark.read()]
    for _ in range(7):  # starts over twice on the way
        mark.bump()
        readings.append(mark.read())
    assert readings[0] == ABSENT
    assert all(before != after for before, after in pairwise(readings))


def test_a_bump_in_another_process_is_seen_here(tmp_path):
    path = tmp_path / "mark"
    mark = ChangeMark(path)
    mark.bump()
    seen = mark.read()
    code = (
        "from pathlib import Path; from mindframe.kernel.change_marks import ChangeMark; "
        f"ChangeMark(Path({str(path)!r})).bump()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert mark.read() != seen


def test_without_a_data_directory_a_mark_counts_in_this_process():
    mark = ChangeMark(None)
    seen = mark.read()
    mark.bump()
    assert mark.read() != seen
