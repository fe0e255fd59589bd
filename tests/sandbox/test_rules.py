"""Permission patterns and limit settings, without processes."""

from __future__ import annotations

import pytest

from mindframe.sandbox.limits import Limits
from mindframe.sandbox.permissions import PermissionDenied, check_publish, covers


@pytest.mark.parametrize(
    ("granted", "pattern", "expected"),
    [
        ("chat.>", "chat.message.created", True),
        ("chat.>", "chat.*", True),
        ("chat.>", "chat.>", True),
        ("chat.*", "chat.message", True),
        ("chat.*", "chat.*", True),
        ("chat.*", "chat.>", False),
        ("chat.*", "chat.message.created", False),
        ("chat.message", "chat.*", False),
        ("*.created", "chat.created", True),
        (">", "anything.at.all", True),
        ("chat.>", "chat", False),
    ],
)
def test_covers(granted: str, pattern: str, expected: bool) -> None:
    assert covers(granted, pattern) is expected


def test_refusal_names_the_manifest_field() -> None:
    with pytest.raises(PermissionDenied, match=r"`publish` under \[permissions\]"):
        check_publish("spy", ["chat.*"], "billing.charged")


def test_limits_from_settings() -> None:
    limits = Limits.from_settings({"sandbox": {"memory_mb": 256, "heartbeat_timeout": 2}})
    assert (limits.memory_mb, limits.cpu_seconds, limits.heartbeat_timeout) == (256, 60, 2)
    assert Limits.from_settings({}) == Limits(memory_mb=256, cpu_seconds=60, processes=64)
    with pytest.raises(ValueError, match="unknown key"):
        Limits.from_settings({"sandbox": {"memory": 1}})
    with pytest.raises(ValueError, match="positive integer"):
        Limits.from_settings({"sandbox": {"memory_mb": -1}})
