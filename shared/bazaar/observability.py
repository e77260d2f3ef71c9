"""Logger, tracer and metrics shared by every function, created once per container.

The logger redacts anything that looks like a credential or personal data before it is written, so a
careless ``logger.info(event)`` cannot leak a token, a password or an e-mail address into CloudWatch.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

REDACTED = "[REDACTED]"
_PATTERNS = (
    re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"),  # e-mail addresses
    re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"),  # JWTs (header starts with '{"')
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]+=*"),  # bearer credentials of any shape
    re.compile(r"\bt=\d+,v1=[0-9a-fA-F]+"),  # webhook signature headers
)
_SENSITIVE_KEYS = re.compile(r"(?i)(authorization|password|secret|token|signature|cookie|email|e-mail)")


def redact(value: Any) -> Any:
    if isinstance(value, str):
        for pattern in _PATTERNS:
            value = pattern.sub(REDACTED, value)
        return value
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and _SENSITIVE_KEYS.search(k) else redact(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(redact(log))


# Routes that emit no custom metric on a request are normal, not worth a warning per invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(logger_formatter=RedactingFormatter())
tracer = Tracer()
metrics = Metrics()
