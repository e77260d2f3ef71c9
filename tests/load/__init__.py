"""Load against the local stack: the shared Locust workload (``workload.py``), ``make soak`` (``soak.py``) and
the write-scaling benchmark ``make scaling`` (``scaling.py``)."""

import sys
from pathlib import Path

_SHARED = str(Path(__file__).resolve().parents[2] / "shared")
if _SHARED not in sys.path:  # `python -m tests.load.load` from the repo root: the stack's helpers import `bazaar`
    sys.path.insert(0, _SHARED)
