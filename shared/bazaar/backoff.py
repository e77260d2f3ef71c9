"""Retry delays shared by every retry loop in Bazaar (transactions, the outbox relay, order snapshots).

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): a delay drawn uniformly from
[0, min(cap, base * 2**attempt)]. Writers that collided spread out instead of colliding again in lock step."""

from __future__ import annotations

import random
from typing import Callable


def full_jitter(attempt: int, base_s: float, cap_s: float,
                rng: Callable[[float, float], float] = random.uniform) -> float:
    return rng(0, min(cap_s, base_s * 2 ** attempt))
