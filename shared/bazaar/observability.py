"""Logger, metrics and tracing shared by every function, created once per container.

The logger redacts anything that looks like a credential or personal data before it is written, so a
careless ``logger.info(event)`` cannot leak a token, a password or an e-mail address into CloudWatch.
Libraries' own loggers never write below WARNING, whatever the application's level (``quiet_libraries``).
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any, Callable, TypeVar

from aws_lambda_powertools import Logger, Metrics

from bazaar.settings import sdk_tracing
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

REDACTED = "[REDACTED]"
_PATTERNS = (
    re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"),  # e-mail addresses
    re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"),  # JWTs (header starts with '{"')
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]+=*"),  # bearer credentials of any shape
    re.compile(r"\bt=\d+,v1=[0-9a-fA-F]+"),  # webhook signature headers
)
_SENSITIVE = r"authorization|password|secret|token|signature|cookie|email|e-mail"
_SENSITIVE_KEYS = re.compile(rf"(?i)({_SENSITIVE})")
# A sensitive name followed by its value inside free text, e.g. a JSON request body or a query string logged as a
# string ('"password": "..."', 'token=...', 'Authorization: Basic ...'): keep the name, drop the value.
_SENSITIVE_PAIR = re.compile(rf'(?i)((?:{_SENSITIVE})[\w\-]*"?\s*[:=]\s*)'  # the name and its separator
                             r'("(?:[^"\\]|\\.)*"|[^\s"&,;]+(?:[ \t]+[^\s"&,;]+)?)')  # a quoted or bare value


def redact(value: Any) -> Any:
    if isinstance(value, str):
        for pattern in _PATTERNS:
            value = pattern.sub(REDACTED, value)
        return _SENSITIVE_PAIR.sub(lambda m: m.group(1) + REDACTED, value)
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and _SENSITIVE_KEYS.search(k) else redact(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # Anything else is written with str() by the JSON encoder: e.g. the exception object Powertools puts in
    # stack_trace.value, whose message may quote a token or an address. Redact what would be written.
    return redact(str(value))


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(redact(log))


# With JSON logging and an application log level of DEBUG (the dev stage), the Lambda runtime sets the ROOT logger to
# DEBUG before the handler is imported. Every library logs through the root logger's handler, which is the
# runtime's, not our redacting formatter: botocore then writes whole request and response bodies (Secrets Manager
# values, Cognito tokens), urllib3 and redis their connection chatter, Powertools its internals. The application's
# own logger (Powertools ``Logger``, below) has its own level and handler, so the rest can be held at WARNING.
LIBRARY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "redis", "valkey", "pynamodb", "aws_xray_sdk",
                   "jose", "aws_lambda_powertools", "asyncio")
LIBRARY_LEVEL = logging.WARNING


def quiet_libraries() -> None:
    """Third-party loggers at WARNING (or the root's level, if stricter), named and unnamed alike."""
    root = logging.getLogger()
    if root.getEffectiveLevel() < LIBRARY_LEVEL:
        root.setLevel(LIBRARY_LEVEL)  # any logger without a level of its own inherits this one
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(max(LIBRARY_LEVEL, root.getEffectiveLevel()))


quiet_libraries()

# Routes that emit no custom metric on a request are normal, not worth a warning per invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(logger_formatter=RedactingFormatter())
metrics = Metrics()

# --- tracing ---------------------------------------------------------------------------------------------------
# Lambda active tracing (TracingConfig Active, set per stage in infra/config.py) records every invocation's
# Init/Invocation/Overhead segments with no code in the function. In-process subsegments (one per DynamoDB, SNS
# or Secrets Manager call) need an SDK, which is the largest import of a cold start (the X-Ray SDK and the
# botocore session it patches): a stage opts in (settings.TRACING_ENV), and only then is it imported.
# docs/tracing.md has the figures and the plan for OpenTelemetry.
Handler = TypeVar("Handler", bound=Callable[..., Any])


def traced(handler: Handler) -> Handler:
    """``handler`` as it is, or wrapped in an X-Ray subsegment (cold start annotated, botocore calls recorded)
    when the stage asked for in-process tracing."""
    if not sdk_tracing():
        return handler
    from aws_lambda_powertools import Tracer  # the X-Ray SDK is imported here, at init, only in that case

    # botocore only: the default patches every library X-Ray knows, loading pynamodb and more into every function.
    tracer = Tracer(patch_modules=("botocore",))
    return tracer.capture_lambda_handler(capture_response=False)(handler)
