"""The local stack: everything `make run` starts (see docs/local.md).

moto in server mode stands in for AWS, a real Valkey for the cache, and this package replaces only API Gateway
(HTTP API + JWT authorizer), the Lambda service and its event source mappings, all generated from
``bazaar.manifest`` and ``bazaar.resources``.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT / "shared"

# `python -m local ...` runs from the repo root, where `bazaar` (the shared layer) is not importable by default.
if str(SHARED_DIR) not in sys.path:
    sys.path.insert(0, str(SHARED_DIR))
