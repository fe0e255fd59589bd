"""Where minified browser stack frames are mapped back to their sources.

The digest calls `symbolicate` on every event of a release with uploaded files before
grouping it, so frames group by the original function and file, not by the minified ones.
`lookup(release, name)` returns the content of an uploaded artifact
(`POST /api/errors/projects/{id}/releases/{release}/files`, stored in `errors_artifacts`)
or None; `name` is as uploaded, `~/static/app.js.map` style.
It is synchronous because the digest runs it inside its database transaction, on a worker
thread: call it freely, answers are cached for the batch.

A frame at `http://host/static/app.js` is looked up as that URL, then as `~/static/app.js`;
the minified file's `//# sourceMappingURL=` names its map (relative to it, or inline as a
`data:` URL), else `<file>.map` is tried. With the minified file uploaded too, the original
function's name comes from the scope around the frame (Sentry's `symbolic`), not only from
the map's names. The frame as sent is kept in `raw_stacktrace` beside the mapped one; an
event with nothing to map comes back unchanged (the same object).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from symbolic.sourcemapcache import SourceMapCache

Lookup = Callable[[str, str], bytes | None]
"""(release, artifact name) -> the uploaded file's bytes, or None."""

CONTEXT_LINES = 5
CACHED_MAPS = 16
"""Parsed source maps kept between batches (parsing a 3 MB map takes ~0.3 s)."""
_MAPPING_URL = re.compile(rb"[#@]\s*sourceMappingURL=(\S+)\s*$")


@dataclass(frozen=True, slots=True)
class SourceMap:
    """A parsed map, the artifact name it was found under and the URL it stands for (the
    map's relative sources are joined to that URL)."""

    name: str
    url: str
    cache: SourceMapCache
    with_scopes: bool
    """Whether the minified file was there too, so function names come from scopes."""


def symbolicate(event: dict[str, Any], project_id: int, lookup: Lookup) -> dict[str, Any]:
    """`event` with its frames mapped through the release's source maps, if any."""
    release = event.get("release")
    if not isinstance(release, str) or not release:
        return event
    maps = _Maps(release, lookup)
    mapped = copy.copy(event)
    changed = False
    for section in ("exception", "threads"):
        values = _values(event.get(section))
        if not values:
            continue
        new_values = []
        for value in values:
            new_value = _mapped_value(value, maps)
            changed |= new_value is not value
            new_values.append(new_value)
        container = event[section]
        mapped[section] = (
            {**container, "values": new_values} if isinstance(container, dict) else new_values
        )
    return mapped if changed else event


def _values(section: Any) -> list[Any]:
    values = section.get("values") if isinstance(section, dict) else section
    return values if isinstance(values, list) else []


def _mapped_value(value: Any, maps: _Maps) -> Any:
    """An exception (or thread) with its stack trace mapped, or `value` itself."""
    if not isinstance(value, dict) or not isinstance(value.get("stacktrace"), dict):
        return value
    frames = value["stacktrace"].get("frames")
    if not isinstance(frames, list):
        return value
    new_frames = [_mapped_frame(frame, maps) for frame in frames]
    if all(new is old for new, old in zip(new_frames, frames, strict=True)):
        return value
    return {
        **value,
        "stacktrace": {**value["stacktrace"], "frames": new_frames},
        "raw_stacktrace": value["stacktrace"],
    }


def _mapped_frame(frame: Any, maps: _Maps) -> Any:
    """The frame at its original place, or `frame` itself when no map covers it."""
    if not isinstance(frame, dict):
        return frame
    path, line, column = (
        frame.get("abs_path") or frame.get("filename"),
        frame.get("lineno"),
        frame.get("colno"),
    )
    if not isinstance(path, str) or not isinstance(line, int) or not isinstance(column, int):
        return frame
    if line < 1 or column < 1:
        return frame
    try:
        found = maps.for_file(path)
        token = found.cache.lookup(line, column, CONTEXT_LINES) if found else None
    except Exception as error:  # a broken upload must not keep the event from the digest
        return {**frame, "data": {**_data(frame), "symbolication_error": str(error)[:500]}}
    if found is None or token is None or not token.src:
        return frame
    function = token.function_name if found.with_scopes else None
    if not function or function == "<unknown>":
        function = frame.get("function")
    mapped = {
        **frame,
        "filename": original_filename(token.src),
        "abs_path": urljoin(found.url, token.src),
        "lineno": token.line,
        "colno": token.col,
        "function": function,
        "in_app": "node_modules/" not in token.src,
        "data": {**_data(frame), "sourcemap": found.name, "symbolicated": True},
    }
    if token.context_line is not None:
        mapped["context_line"] = token.context_line.rstrip("\r\n")
        mapped["pre_context"] = [line.rstrip("\r\n") for line in token.pre_context]
        mapped["post_context"] = [line.rstrip("\r\n") for line in token.post_context]
    return mapped


