"""Per-project rate limits, counted in memory in one-minute windows.

The answer to an envelope over the limit is 429 with `Retry-After` and
`X-Sentry-Rate-Limits: <seconds>:error;default:project`, which every Sentry SDK honours by
sending nothing of those categories until then. Counting in memory keeps the limit off the
database; with several processes each counts its own share.
"""

from __future__ import annotations

import math
import time
from collections import Counter

WINDOW = 60.0
LIMITED_CATEGORIES = "error;default"
"""The SDKs' data categories of `event` items (error events, and message events)."""


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[int, tuple[float, int]] = {}  # project -> (window start, count)
        self.refused: Counter[int] = Counter()  # envelopes answered 429, per project

    def take(self, project_id: int, events: int, limit: int) -> float | None:
        """Count `events` against the project's `limit` a minute: None when they fit (and
        are counted), else the seconds until the window ends (nothing counted)."""
        if limit <= 0 or events == 0:
            return None
        now = time.monotonic()
        start, count = self._windows.get(project_id, (now, 0))
        if now - start >= WINDOW:
            start, count = now, 0
        if count + events > limit:
            self.refused[project_id] += 1
            return max(1.0, start + WINDOW - now)
        self._windows[project_id] = (start, count + events)
        return None


def rate_limit_headers(retry_after: float) -> dict[str, str]:
    """What tells the SDKs to back off (whole seconds: the SDKs parse integers)."""
    seconds = str(math.ceil(retry_after))
    return {
        "Retry-After": seconds,
        "X-Sentry-Rate-Limits": f"{seconds}:{LIMITED_CATEGORIES}:project:rate_limited",
    }
