"""Resource limits of a sandboxed plugin and the child-side guards that apply them.

Limits are read from the plugin's settings under the `sandbox` key, so the manifest gives
defaults (`[settings.sandbox]` in plugin.toml) and `mindframe.toml` or `MINDFRAME_...`
can override them like any other setting:

    [settings.sandbox]
    memory_mb = 256          # RLIMIT_AS of the child (address space, not RSS)
    cpu_seconds = 60         # RLIMIT_CPU: CPU time of the child's whole life
    heartbeat_timeout = 3.0  # seconds without a heartbeat before the child is killed
"""

from __future__ import annotations

import ipaddress
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
    memory_mb: int | None = None
    cpu_seconds: int | None = None
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
        for key in ("memory_mb", "cpu_seconds"):
            if key in values and (not isinstance(values[key], int) or values[key] <= 0):
                raise ValueError(f"settings.sandbox.{key}: a positive integer, got {values[key]!r}")
        limits = cls(**values)
        if limits.heartbeat_timeout <= HEARTBEAT_INTERVAL:
            raise ValueError(
                f"settings.sandbox.heartbeat_timeout: more than the {HEARTBEAT_INTERVAL} s "
                f"heartbeat interval, got {limits.heartbeat_timeout!r}"
            )
        return limits


def out_of_memory_reason(memory_mb: int | None) -> str:
    """Why a child that hit its memory limit ended: said by the child in its `Fatal` frame,
    and by the supervisor from the exit status alone when that frame could not be sent
    (near the limit even a small write may fail)."""
    return f"ran out of memory (MemoryError; memory_mb = {memory_mb})"


def apply_rlimits(memory_mb: int | None, cpu_seconds: int | None) -> None:
    """Set the child's own hard limits (called in the child, before the plugin is imported)."""
    if memory_mb is not None:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if cpu_seconds is not None:
        # SIGXCPU at the soft limit (the default action kills); SIGKILL one second later.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def _is_local(address: Any, family: int) -> bool:
    if family == socket.AF_UNIX:
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: resolving it here would itself use the network


def guard_network(on_refused: Callable[[Any], str]) -> None:
    """Refuse `connect`/`sendto` to anything but loopback and Unix sockets, in this process.

    Best effort: it patches Python's `socket.socket`, so C extensions opening their own
    sockets, or code that restores the originals, get through. `on_refused(address)`
    audits the attempt and returns the error message raised to the caller."""
    from .permissions import PermissionDenied

    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto

    def check(sock: socket.socket, address: Any) -> None:
        if not _is_local(address, sock.family):
            raise PermissionDenied(on_refused(address))

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        check(self, args[-1])
        return original_sendto(self, data, *args)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign]
