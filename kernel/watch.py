"""`mindframe run --reload`: watch the plugin folders and reload only what changed.

A changed file reloads the plugin whose folder holds it; a new folder with a
`plugin.toml` loads a new plugin; a deleted plugin folder unloads it. A change to the
kernel or the SDK cannot be applied to a running process, so it is reported as needing
a restart rather than silently ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from watchfiles import Change, DefaultFilter, awatch

from .discovery import MANIFEST_FILE, find_plugin_folders

if TYPE_CHECKING:
    from .runtime import Runtime

log = logging.getLogger("mindframe.watch")

# watchfiles yields a batch once no new change has come for STEP ms (at most DEBOUNCE ms
# after the first): editors that write a file in several steps give one reload, and a
# single save is seen within a few tens of milliseconds (benchmarks/reload.py: a 15 ms step
# gave 43 ms save-to-serving at p50, 5 ms gave 25 ms).
STEP_MS = 5
DEBOUNCE_MS = 300
RUST_TIMEOUT_MS = 250  # how long shutting down may wait for the watcher thread
KERNEL_DIRS = (Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "sdk")


class SourceFilter(DefaultFilter):
    """The default filter (VCS folders, caches, editor swap files), plus compiled files."""

    def __call__(self, change: Change, path: str) -> bool:
        return super().__call__(change, path) and not path.endswith((".pyc", ".mo"))


async def watch(runtime: Runtime, *, stop: anyio.Event, ready: anyio.Event | None = None) -> None:
    """Reload plugins as their files change, until `stop` is set."""
    roots = [root.resolve() for root in runtime.roots if root.is_dir()]
    watched = [*roots, *(d for d in KERNEL_DIRS if d.is_dir())]
    log.info("watching %s for changes", ", ".join(str(p) for p in roots))
    if ready is not None:
        ready.set()
    async for changes in awatch(
        *watched,
        watch_filter=SourceFilter(),
        debounce=DEBOUNCE_MS,
        step=STEP_MS,
        stop_event=stop,
        rust_timeout=RUST_TIMEOUT_MS,
    ):
        try:
            await apply(runtime, roots, {Path(path) for _, path in changes})
        except Exception:  # the watcher must outlive any one bad batch
            log.exception("applying file changes failed")


async def apply(runtime: Runtime, roots: list[Path], paths: Iterable[Path]) -> None:
    """Turn a batch of changed paths into reloads, loads and unloads."""
    folders = {record.folder.resolve(): name for name, record in runtime.folder_plugins()}
    to_reload: list[str] = []
    new_folders: set[Path] = set()
    for path in paths:
        kernel_dir = next((d for d in KERNEL_DIRS if path.is_relative_to(d)), None)
        if kernel_dir is not None:
            runtime.note_restart_needed(path)
            log.warning("%s changed: restart mindframe to apply changes to the kernel or SDK", path)
            continue
        owner = next((folders[p] for p in (path, *path.parents) if p in folders), None)
        if owner is not None:
            if owner not in to_reload:
                to_reload.append(owner)
        elif path.name == MANIFEST_FILE and path.is_file():
            new_folders.add(path.parent)
        elif path.is_dir():
            # a new folder: the OS starts watching it only after it appears, so files
            # written into it at once may bring no events of their own; look inside
            new_folders.update(f for f in find_plugin_folders(path) if f.resolve() not in folders)
    for folder, name in folders.items():
        if not folder.exists():
            await runtime.remove_plugin(name)
            if name in to_reload:
                to_reload.remove(name)
    reloaded: set[str] = set()
    for name in runtime.in_start_order(to_reload):
        if name in reloaded or name not in runtime.records:
            continue
        result = await runtime.reload(name)
        reloaded.update([name, *result.dependents])
    for folder in sorted(new_folders):
        if any(folder.is_relative_to(root) for root in roots):
            await runtime.add_plugin(folder)
