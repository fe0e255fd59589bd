"""Work that must run once: named singleton jobs (an outbox sender, a digest loop, SLA timers,
retention, reconciliation).

A plugin starts one with `ctx.singleton(name, function, every=…)`. In one process the job
simply runs, under its name, from the call until the plugin unloads: `function` is awaited
again `every` seconds after it last finished (or at once when `wake()` is called), and a job
without `every` is a loop that is restarted, with a growing pause, if it ever returns or
raises. When several processes share the database (scale-out), the same call takes a lease
first so exactly one process runs the job; the plugin does not change.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

log = logging.getLogger(__name__)

RESTART_PAUSES = (0.1, 0.5, 1.0, 5.0, 30.0)
"""Seconds before a loop job that returned or raised is started again, the last one repeated."""

ErrorReporter = Callable[[BaseException, dict[str, Any]], None]


class Job:
    """One singleton job of a plugin. `wake()` makes a periodic job run now."""

    def __init__(
        self,
        owner: str,
        name: str,
        function: Callable[[], Awaitable[Any]],
        every: float | None,
        report_error: ErrorReporter,
    ) -> None:
        if every is not None and every <= 0:
            raise ValueError(f"job {name!r} of plugin '{owner}': every must be > 0, got {every}")
        self.owner = owner
        self.name = name
        self.every = every
        self.runs = 0
        """How many times `function` has finished, well or not (for health and tests)."""
        self.last_error: str | None = None
        self._function = function
        self._report_error = report_error
        self._woken = anyio.Event()

    def wake(self) -> None:
        """Run a periodic job now rather than at its next interval (a no-op for loops)."""
        self._woken.set()

    async def run(self) -> None:
        """Run until cancelled: periodically, or as a loop that is restarted."""
        failures = 0
        while True:
            self._woken = anyio.Event()
            failed = await self._run_once()
            failures = failures + 1 if failed or self.every is None else 0
            if self.every is not None and not failed:
                pause = self.every
            else:
                pause = RESTART_PAUSES[min(failures, len(RESTART_PAUSES)) - 1]
                if self.every is not None:
                    pause = min(pause, self.every)
            with anyio.move_on_after(pause):
                await self._woken.wait()

    async def _run_once(self) -> bool:
        try:
            await self._function()
        except Exception as error:
            self.last_error = f"{type(error).__name__}: {error}"
            log.exception("job %s of plugin %s failed", self.name, self.owner)
            self._report_error(error, {"plugin": self.owner, "job": self.name})
            return True
        finally:
            self.runs += 1
        self.last_error = None
        return False
