"""Audit records (contract §7): one JSON log line per state-changing request, found by ``audit = true``."""

from __future__ import annotations

from typing import Iterable, Optional

from bazaar.domain.clock import utc_now
from bazaar.observability import logger


def outcome_of(status: int) -> str:
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    if status >= 500:
        return "error"
    return "rejected"


def audit(*, actor: Optional[str], action: str, resource: str, status: int, request_id: str,
          roles: Iterable[str] = ()) -> None:
    """``roles``: the caller's groups, sorted, so CloudWatch metric filters and queries can pick out admin actions
    (``$.roles[0] = "admin"``, ``roles.0``) without a role in the actor id."""
    logger.info(
        f"audit {action} {outcome_of(status)}",
        extra={
            "audit": True,
            "actor": actor or "anonymous",
            "roles": sorted(roles),
            "action": action,
            "resource": resource,
            "outcome": outcome_of(status),
            "status": status,
            "request_id": request_id,
            "timestamp": utc_now(),
        },
    )
