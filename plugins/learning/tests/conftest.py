"""The learning tests import their shared simulations (`simulations.py`) by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
