"""Cold-start and package-size bench (`make bench`, i.e. ``python -m tests.bench``): see tests/bench/__main__.py.

Figures are reported as ratios against baselines measured in the same run (a bare interpreter, ``import boto3``),
because absolute milliseconds on a shared CI/dev host say little about Lambda. Never asserted in tests.
"""

import sys
from pathlib import Path

_SHARED = str(Path(__file__).resolve().parents[2] / "shared")
if _SHARED not in sys.path:  # `python -m tests.bench` from the repo root: make `bazaar` importable
    sys.path.insert(0, _SHARED)
