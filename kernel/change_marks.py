"""Change marks: a change one process makes, noticed by every process sharing the data
directory for the price of one `stat` (`ctx.change_mark(name)`).

Why: a plugin that keeps something in memory for speed (the auth plugin remembers who a token
is) must forget it the moment another process changes the truth behind it — the CLI revoking
a token while the server runs, or a second worker. Asking the database on every request is
what the memory was there to avoid; a bus event reaches only the processes on the bus, and
not at once. A mark is a file under `<data_dir>/marks/<plugin>/<name>`: `bump()` appends one
byte, `read()` returns its identity, size and modification time, which differ after every
bump (the size grows by one; after `MOST_BYTES` the file starts over, which changes its size
and time the same way).
"""

from __future__ import annotations

import os
from pathlib import Path

MOST_BYTES = 4096
ABSENT = (0, 0, 0)

Reading = tuple[int, int, int]


class ChangeMark:
    """One mark; without a path (a runtime with no data directory) it is this process's
    own counter."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._local = 0
        if path is not None:  # made now, so a reading never pays for a missing file's error
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)

    def read(self) -> Reading:
        """What the mark says now: compare it with an earlier reading to learn whether
        anything bumped it since."""
        if self.path is None:
            return (0, self._local, 0)
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return ABSENT
        return (found.st_ino, found.st_size, found.st_mtime_ns)

    def bump(self) -> None:
        """Tell every reader something changed."""
        self._local += 1
        if self.path is None:
            return
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        descriptor = os.open(self.path, flags, 0o600)
        try:
            if os.fstat(descriptor).st_size >= MOST_BYTES:
                os.ftruncate(descriptor, 0)
            os.write(descriptor, b".")
        finally:
            os.close(descriptor)
