"""The kernel's tests use the same fixtures plugin authors get (mindframe.sdk.testing)."""

from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def corpus() -> Path:
    """Broken plugins, one per way a plugin can fail, beside one healthy plugin."""
    return CORPUS
