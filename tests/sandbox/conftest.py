"""Fixtures for the sandbox tests; the helpers live in sandbox_testlib (importlib mode)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def sandbox_root(tmp_path: Path) -> Path:
    """Where sandboxed plugins are written: outside the kernel's plugin roots."""
    root = tmp_path / "sandboxed"
    root.mkdir()
    return root
