"""Source maps turn minified frames back into file, line, function and context.

Each test bundles two small modules with the real esbuild (minified, with a source map),
runs the bundle in Node to get a real stack trace, and hands `symbolicate` an event whose
frames are what a browser SDK reports for that trace."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mindframe_plugins.errors.symbolication import original_filename, symbolicate

ROOT = Path(__file__).resolve().parents[3]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"
URL = "http://shop.test/static/app.js"

SHELF = """\
// the shelf
export function countStock(shelf) {
  const items = shelf.items;
  if (items.length === 0) {
    throw new RangeError("the shelf is empty");
  }
  return items.length;
}
"""
MAIN = """\
import { countStock } from "./shelf.js";

function openShop(name) {
  return countStock({ name, items: [] });
}

openShop("corner");
"""


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[bytes, bytes, list[dict[str, Any]]]:
    """(minified app.js, app.js.map, the frames of the error it throws, innermost last)."""
    assert ESBUILD.exists(), "esbuild is missing: run scripts/setup (npm ci)"
    source = tmp_path / "src"
    source.mkdir()
    (source / "shelf.js").write_text(SHELF)
    (source / "main.js").write_text(MAIN)
    out = tmp_path / "dist" / "app.js"
    subprocess.run(
        [str(ESBUILD), str(source / "main.js"), "--bundle", "--minify", "--sourcemap",
         f"--outfile={out}", "--log-level=warning"],
        check=True,
    )  # fmt: skip
    run = subprocess.run(["node", str(out)], capture_output=True, text=True)
    assert "RangeError: the shelf is empty" in run.stderr, run.stderr
    frames = []
    for function, line, column in re.findall(r"at (?:(\S+) \()?.*?app\.js:(\d+):(\d+)", run.stderr):
        frames.append(
            {"abs_path": URL, "filename": URL, "function": function or "?",
             "lineno": int(line), "colno": int(column), "in_app": True}
        )  # fmt: skip
    assert frames, run.stderr
    frames.reverse()  # Sentry's order: the frame that raised comes last
    return out.read_bytes(), out.with_suffix(".js.map").read_bytes(), frames


def event_with(frames: list[dict[str, Any]], release: str | None = "shop@1") -> dict[str, Any]:
    exception = {
        "type": "RangeError",
        "value": "the shelf is empty",
        "stacktrace": {"frames": frames},
    }
    return {"release": release, "exception": {"values": [exception]}, "platform": "javascript"}


def uploads(files: dict[str, bytes]) -> Any:
    asked: list[tuple[str, str]] = []

    def lookup(release: str, name: str) -> bytes | None:
        asked.append((release, name))
        return files.get(name) if release == "shop@1" else None

    lookup.asked = asked  # type: ignore[attr-defined]
    return lookup


def test_minified_frames_become_the_original_file_line_function_and_context(bundle):
    minified, source_map, frames = bundle
    assert "countStock" not in minified.decode()  # minified away: only the map knows it
    lookup = uploads({"~/static/app.js": minified, "~/static/app.js.map": source_map})
    event = event_with(frames)

    mapped = symbolicate(event, 1, lookup)

    value = mapped["exception"]["values"][0]
    top = value["stacktrace"]["frames"][-1]
    assert top["filename"] == "src/shelf.js"
    assert top["abs_path"] == "http://shop.test/src/shelf.js"
    assert top["function"] == "countStock"
    assert (top["lineno"], top["colno"]) == (5, 11)  # `new RangeError`, where V8 points
    assert top["context_line"] == '    throw new RangeError("the shelf is empty");'
    assert top["pre_context"][-1] == "  if (items.length === 0) {"
    assert top["post_context"][0] == "  }"
    caller = value["stacktrace"]["frames"][-2]
    assert (caller["filename"], caller["function"], caller["lineno"]) == (
        "src/main.js",
        "openShop",
        4,
    )
    assert value["raw_stacktrace"]["frames"] == frames  # the frames as sent are kept
    assert event["exception"]["values"][0]["stacktrace"]["frames"] == frames  # not changed


def test_with_only_the_map_uploaded_file_and_line_are_mapped_and_the_function_kept(bundle):
    _, source_map, frames = bundle
    mapped = symbolicate(event_with(frames), 1, uploads({"~/static/app.js.map": source_map}))
    top = mapped["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert (top["filename"], top["lineno"]) == ("src/shelf.js", 5)
    assert top["function"] == frames[-1]["function"]  # no minified file: no scopes to read


def test_an_inline_source_map_is_read_from_the_minified_file(bundle):
    minified, source_map, frames = bundle
    inline = re.sub(
        rb"sourceMappingURL=\S+",
        b"sourceMappingURL=data:application/json;base64," + base64.b64encode(source_map),
        minified,
    )
    mapped = symbolicate(event_with(frames), 1, uploads({"~/static/app.js": inline}))
    top = mapped["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert (top["filename"], top["function"]) == ("src/shelf.js", "countStock")


def test_an_event_without_release_or_uploads_comes_back_as_it_was(bundle):
    _, _, frames = bundle
    lookup = uploads({})
    without_release = event_with(frames, release=None)
    assert symbolicate(without_release, 1, lookup) is without_release
    assert lookup.asked == []
    other_release = event_with(frames, release="shop@2")
    assert symbolicate(other_release, 1, lookup) is other_release
    assert ("shop@2", "~/static/app.js") in lookup.asked


def test_a_broken_map_leaves_the_frames_and_says_why(bundle):
    minified, _, frames = bundle
    lookup = uploads({"~/static/app.js": minified, "~/static/app.js.map": b"{not json"})
    mapped = symbolicate(event_with(frames), 1, lookup)
    top = mapped["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert (top["lineno"], top["function"]) == (frames[-1]["lineno"], frames[-1]["function"])
    assert "json" in top["data"]["symbolication_error"]


def test_original_filenames_read_as_paths_in_the_project():
    assert original_filename("../src/App.jsx") == "src/App.jsx"
    assert original_filename("webpack://shop/./src/App.jsx") == "src/App.jsx"
    assert original_filename("../../node_modules/react/index.js") == "node_modules/react/index.js"
