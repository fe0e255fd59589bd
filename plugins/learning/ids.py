"""Decision ids: unique across processes and restarts, time-ordered, cheap to make (a clock
prefix formatted once per millisecond, a random process part, a counter)."""

from __future__ import annotations

import itertools
import os
import time

_process = os.urandom(5).hex()
_counter = itertools.count(int.from_bytes(os.urandom(3)))
_ms = 0
_head = ""


def new_decision_id() -> str:
    global _ms, _head
    ms = int(time.time() * 1000)
    if ms != _ms:
        _ms, _head = ms, f"{ms:012x}{_process}"
    return _head + format(next(_counter) & 0xFFFFFFFFFF, "010x")
