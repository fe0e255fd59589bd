"""Fixtures of the mail tests: an SMTP sink, a CA for STARTTLS, the plugin pointed at the sink."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).parent))

from mindframe.sdk.signed_in import HEADER_PERMISSIONS_PLUGIN
from mindframe.sdk.smtp_sink import Sink, mail_settings, smtp_sink


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    async with smtp_sink() as running:
        yield running


@pytest.fixture
def certificate_authority(tmp_path: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ca, ca_file


@pytest.fixture
def mail_kernel(
    boot_kernel: Callable[..., AbstractAsyncContextManager[Any]], plugin_factory: Any, sink: Sink
) -> Callable[..., AbstractAsyncContextManager[Any]]:
    """`async with mail_kernel(max_attempts=2) as kernel:` the mail plugin sending to `sink`,
    with a stand-in auth plugin; the client holds `mail.*` unless `permissions=` says else."""
    plugin_factory.make("testauth", HEADER_PERMISSIONS_PLUGIN)

    @asynccontextmanager
    async def start(
        *, permissions: str = "mail.*", plugins: tuple[str, ...] = (), **overrides: Any
    ) -> AsyncIterator[Any]:
        settings = {"mail": mail_settings(sink, **overrides)}
        async with boot_kernel(["mail", "testauth", *plugins], settings=settings) as kernel:
            kernel.client.headers["x-test-permissions"] = permissions
            yield kernel

    return start
