"""Fixtures of the support tests: the plugin booted with chat, auth and i18n."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mindframe.sdk.browser import free_port
from mindframe.sdk.smtp_sink import Sink, mail_settings, smtp_sink

FAST = {"assignment_interval": 0.1, "sla_interval": 0.1, "reassign_after": 0.0}
"""Jobs that run often, so a test waits milliseconds for what production waits seconds."""


@pytest.fixture
def support_kernel(
    boot_kernel: Callable[..., AbstractAsyncContextManager[Any]],
) -> Callable[..., AbstractAsyncContextManager[Any]]:
    """`async with support_kernel(assignment="least_loaded") as kernel:` support with chat,
    auth and i18n (and `plugins=`), its jobs fast unless the settings say otherwise;
    `database_url_for_test=` puts it on another database (PostgreSQL)."""

    @asynccontextmanager
    async def start(
        *,
        plugins: tuple[str, ...] = (),
        settings: dict[str, Any] | None = None,
        database_url_for_test: str | None = None,
        **support: Any,
    ) -> AsyncIterator[Any]:
        sections = {"support": {**FAST, **support}, **(settings or {})}
        options = {"database_url": database_url_for_test} if database_url_for_test else {}
        plugins = ("support", "i18n", *plugins)
        async with boot_kernel(list(plugins), settings=sections, **options) as kernel:
            assert kernel.state("support") == "active", kernel.error("support")
            yield kernel

    return start


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    """A real SMTP server (aiosmtpd) that keeps what the mail plugin sends."""
    async with smtp_sink() as running:
        yield running


@pytest.fixture
def mail_kernel(
    support_kernel: Callable[..., AbstractAsyncContextManager[Any]], sink: Sink
) -> Callable[..., AbstractAsyncContextManager[Any]]:
    """Support with the mail plugin: outgoing mail to `sink`, an inbound listener on
    `kernel.inbound_port` taking mail for mindframe.test."""

    @asynccontextmanager
    async def start(**support: Any) -> AsyncIterator[Any]:
        port = free_port()
        mail = mail_settings(sink, inbound_port=port, inbound_domains=["mindframe.test"])
        async with support_kernel(plugins=("mail",), settings={"mail": mail}, **support) as kernel:
            kernel.inbound_port = port
            yield kernel

    return start
