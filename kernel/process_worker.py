"""The child side of `ProcessPool` (`kernel/process_pool.py`): run pickled calls, one at a
time, and answer each on the pipe it was given.

Started as `python -m mindframe.kernel.process_worker`; the first message names where the
plugin's package lives, so `mindframe_plugins.<name>.<module>` imports from that folder,
the version of the code the pool's plugin runs. Kept small: a worker's start-up is a Python
start plus the imports the called function needs, and nothing of the runtime.

Frames in both directions: 8 bytes of big-endian length, then a pickle. The protocol has
the process's own stdout; anything the plugin prints goes to stderr instead, so a stray
`print` cannot corrupt an answer.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import pickle
import struct
import sys
import traceback
from typing import Any, BinaryIO

HEADER = struct.Struct(">Q")


def read_frame(stream: BinaryIO) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    (length,) = HEADER.unpack(header)
    payload = stream.read(length)
    if len(payload) < length:
        raise EOFError
    return pickle.loads(payload)


def frame(value: Any) -> bytes:
    """`value` as one frame (raises, writing nothing, if it cannot be pickled)."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def write_frame(stream: BinaryIO, value: Any) -> None:
    stream.write(frame(value))
    stream.flush()


def install_plugin(module_name: str, folder: str) -> None:
    """Make `module_name` (`mindframe_plugins.<name>`) the package at `folder`, without
    running its `__init__` (which sets up routes and hooks the worker has no use for): a
    submodule the call needs, `mindframe_plugins.<name>.work`, then imports on its own."""
    root_name, _, leaf = module_name.rpartition(".")
    for name, path in ((root_name, []), (module_name, [folder])):
        if name and name not in sys.modules:
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = list(path)
            module = importlib.util.module_from_spec(spec)
            module.__path__ = list(path)
            sys.modules[name] = module
    setattr(sys.modules[root_name], leaf, sys.modules[module_name])


def answer_of(call: tuple[Any, tuple[Any, ...]]) -> tuple[bool, Any]:
    """(True, result) or (False, the exception, or a stand-in when it cannot be pickled)."""
    fn, args = call
    try:
        result = fn(*args)
    except Exception as error:  # every failure goes back to the caller
        try:
            pickle.dumps(error)
        except Exception:
            text = "".join(traceback.format_exception(error))
            error = RuntimeError(f"{type(error).__name__} in a worker process:\n{text}")
        return False, error
    return True, result


def main() -> None:
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what the plugin prints goes to stderr, not into the protocol
    sys.stdout = sys.stderr
    calls = sys.stdin.buffer
    start = read_frame(calls)
    if start.get("module_name"):
        install_plugin(start["module_name"], start["folder"])
    write_frame(answers, ("ready", os.getpid()))
    while True:
        try:
            call = read_frame(calls)
        except EOFError:
            return
        ok, value = answer_of(call)
        try:
            write_frame(answers, (ok, value))
        except Exception as error:  # a result that cannot be pickled: say so, keep serving
            write_frame(answers, (False, TypeError(f"the result cannot be sent back: {error}")))


if __name__ == "__main__":
    main()
