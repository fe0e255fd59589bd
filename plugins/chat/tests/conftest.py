"""Fixtures of the chat tests: the plugin (with auth, for agents) served on a real loopback
port, and real WebSocket clients (the `websockets` library) onto it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from chat_testlib import Chat


@pytest.fixture
def start_chat(boot_kernel):
    """`async with start_chat(presence_timeout=1) as chat:` with chat settings overridden."""
    from contextlib import asynccontextmanager

    from mindframe.sdk.browser import serving

    @asynccontextmanager
    async def start(**settings):
        async with (
            boot_kernel(["chat", "auth", "i18n"], settings={"chat": settings}) as kernel,
            serving(kernel.runtime) as url,
        ):
            assert kernel.error("chat") is None, kernel.error("chat")
            yield Chat(kernel, url)

    return start


@pytest.fixture
async def chat(start_chat):
    async with start_chat() as chat:
        yield chat
