"""When the digest runs: at once when a full batch waits, as soon as the intake goes quiet,
and at the latest `digest_wait` after an envelope arrived.

A batch has a fixed cost (a dozen statements and a commit, ~3 ms of CPU), so during a burst
the digest takes full batches; but once the senders stop, what is left is digested at once
instead of waiting out `digest_wait` (that wait was most of the time from a burst's last
answer to its last event stored). "Quiet" is no envelope for `digest_quiet` seconds, checked
by one timer per quiet interval, not one per envelope. While the digest runs it is not
woken: it decides after each batch whether another is worth taking (`worth_another_batch`),
so a wake during a batch does not start a run that takes a handful of envelopes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class DigestPacing:
    def __init__(self, batch: int, wait: float, quiet: float, wake: Callable[[], None]) -> None:
        self._batch = batch
        self._wait = wait
        self._quiet = quiet
        self._wake = wake
        self.pending = 0
        """Envelopes accepted and not yet read by the digest (on the event loop only; those
        from before a restart are not counted: the first read of a run finds them)."""
        self.running = False
        self.accepted_total = 0  # envelopes accepted since start
        self.quiet_wakes = 0  # wakes because the intake went quiet, for tests and health
        self._last_accept = 0.0  # time.monotonic() of the latest accepted envelope
        self._first_pending = 0.0  # ... of the oldest not yet woken for
        self._timer: asyncio.TimerHandle | None = None

    def accepted(self, count: int = 1) -> None:
        """`count` envelopes reached the inbox."""
        now = time.monotonic()
        self.pending += count
        self.accepted_total += count
        self._last_accept = now
        if self.running:
            return  # the run looks after them (`finished`)
        if self.pending >= self._batch or self._wait <= 0:
            self._wake_now()
        elif self._timer is None:
            self._arm(now)

    def started(self) -> None:
        self.running = True
        self.cancel()

    def taken(self, count: int) -> None:
        """The digest read `count` envelopes."""
        self.pending = max(0, self.pending - count)

    def caught_up(self, accepted_before_read: int) -> None:
        """The digest read the spool to its end: only what was accepted since that read
        began waits (`pending` is an estimate; this keeps it from waking the digest for
        nothing, over and over)."""
        self.pending = self.accepted_total - accepted_before_read

    def worth_another_batch(self) -> bool:
        """After a batch: a full one waits, or the intake is quiet and something waits."""
        return self.pending >= self._batch or (self.pending > 0 and self._is_quiet())

    def finished(self, failed: bool = False) -> None:
        """The run ended: what arrived during it is woken for like a new arrival (not after
        a failure: the job's own pause comes first, then its next run)."""
        self.running = False
        if failed:
            return
        if self.pending >= self._batch:
            self._wake_now()
        elif self.pending > 0 and self._timer is None:
            self._arm(time.monotonic())

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _is_quiet(self) -> bool:
        return time.monotonic() - self._last_accept >= self._quiet

    def _arm(self, now: float) -> None:
        self._first_pending = now
        delay = min(self._quiet, self._wait)
        self._timer = asyncio.get_running_loop().call_later(delay, self._check)

    def _check(self) -> None:
        self._timer = None
        now = time.monotonic()
        if self._is_quiet():
            self.quiet_wakes += 1
            self._wake_now()
        elif now - self._first_pending >= self._wait:
            self._wake_now()
        else:
            due = min(self._last_accept + self._quiet, self._first_pending + self._wait)
            self._timer = asyncio.get_running_loop().call_later(max(0.0, due - now), self._check)

    def _wake_now(self) -> None:
        self.cancel()
        if not self.running:
            self._wake()
