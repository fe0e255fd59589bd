"""Fixtures of the auth tests: the plugin booted with cheap Argon2 settings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from auth_testlib import FAST


@pytest.fixture
def boot(boot_kernel):
    """`async with boot(max_failed_logins=5) as kernel:` auth (and `plugins=`) with `FAST`
    settings and the overrides given."""

    def start(plugins=("auth",), **auth_settings):
        return boot_kernel(list(plugins), settings={"auth": {**FAST, **auth_settings}})

    return start