def _data(frame: dict[str, Any]) -> dict[str, Any]:
    data = frame.get("data")
    return data if isinstance(data, dict) else {}


def original_filename(source: str) -> str:
    """A map's source as a reader names the file: `../src/App.jsx` -> `src/App.jsx`,
    `webpack://app/./src/App.jsx` -> `src/App.jsx`."""
    path = urlsplit(source).path if "://" in source else source
    parts = [p for p in path.split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or source


def artifact_names(url: str) -> list[str]:
    """The names a file at `url` may have been uploaded under, most exact first."""
    parts = urlsplit(url)
    bare = parts._replace(query="", fragment="").geturl()
    names = [url, bare]
    if parts.scheme in ("http", "https") and parts.path:
        names.append(f"~{parts.path}")
    return list(dict.fromkeys(names))


class _Maps:
    """The source maps of one release, found once per file for one event."""

    def __init__(self, release: str, lookup: Lookup) -> None:
        self._release = release
        self._lookup = lookup
        self._found: dict[str, SourceMap | None] = {}

    def for_file(self, url: str) -> SourceMap | None:
        if url not in self._found:
            self._found[url] = self._find(url)
        return self._found[url]

    def _find(self, url: str) -> SourceMap | None:
        for name in artifact_names(url):
            minified = self._lookup(self._release, name)
            if minified is not None:
                reference = mapping_url(minified)
                if reference is not None and reference.startswith("data:"):
                    return _parsed(name, url, minified, _data_url(reference))
                reference = reference or f"{urlsplit(name).path.rsplit('/', 1)[-1]}.map"
                source_map = self._lookup(self._release, urljoin(name, reference))
                if source_map is None:
                    return None
                return _parsed(
                    urljoin(name, reference), urljoin(url, reference), minified, source_map
                )
        for name in artifact_names(url):
            source_map = self._lookup(self._release, f"{name}.map")
            if source_map is not None:
                return _parsed(f"{name}.map", f"{url}.map", None, source_map)
        return None


def mapping_url(minified: bytes) -> str | None:
    """What the `//# sourceMappingURL=` comment at the end of a minified file says."""
    for line in reversed(minified[-4096:].splitlines()[-3:]):
        match = _MAPPING_URL.search(line.strip())
        if match:
            return match.group(1).decode("utf-8", "replace")
    return None


def _data_url(reference: str) -> bytes:
    header, _, payload = reference.partition(",")
    if header.endswith(";base64"):
        return base64.b64decode(payload)
    return unquote(payload).encode()


_parsed_lock = threading.Lock()
_parsed_maps: OrderedDict[bytes, SourceMapCache] = OrderedDict()


def _parsed(name: str, url: str, minified: bytes | None, source_map: bytes) -> SourceMap:
    """`source_map` parsed (or taken from the cache of recently parsed ones)."""
    key = hashlib.sha256(b"%d:" % len(minified or b"") + (minified or b"") + source_map).digest()
    with _parsed_lock:
        cache = _parsed_maps.get(key)
        if cache is not None:
            _parsed_maps.move_to_end(key)
    if cache is None:
        cache = SourceMapCache.from_bytes(minified or b"", source_map)
        with _parsed_lock:
            _parsed_maps[key] = cache
            while len(_parsed_maps) > CACHED_MAPS:
                _parsed_maps.popitem(last=False)
    return SourceMap(name, url, cache, with_scopes=minified is not None)
