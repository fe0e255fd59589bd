"""The runtime's own errors as Sentry events: failures of plugins, handlers, bus deliveries
and requests (the `capture_exception` hook) go to the built-in project through the same
intake as any SDK's, so they are limited, stored and grouped alike, with no SDK configured.

Frames carry module, function, line and the source around it, read with `linecache`; local
variables are left out (they may hold secrets). A frame is in-app when its file is not in
the standard library or an installed package.
"""

from __future__ import annotations

import linecache
import logging
import sysconfig
import time
import traceback
import uuid
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import msgspec

from . import envelope
from .refusal import Refusal

if TYPE_CHECKING:
    from .service import ErrorTracker

log = logging.getLogger(__name__)
CONTEXT_LINES = 5
MAX_CHAIN = 10
_LIBRARY_PATHS = tuple(
    {str(Path(p).resolve()) for k in ("stdlib", "platstdlib", "purelib", "platlib")
     if (p := sysconfig.get_paths().get(k))}
)  # fmt: skip


async def report(tracker: ErrorTracker, error: BaseException, context: dict[str, Any]) -> None:
    """Store `error` as an event of the built-in project (dropped when over its limit)."""
    project = tracker.builtin
    if project is None:
        return
    event = event_from(error, context)
    payload = msgspec.json.encode(event)
    body = envelope.build({"event_id": event["event_id"]}, [({"type": "event"}, payload)])
    try:
        await tracker.intake.accept(project, body)
    except Refusal as refusal:  # over the limit: the runtime is failing in a loop
        log.debug("runtime error not recorded: %s", refusal)


def event_from(error: BaseException, context: dict[str, Any]) -> dict[str, Any]:
    """A Sentry event for `error`, tagged with where the runtime caught it."""
    tags = {k: str(v) for k, v in context.items() if v is not None and k != "user"}
    event: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "timestamp": time.time(),
        "platform": "python",
        "level": "error",
        "logger": "mindframe",
        "server_name": "mindframe",
        "tags": tags,
        "exception": {"values": exception_chain(error)},
        "sdk": {"name": "mindframe.errors", "version": "0.1.0"},
    }
    plugin = context.get("plugin")
    if plugin:
        event["transaction"] = (
            " ".join(str(context[k]) for k in ("method", "path") if context.get(k))
            or f"plugin {plugin}"
        )
    if context.get("path"):
        event["request"] = {"method": context.get("method"), "url": context["path"]}
    return event


def exception_chain(error: BaseException) -> list[dict[str, Any]]:
    """`error` and its causes, oldest first (as the SDKs list them)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < MAX_CHAIN:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return [_exception(e) for e in reversed(chain)]


def _exception(error: BaseException) -> dict[str, Any]:
    kind = type(error)
    module = kind.__module__
    return {
        "type": kind.__qualname__,
        "value": str(error),
        "module": None if module == "builtins" else module,
        "stacktrace": {"frames": frames(error.__traceback__)},
        "mechanism": {"type": "mindframe", "handled": False},
    }


def frames(tb: TracebackType | None) -> list[dict[str, Any]]:
    found = []
    for frame, lineno in traceback.walk_tb(tb):
        path = frame.f_code.co_filename
        linecache.checkcache(path)
        found.append(
            {
                "filename": path,
                "abs_path": path,
                "module": frame.f_globals.get("__name__"),
                "function": frame.f_code.co_name,
                "lineno": lineno,
                "context_line": linecache.getline(path, lineno).rstrip("\n") or None,
                "pre_context": _lines(path, lineno - CONTEXT_LINES, lineno),
                "post_context": _lines(path, lineno + 1, lineno + 1 + CONTEXT_LINES),
                "in_app": _in_app(path),
            }
        )
    return found


def _lines(path: str, start: int, stop: int) -> list[str]:
    return [linecache.getline(path, n).rstrip("\n") for n in range(max(1, start), stop)]


def _in_app(path: str) -> bool:
    if path.startswith("<"):
        return False
    resolved = str(Path(path).resolve()) if Path(path).is_absolute() else path
    return not resolved.startswith(_LIBRARY_PATHS) and "site-packages" not in resolved
