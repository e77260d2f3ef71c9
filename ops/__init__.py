"""Operator tools that work the same against a deployed stage (AWS credentials) and the local stack."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT / "shared"

if str(SHARED_DIR) not in sys.path:  # `python -m ops` from the repo root: make the shared layer importable
    sys.path.insert(0, str(SHARED_DIR))
