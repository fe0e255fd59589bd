"""The learning tests import their shared simulations (`simulations.py`) by name, and boot
the learning plugin with the auth plugin, whose users the HTTP routes' guards check."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
async def kernel(boot_kernel):
    async with boot_kernel(["learning", "auth"]) as booted:
        yield booted


@pytest.fixture
async def client(kernel):
    """A user holding every learning permission, signed in."""
    return await kernel.as_user(["learning.use", "learning.read", "learning.manage"])
