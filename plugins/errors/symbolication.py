"""Where minified browser stack frames are mapped back to their sources.

The digest calls `symbolicate` on every event before grouping it, so frames group by the
original function and file, not by the minified ones. `lookup(release, name)` returns the
content of an uploaded artifact (`POST /api/errors/projects/{id}/releases/{release}/files`,
stored in `errors_artifacts`) or None; `name` is as uploaded, `~/static/app.js.map` style.
It is synchronous because the digest runs it inside its database transaction, on a worker
thread: call it freely, answers are cached for the batch.

Until source maps are applied here, an event comes back unchanged (the same object).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Lookup = Callable[[str, str], bytes | None]
"""(release, artifact name) -> the uploaded file's bytes, or None."""


def symbolicate(event: dict[str, Any], project_id: int, lookup: Lookup) -> dict[str, Any]:
    """`event` with its frames mapped through the release's source maps, if any."""
    return event
