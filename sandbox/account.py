"""What a child runs as: a working directory of its own and, under a root kernel, a uid.

The uid is the child's alone among live kernels (derived from the kernel's pid and a slot),
so the limit on processes counts only this child's, and every process the child started —
even one that left its process group with `setsid` — can be found and killed by uid when
the child ends. Without root there is no uid to give: only the process group is killed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from pathlib import Path

UID_BASE = 2**31
"""Sandbox uids are UID_BASE + kernel pid * SLOTS + slot: far above ordinary accounts."""
SLOTS = 64
_taken: set[int] = set()


def live_uid(pid: int | str) -> int | None:
    """The real uid of a live (not zombie) process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            fields = dict(line.split(b":", 1) for line in status if b":" in line)
    except OSError:
        return None
    if fields.get(b"State", b"").strip().startswith((b"Z", b"X")):
        return None
    return int(fields[b"Uid"].split()[0])


def kill_uid(uid: int) -> None:
    """SIGKILL every process of `uid`, again until none is left (a process may fork while
    it is being looked for; with RLIMIT_NPROC it cannot fork far)."""
    for _ in range(100):
        found = [pid for pid in os.listdir("/proc") if pid.isdigit() and live_uid(pid) == uid]
        if not found:
            return
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


class Account:
    """A child's uid (or None) and working directory; `close` kills what runs under the
    uid and removes the directory."""

    def __init__(self, plugin: str) -> None:
        self.uid: int | None = None
        self._slot: int | None = None
        if os.geteuid() == 0:
            self._slot = next(slot for slot in range(SLOTS + 1) if slot not in _taken)
            if self._slot == SLOTS:
                raise RuntimeError(f"more than {SLOTS} sandboxed children in one kernel")
            _taken.add(self._slot)
            self.uid = UID_BASE + (os.getpid() % 2**24) * SLOTS + self._slot
        self.workdir = Path(tempfile.mkdtemp(prefix=f"mindframe-sandbox-{plugin}-"))
        if self.uid is not None:
            os.chown(self.workdir, self.uid, self.uid)

    def kill_all(self) -> None:
        if self.uid is not None:
            kill_uid(self.uid)

    def close(self) -> None:
        self.kill_all()
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self._slot is not None:
            _taken.discard(self._slot)
            self._slot = None
