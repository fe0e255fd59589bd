"""Resource limits of a sandboxed plugin and the child-side guards that apply them.

Limits are read from the plugin's settings under the `sandbox` key, so the manifest gives
defaults (`[settings.sandbox]` in plugin.toml) and `mindframe.toml` or `MINDFRAME_...`
can override them like any other setting; a key left out keeps the default below:

    [settings.sandbox]
    memory_mb = 256          # RLIMIT_AS of each process of the child (address space)
    cpu_seconds = 60         # RLIMIT_CPU: CPU time of each process over its whole life
    processes = 64           # RLIMIT_NPROC: processes and threads of the child's own uid
    heartbeat_timeout = 3.0  # seconds without a heartbeat before the child is killed
"""

from __future__ import annotations

import resource
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HEARTBEAT_INTERVAL = 0.5
EXIT_MEMORY = 75
"""The child's exit status when it hit its memory limit."""


@dataclass(frozen=True, slots=True)
class Limits:
    memory_mb: int = 256
    cpu_seconds: int = 60
    processes: int = 64
    heartbeat_timeout: float = 3.0
    backoff_initial: float = 0.25
    backoff_max: float = 30.0

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """Read the `sandbox` table of a plugin's settings (a dict or a settings model)."""
        if isinstance(settings, dict):
            raw = settings.get("sandbox") or {}
        else:
            raw = getattr(settings, "sandbox", None) or {}
        if not isinstance(raw, dict):
            raw = dict(raw)
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"settings.sandbox: unknown key(s) {unknown}; known: {sorted(known)}")
        values = {k: v for k, v in raw.items() if v is not None}
        for key in ("memory_mb", "cpu_seconds", "processes"):
            if key in values and (not isinstance(values[key], int) or values[key] <= 0):
                raise ValueError(f"settings.sandbox.{key}: a positive integer, got {values[key]!r}")
        limits = cls(**values)
        if limits.heartbeat_timeout <= HEARTBEAT_INTERVAL:
            raise ValueError(
                f"settings.sandbox.heartbeat_timeout: more than the {HEARTBEAT_INTERVAL} s "
                f"heartbeat interval, got {limits.heartbeat_timeout!r}"
            )
        return limits


def out_of_memory_reason(memory_mb: int) -> str:
    """Why a child that hit its memory limit ended: said by the child in its `Fatal` frame,
    and by the supervisor from the exit status alone when that frame could not be sent
    (near the limit even a small write may fail)."""
    return f"ran out of memory (MemoryError; memory_mb = {memory_mb})"


def apply_rlimits(memory_mb: int, cpu_seconds: int, processes: int | None) -> None:
    """Set the child's hard limits (in the child, before the plugin is imported; without
    CAP_SYS_RESOURCE it cannot raise them again). `processes` only with a uid of its own:
    RLIMIT_NPROC counts every process and thread of the real uid."""
    size = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    # SIGXCPU at the soft limit (the default action kills); SIGKILL one second later.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    if processes is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def _family_name(family: int) -> str:
    try:
        return socket.AddressFamily(socket.AF_INET if family == -1 else family).name
    except ValueError:
        return f"family {family}"


def guard_sockets(on_refused: Callable[[str], str]) -> None:
    """Refuse a new socket in Python code with a message naming the permission to grant.

    A courtesy, not the boundary: the OS refuses `socket(2)` anyway (confinement.py); this
    turns its bare EACCES into a `PermissionDenied` that says what to change, and lets
    `on_refused(what)` audit the attempt and word the message. Sockets made from an
    existing descriptor (`socketpair`, `fromfd`) are not new and pass."""
    from .permissions import PermissionDenied

    original_init = socket.socket.__init__

    def __init__(
        self: socket.socket, family: int = -1, type: int = -1, proto: int = -1, fileno: Any = None
    ) -> None:
        if fileno is None:
            raise PermissionDenied(on_refused(_family_name(family)))
        original_init(self, family, type, proto, fileno)

    socket.socket.__init__ = __init__  # type: ignore[method-assign]
