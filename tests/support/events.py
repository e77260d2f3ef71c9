"""API Gateway HTTP API (payload 2.0) events and a Lambda context, shaped like the real ones."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Optional
from urllib.parse import parse_qsl


class FakeContext:
    def __init__(self, name: str = "test-function", timeout_ms: int = 10_000) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "test"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def claims(sub: str, *groups: str) -> dict[str, str]:
    """Claims as API Gateway passes them: every value a string, groups as "[a b]"."""
    out = {"sub": sub, "token_use": "access", "client_id": "test-client", "username": sub}
    if groups:
        out["cognito:groups"] = "[" + " ".join(groups) + "]"
    return out


def http_event(method: str, path: str, *, route_key: Optional[str] = None, body: Any = None,
               headers: Optional[dict[str, str]] = None, query: str = "", claims: Optional[dict] = None,
               path_parameters: Optional[dict[str, str]] = None) -> dict[str, Any]:
    qs: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        qs[k] = f"{qs[k]},{v}" if k in qs else v
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    ctx: dict[str, Any] = {
        "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                 "userAgent": "pytest"},
        "requestId": str(uuid.uuid4()), "routeKey": route_key or f"{method} {path}", "stage": "$default",
        "time": "28/Nov/2026:00:00:00 +0000", "timeEpoch": int(time.time() * 1000),
    }
    if claims is not None:
        ctx["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return {
        "version": "2.0", "routeKey": route_key or f"{method} {path}", "rawPath": path, "rawQueryString": query,
        "headers": {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}},
        "queryStringParameters": qs or None, "pathParameters": path_parameters, "requestContext": ctx,
        "body": body, "isBase64Encoded": False,
    }


def sqs_record(body: str, event_type: str, queue_arn: str, message_id: Optional[str] = None) -> dict[str, Any]:
    """One record of Lambda's SQS event (raw SNS delivery: the body is the event message)."""
    import hashlib

    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEB" + uuid.uuid4().hex,
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000)),
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                       "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {"type": {"stringValue": event_type, "stringListValues": [], "binaryListValues": [],
                                       "dataType": "String"}},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "eu-west-1",
    }


def stream_insert_record(image: dict[str, Any], keys: dict[str, Any], stream_arn: str,
                         sequence_number: str) -> dict[str, Any]:
    """One record of Lambda's DynamoDB stream event: an INSERT with its new image (DynamoDB JSON)."""
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {"ApproximateCreationDateTime": int(time.time()), "Keys": keys, "NewImage": image,
                     "SequenceNumber": sequence_number, "SizeBytes": len(json.dumps(image)),
                     "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "eventSourceARN": stream_arn,
    }
