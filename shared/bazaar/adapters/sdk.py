"""One botocore session per container for the AWS clients of the adapters (SNS, SES, Cognito, Secrets Manager,
the idempotency records), created on first use.

Every botocore session loads the endpoint, partition and service data again: measured on a 2-core host, a second
session and its first client cost 75-90 ms, a second client of the same session 3-6 ms, and ``boto3.client``
(boto3 with s3transfer imported, then its own session) 120-130 ms. Hence botocore, and one session.

Clients are thread-safe; creating them from one session is not, so the session creates them under a lock (whoever
asks: the adapters through ``client``, pynamodb through ``bazaar.adapters.dynamo.models``).
"""

from __future__ import annotations

import threading
from typing import Any, Optional

_lock = threading.RLock()
_session: Optional[Any] = None


def session() -> Any:
    """The container's botocore session (its region and endpoints from the environment, as boto3 reads them)."""
    global _session
    with _lock:
        if _session is None:
            _session = _new_session()
        return _session


def _new_session() -> Any:
    import botocore.session

    class ContainerSession(botocore.session.Session):
        def create_client(self, *args: Any, **kwargs: Any) -> Any:
            with _lock:
                return super().create_client(*args, **kwargs)

    return ContainerSession()


def client(service: str, **kwargs: Any) -> Any:
    """A new client of the container's session (``region_name``, ``config`` ... as ``create_client`` takes them)."""
    return session().create_client(service, **kwargs)


def clear() -> None:
    """Forget the session (tests that switch endpoints or credentials between cases)."""
    global _session
    with _lock:
        _session = None
