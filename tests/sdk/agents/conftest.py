import sys

import pytest

from .gates import NAME, Gates, install


@pytest.fixture
def gates() -> Gates:
    yield install()
    sys.modules.pop(NAME, None)
