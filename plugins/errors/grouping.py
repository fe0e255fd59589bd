"""Which issue an event belongs to: a hash of what stays the same when the same bug recurs.

In order of preference:

1. the SDK's `fingerprint`, where `{{ default }}` stands for what 2 to 4 would give;
2. the stack: each exception's type and its in-app frames (module, function, the line of
   code with its spacing normalised); line numbers and memory addresses are left out, so
   an edit above the bug or another process does not split the group;
3. the exceptions' types and values, with numbers, ids and addresses masked;
4. the message (its template, before parameters were put in).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

DEFAULT_MARKERS = frozenset({"{{ default }}", "{{default}}"})

_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b"
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_HEX_ID = re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def mask_variable_parts(text: str) -> str:
    """`text` with uuids, addresses, hex ids and numbers replaced by placeholders."""
    text = _UUID.sub("<uuid>", text)
    text = _ADDRESS.sub("<addr>", text)
    text = _HEX_ID.sub("<id>", text)
    return _NUMBER.sub("<n>", text)


def group_hash(event: dict[str, Any], exceptions: list[dict[str, Any]], message: str | None) -> str:
    """The group hash of `event` (32 hex characters)."""
    default = default_components(exceptions, message)
    fingerprint = event.get("fingerprint")
    if isinstance(fingerprint, list) and fingerprint:
        parts: list[str] = []
        for entry in fingerprint:
            text = str(entry)
            if text.strip() in DEFAULT_MARKERS:
                parts.extend(default)
            else:
                parts.append(f"fingerprint:{text}")
    else:
        parts = default
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:32]


def default_components(exceptions: list[dict[str, Any]], message: str | None) -> list[str]:
    with_frames = [e for e in exceptions if frames_of(e)]
    if with_frames:
        parts: list[str] = []
        for exception in exceptions:
            parts.append(f"type:{exception.get('type') or ''}")
            parts.extend(frame_component(frame) for frame in grouping_frames(frames_of(exception)))
        return parts
    if exceptions:
        parts = []
        for exception in exceptions:
            parts.append(f"type:{exception.get('type') or ''}")
            parts.append(f"value:{mask_variable_parts(str(exception.get('value') or ''))}")
        return parts
    if message:
        return [f"message:{message}"]
    return ["empty"]


def frames_of(exception: dict[str, Any]) -> list[dict[str, Any]]:
    stacktrace = exception.get("stacktrace")
    if isinstance(stacktrace, dict):
        frames = stacktrace.get("frames")
        if isinstance(frames, list):
            return [f for f in frames if isinstance(f, dict)]
    return []


def grouping_frames(frames: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The in-app frames, or all of them when the SDK marked none in-app."""
    frames = list(frames)
    in_app = [frame for frame in frames if frame.get("in_app") is True]
    return in_app or frames


def frame_component(frame: dict[str, Any]) -> str:
    where = frame.get("module") or _file_of(frame)
    function = _without_addresses(str(frame.get("function") or "?"))
    line = frame.get("context_line")
    code = _without_addresses(" ".join(line.split())) if isinstance(line, str) else ""
    return f"frame:{where}|{function}|{code}"


def _without_addresses(text: str) -> str:
    return _ADDRESS.sub("<addr>", text) if "0x" in text else text


def _file_of(frame: dict[str, Any]) -> str:
    """The file without what changes between builds and hosts: the origin and query of a
    URL, and hashes in names (`app.3f9a1c2e.js`)."""
    name = str(frame.get("filename") or frame.get("abs_path") or "")
    name = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]+", "", name).split("?", 1)[0]
    return _HEX_ID.sub("<id>", name)
