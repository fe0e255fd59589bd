"""What a sandboxed plugin may touch, decided from its manifest's `[permissions]`.

The parent is the authority (every publish, subscribe and service call is checked there);
the child asks the same functions first only so a refused `ctx.subscribe`, which is
synchronous, can raise at the call site. A refusal names the permission and the manifest
field to change, and becomes an audit record.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from mindframe.kernel.bus.topics import matches


class PermissionDenied(PermissionError):
    """A sandboxed plugin asked for something its manifest does not grant."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One refused (or otherwise notable) action of a sandboxed plugin."""

    plugin: str
    action: str  # "publish" | "subscribe" | "service" | "network"
    target: str
    allowed: bool
    message: str
    at: float = field(default_factory=time.time)

    def view(self) -> dict[str, Any]:
        return asdict(self)


def covers(granted: str, pattern: str) -> bool:
    """Whether every topic `pattern` can match is matched by `granted` (NATS wildcards)."""
    g_tokens = granted.split(".")
    p_tokens = pattern.split(".")
    if ">" not in pattern and "*" not in pattern:
        return matches(granted, pattern)
    for index, g in enumerate(g_tokens):
        if g == ">":
            return len(p_tokens) > index
        if index >= len(p_tokens):
            return False
        p = p_tokens[index]
        if p == ">" or (g != "*" and g != p):
            return False
    return len(g_tokens) == len(p_tokens)


def check_publish(plugin: str, granted: list[str], topic: str) -> None:
    if not any(matches(g, topic) for g in granted):
        raise PermissionDenied(
            f"plugin '{plugin}' may not publish to '{topic}': add a pattern matching it to "
            f"`publish` under [permissions] in plugin.toml (granted: {granted or 'none'})"
        )


def check_subscribe(plugin: str, granted: list[str], pattern: str) -> None:
    if not any(covers(g, pattern) for g in granted):
        raise PermissionDenied(
            f"plugin '{plugin}' may not subscribe to '{pattern}': add a pattern covering it "
            f"to `subscribe` under [permissions] in plugin.toml (granted: {granted or 'none'})"
        )


def check_service(plugin: str, granted: list[str], key: str, type_name: str | None) -> None:
    """A service is granted by its key (`greeting_service`) or its type's name."""
    if key in granted or (type_name is not None and type_name in granted):
        return
    raise PermissionDenied(
        f"plugin '{plugin}' may not call service '{key}': add '{key}' to `services` under "
        f"[permissions] in plugin.toml (granted: {granted or 'none'})"
    )


def network_message(plugin: str, what: str) -> str:
    return (
        f"plugin '{plugin}' may not open a socket ({what}): set `network = true` under "
        "[permissions] in plugin.toml (without it a sandboxed plugin has no sockets, only its "
        "connection to the kernel)"
    )
