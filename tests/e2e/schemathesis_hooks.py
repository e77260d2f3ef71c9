"""Schemathesis hooks for tests/e2e/test_fuzz.py, loaded by the schemathesis CLI through its configuration.

The payment webhook proves its caller with an HMAC signature, not a token (contract §5). Unsigned, every fuzzed
request to it would stop at 401; signed as the payment provider signs, its body handling is fuzzed too. The
secret comes from ``BAZAAR_FUZZ_WEBHOOK_SECRET``, which test_fuzz.py sets from the stack under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from typing import Any

import schemathesis
from schemathesis.core import NOT_SET

SIGNED_PATH = "/payments/webhook"


def raw_body(body: Any) -> bytes:
    if body is NOT_SET or body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()  # as the requests transport serialises a JSON body


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    secret = os.environ.get("BAZAAR_FUZZ_WEBHOOK_SECRET")
    if not secret or case.operation.path != SIGNED_PATH:
        return
    if case.headers is not None and any(name.lower() == "bazaar-signature" for name in case.headers):
        return  # the case brings its own (a generated, hostile) signature
    raw = raw_body(case.body)
    if raw:
        kwargs["data"] = raw  # sent exactly as signed
    t = str(int(time.time()))
    signature = f"t={t},v1={hmac.new(secret.encode(), t.encode() + b'.' + raw, hashlib.sha256).hexdigest()}"
    if case.headers is None:
        case.headers = {}
    case.headers["Bazaar-Signature"] = signature
