"""Fixtures of the billing tests: the plugin against fake Stripe and Vipps servers."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from billing_testlib import Billing, running_billing


@pytest.fixture
async def billing(boot_kernel) -> AsyncIterator[Billing]:
    async with running_billing(boot_kernel) as running:
        yield running
