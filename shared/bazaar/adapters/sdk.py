"""One botocore session per container for the AWS clients of the adapters (SNS, SES, Cognito, Secrets Manager,
the idempotency records), created on first use.

Every botocore session loads the endpoint, partition and service data again: measured on a 2-core host, a second
session and its first client cost 75-90 ms, a second client of the same session 3-6 ms, and ``boto3.client``
(boto3 with s3transfer imported, then its own session) 120-130 ms. Hence botocore, and one session.

Clients are thread-safe; creating them from one session is not, so creation holds a lock.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

_lock = threading.Lock()
_session: Optional[Any] = None


def session() -> Any:
    """The container's botocore session (its region and endpoints from the environment, as boto3 reads them)."""
    global _session
    with _lock:
        if _session is None:
            import botocore.session

            _session = botocore.session.get_session()
        return _session


def client(service: str, **kwargs: Any) -> Any:
    """A new client of the container's session (``region_name``, ``config`` ... as ``create_client`` takes them)."""
    shared = session()
    with _lock:
        return shared.create_client(service, **kwargs)


def clear() -> None:
    """Forget the session (tests that switch endpoints or credentials between cases)."""
    global _session
    with _lock:
        _session = None
