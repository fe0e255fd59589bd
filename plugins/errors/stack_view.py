"""An event as the pages show it: its exceptions, newest first, each with its frames innermost
first, their source context, local variables and, for source-mapped frames, where the
minified code was.

Events come as the SDKs sent them, in shapes that vary between SDKs and versions; anything
unexpected is left out here rather than failing the page. Escaping is the template's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

MAX_VARS = 50
MAX_VALUE = 300


@dataclass(frozen=True, slots=True)
class SourceLine:
    number: int
    text: str
    current: bool


@dataclass(slots=True)
class FrameView:
    function: str
    filename: str
    lineno: int | None
    colno: int | None
    in_app: bool
    context: list[SourceLine] = field(default_factory=list)
    variables: list[tuple[str, str]] = field(default_factory=list)
    minified: str | None = None
    """Where a source-mapped frame was in the minified code: `app.js:1:2345 (e)`."""
    symbolication_error: str | None = None


@dataclass(slots=True)
class ExceptionView:
    type: str
    value: str
    handled: bool | None
    mechanism: str | None
    frames: list[FrameView]


def exceptions_of(event: dict[str, Any]) -> list[ExceptionView]:
    """The event's exceptions, the one raised last first (the SDKs send them oldest first)."""
    section = event.get("exception")
    values = section.get("values") if isinstance(section, dict) else section
    if not isinstance(values, list):
        return []
    found = [_exception(value) for value in values if isinstance(value, dict)]
    return list(reversed(found))


def message_of(event: dict[str, Any]) -> str | None:
    message = event.get("logentry") or event.get("message")
    if isinstance(message, dict):
        message = message.get("formatted") or message.get("message")
    return message if isinstance(message, str) and message else None


def tags_of(event: dict[str, Any]) -> list[tuple[str, str]]:
    tags = event.get("tags")
    pairs = tags.items() if isinstance(tags, dict) else tags if isinstance(tags, list) else []
    found = []
    for pair in pairs:
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            found.append((str(pair[0]), str(pair[1])))
    return sorted(found)


def _exception(value: dict[str, Any]) -> ExceptionView:
    mechanism = value.get("mechanism") if isinstance(value.get("mechanism"), dict) else {}
    handled = mechanism.get("handled")
    frames = _frames(value.get("stacktrace"))
    raw = _frames(value.get("raw_stacktrace"))
    views = [
        _frame(frame, raw[i] if len(raw) == len(frames) else None) for i, frame in enumerate(frames)
    ]
    return ExceptionView(
        type=str(value.get("type") or ""),
        value=str(value.get("value") or ""),
        handled=handled if isinstance(handled, bool) else None,
        mechanism=str(mechanism["type"]) if mechanism.get("type") else None,
        frames=list(reversed(views)),
    )


def _frames(stacktrace: Any) -> list[dict[str, Any]]:
    frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
    return [f for f in frames if isinstance(f, dict)] if isinstance(frames, list) else []


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _frame(frame: dict[str, Any], raw: dict[str, Any] | None) -> FrameView:
    lineno = _number(frame.get("lineno"))
    view = FrameView(
        function=str(frame.get("function") or "?"),
        filename=str(frame.get("filename") or frame.get("abs_path") or frame.get("module") or "?"),
        lineno=lineno,
        colno=_number(frame.get("colno")),
        in_app=frame.get("in_app") is not False,
    )
    if isinstance(frame.get("context_line"), str) and lineno is not None:
        before = [str(line) for line in frame.get("pre_context") or []]
        after = [str(line) for line in frame.get("post_context") or []]
        first = lineno - len(before)
        for offset, text in enumerate([*before, frame["context_line"], *after]):
            view.context.append(SourceLine(first + offset, text, first + offset == lineno))
    variables = frame.get("vars")
    if isinstance(variables, dict):
        for name, value in list(variables.items())[:MAX_VARS]:
            text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
            view.variables.append((str(name), text[:MAX_VALUE]))
    data = frame.get("data") if isinstance(frame.get("data"), dict) else {}
    if data.get("symbolication_error"):
        view.symbolication_error = str(data["symbolication_error"])
    if raw is not None and raw is not frame and data.get("symbolicated"):
        where = raw.get("abs_path") or raw.get("filename") or "?"
        view.minified = (
            f"{where}:{raw.get('lineno')}:{raw.get('colno')} ({raw.get('function') or '?'})"
        )
    return view
