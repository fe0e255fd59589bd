"""The cyclic garbage collector while `mindframe run` boots: collected less often, not less.

Why: a boot imports and builds ~190,000 long-lived objects (modules, classes, handlers,
tables). At Python's default thresholds (a young collection every 700 allocations, an older
one every 10 of those) the collector walks the growing heap some 400 times during a boot,
about a tenth of a cold start's CPU (issue 16). While the CLI imports and the runtime boots,
the young generation is collected every `BOOT_THRESHOLD` allocations instead; once every
plugin has started (`Runtime.start`), the thresholds in force before are back. Nothing is
frozen or switched off: garbage made while booting is collected as usual, in fewer passes.
"""

from __future__ import annotations

import gc

BOOT_THRESHOLD = 10_000
"""Allocations between young collections while booting (Python's default: 700). Larger
values measured no better: most of what is left is the few older collections."""

_before: tuple[int, int, int] | None = None


def begin() -> None:
    """Collect the young generation every `BOOT_THRESHOLD` allocations until `end`."""
    global _before
    if _before is None:
        _before = gc.get_threshold()
        gc.set_threshold(max(BOOT_THRESHOLD, _before[0]), *_before[1:])


def end() -> None:
    """Put back the thresholds `begin` found; nothing when it was not called."""
    global _before
    if _before is not None:
        gc.set_threshold(*_before)
        _before = None


def booting() -> bool:
    return _before is not None
