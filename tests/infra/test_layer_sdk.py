"""The dependency layer's AWS SDK: pinned to the tested version and trimmed to the services the functions call
(layers/sdk_data.py), without changing how any of those services' endpoints resolve, how their clients validate
and serialize requests or parse responses (the service models ship without documentation)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import botocore
import pytest

from bazaar import runtime
from infra import assets
from layers.sdk_data import DOC_KEYS, SERVICE_MODEL_NAMES, endpoint_prefixes, read_service_model, strip_documentation

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
# botocore.session...create_client("x"), boto3.client("x"), session.client("x"): the first argument
CLIENT_CALL = re.compile(r"""(?:create_client|\bclient)\(\s*["']([a-z0-9-]+)["']""")

# Run in a fresh interpreter with the given botocore first on sys.path: every service x every region of every
# partition (the trimmed data keeps them all) -> the legacy resolver's answer and the endpoint a client is created with.
_RESOLVE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import botocore, botocore.session
services = json.loads(sys.argv[2])
session = botocore.session.get_session()
resolver = session._get_internal_component("endpoint_resolver")
out = {"botocore": botocore.__file__, "answers": {}}
for partition in session.get_data("endpoints")["partitions"]:
    for region in partition["regions"]:
        for name in services:
            prefix = session.get_service_model(name).endpoint_prefix
            legacy = resolver.construct_endpoint(prefix, region)
            client = session.create_client(name, region_name=region, aws_access_key_id="k",
                                           aws_secret_access_key="s")
            out["answers"][f"{name}@{region}"] = [legacy, client.meta.endpoint_url, client.meta.region_name]
try:
    session.create_client("s3", region_name="us-east-1")
    out["outside"] = "created"
except Exception as exc:
    out["outside"] = type(exc).__name__
print(json.dumps(out, sort_keys=True, default=str))
"""


def _layer_python() -> Path:
    return assets.dependency_layer() / "python"


def _resolve(path: str) -> dict:
    proc = subprocess.run([sys.executable, "-I", "-c", _RESOLVE, path, json.dumps(runtime.SDK_SERVICES)],
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(proc.stdout)


def test_the_layer_ships_the_tested_botocore_with_the_data_of_its_services_only() -> None:
    layer = _layer_python()
    assert (layer / f"botocore-{botocore.__version__}.dist-info").is_dir(), "layer botocore != the tested one"
    data = layer / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == set(runtime.SDK_SERVICES)
    endpoints = json.loads((data / "endpoints.json").read_text())
    kept = {name for partition in endpoints["partitions"] for name in partition["services"]}
    assert kept == endpoint_prefixes(data, runtime.SDK_SERVICES) and "email" in kept  # sesv2's prefix


def _full_data() -> Path:
    return Path(botocore.__file__).resolve().parent / "data"


def test_each_api_version_ships_one_plain_service_model_and_no_examples() -> None:
    data = _layer_python() / "botocore" / "data"
    for name in runtime.SDK_SERVICES:
        for full_version in sorted(p for p in (_full_data() / name).iterdir() if p.is_dir()):
            version = data / name / full_version.name
            assert version.is_dir(), version  # every API version directory is kept
            models = sorted(p.name for p in version.iterdir() if p.name.startswith("service-2.json"))
            had_model = read_service_model(full_version) is not None
            assert models == ([SERVICE_MODEL_NAMES[0]] if had_model else []), version
            assert not (version / "examples-1.json").exists(), version
            kept = {p.name for p in full_version.iterdir()} - {"examples-1.json", *SERVICE_MODEL_NAMES}
            for other in kept:  # paginators, waiters, endpoint rule sets, sdk-extras: byte for byte
                assert (version / other).read_bytes() == (full_version / other).read_bytes(), version / other


# Maps whose keys are names (of shapes, operations, members), not properties: a member may be called "documentation".
_NAME_MAPS = frozenset({"shapes", "operations", "members"})
_NAMES = object()


def _without_docs(node: object, key: object = None) -> object:
    """The document with every documentation property removed, found generically (not by layers/sdk_data.py's walk
    of known places): any dict that is not a map of names loses them; ``clientContextParams`` keeps its own."""
    if isinstance(node, list):
        return [_without_docs(v) for v in node]
    if not isinstance(node, dict) or key == "clientContextParams":
        return node
    if key in _NAME_MAPS:
        return {k: _without_docs(v, _NAMES) for k, v in node.items()}
    return {k: _without_docs(v, k) for k, v in node.items() if k not in DOC_KEYS}


def _doc_count(node: object, key: object = None) -> int:
    if isinstance(node, list):
        return sum(_doc_count(v) for v in node)
    if not isinstance(node, dict) or key == "clientContextParams":
        return 0
    if key in _NAME_MAPS:
        return sum(_doc_count(v, _NAMES) for v in node.values())
    return sum(k in DOC_KEYS for k in node) + sum(_doc_count(v, k) for k, v in node.items())


def test_every_shipped_service_model_is_the_full_one_without_documentation() -> None:
    data = _layer_python() / "botocore" / "data"
    compared = 0
    for name in runtime.SDK_SERVICES:
        for full_version in sorted(p for p in (_full_data() / name).iterdir() if p.is_dir()):
            full = read_service_model(full_version)
            if full is None:
                continue
            shipped = read_service_model(data / name / full_version.name)
            assert _doc_count(full) > 100 and _doc_count(shipped) == 0, (name, full_version.name)
            assert shipped == _without_docs(full), (name, full_version.name)
            assert list(shipped["operations"]) == list(full["operations"])  # the same order too
            assert list(shipped["shapes"]) == list(full["shapes"])
            compared += 1
    assert compared == len(runtime.SDK_SERVICES)


def test_stripping_keeps_a_member_named_documentation_and_the_client_context_params() -> None:
    model = {
        "documentation": "service", "metadata": {"apiVersion": "1", "documentationUrl": "u"},
        "clientContextParams": {"Accelerate": {"type": "boolean", "documentation": "kept: botocore reads it"}},
        "operations": {"documentation": {"name": "documentation", "documentation": "op", "documentationUrl": "u",
                                         "input": {"shape": "In", "documentation": "in"},
                                         "errors": [{"shape": "Err", "documentation": "e"}]}},
        "shapes": {
            "In": {"type": "structure", "required": ["documentation"], "documentation": "shape",
                   "members": {"documentation": {"shape": "Str", "documentation": "the member's own"},
                               "Other": {"shape": "Str", "locationName": "documentation"}}},
            "List": {"type": "list", "member": {"shape": "Str", "documentation": "m"}},
            "Str": {"type": "string", "documentation": "s"}, "Err": {"type": "structure", "members": {}}},
    }
    expected = _without_docs(model)
    assert strip_documentation(model) == 10
    assert model == expected
    assert model["shapes"]["In"]["members"] == {"documentation": {"shape": "Str"},
                                                "Other": {"shape": "Str", "locationName": "documentation"}}
    assert "documentation" in model["operations"]
    assert model["clientContextParams"]["Accelerate"]["documentation"] == "kept: botocore reads it"


# Run in a fresh interpreter with the given botocore first on sys.path: what a client of each service does with a
# few requests, without a network (a before-send handler answers), with the clock and uuids fixed so the signed
# requests compare byte for byte.
_CLIENT = r"""
import datetime, itertools, json, sys, uuid
sys.path.insert(0, sys.argv[1])
import botocore, botocore.auth, botocore.session
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ParamValidationError

_ids = itertools.count(1)
uuid.uuid4 = lambda: uuid.UUID(int=next(_ids))
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: datetime.datetime(2026, 1, 2, 3, 4, 5)

class Raw:
    def __init__(self, body):
        self.body = body
    def stream(self, **kwargs):
        yield self.body

def query(action, ns, result):  # a query-protocol (XML) answer
    return (f'<{action}Response xmlns="{ns}"><{action}Result>{result}</{action}Result>'
            f'<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>').encode()

SNS = query("Publish", "http://sns.amazonaws.com/doc/2010-03-31/", "<MessageId>m-1</MessageId>")
STS = query("GetCallerIdentity", "https://sts.amazonaws.com/doc/2011-06-15/",
            "<Arn>arn:aws:iam::123456789012:user/u</Arn><UserId>AID</UserId><Account>123456789012</Account>")
TO = {"FromEmailAddress": "a@example.com", "Destination": {"ToAddresses": ["b@example.com"]}}
TOPIC = "arn:aws:sns:eu-west-1:123456789012:t"
CASES = [
    ("dynamodb", "get_item", {"TableName": "t"}, {}),
    ("dynamodb", "get_item", {"TableName": "t", "Key": "pk"}, {}),
    ("dynamodb", "get_item", {"TableName": "t", "Key": {"pk": {"S": "p#1"}}, "ConsistentRead": True},
     {"Item": {"pk": {"S": "p#1"}, "n": {"N": "3"}, "b": {"B": "AAE="}}}),
    ("dynamodb", "transact_write_items", {"TransactItems": [{"Update": {
        "TableName": "t", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET n = n - :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}}}}]}, {}),
    ("sesv2", "send_email", TO, {}),
    ("sesv2", "send_email", {**TO, "Content": {"Simple": {"Subject": {"Data": "Hi"},
                                                          "Body": {"Text": {"Data": "\u00e9t\u00e9"}}}}},
     {"MessageId": "m-1"}),
    ("cognito-idp", "admin_get_user", {"UserPoolId": "eu-west-1_abc"}, {}),
    ("cognito-idp", "admin_get_user", {"UserPoolId": "eu-west-1_abc", "Username": "u1"},
     {"Username": "u1", "UserAttributes": [{"Name": "email", "Value": "a@example.com"}],
      "UserCreateDate": 1700000000.5, "Enabled": True, "UserStatus": "CONFIRMED"}),
    ("sns", "publish", {"TopicArn": TOPIC, "Message": 5}, SNS),
    ("sns", "publish", {"TopicArn": TOPIC, "Message": "m",
                        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "order"}}}, SNS),
    ("secretsmanager", "get_secret_value", {}, {}),
    ("secretsmanager", "get_secret_value", {"SecretId": "s"},
     {"ARN": "arn", "Name": "s", "SecretString": "x", "CreatedDate": 1700000000}),
    ("sts", "get_caller_identity", {}, STS),
]
session = botocore.session.get_session()
out = {"botocore": botocore.__file__, "cases": [], "docs": {}}
for service, method, params, body in CASES:
    client = session.create_client(service, region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE",
                                   aws_secret_access_key="secret")
    sent = []
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    def answer(request, body=body, sent=sent, **kwargs):
        raw = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        sent.append({"method": request.method, "url": request.url, "headers": dict(request.headers),
                     "body": raw.decode("latin-1")})
        return AWSResponse(request.url, 200, {"x-amzn-requestid": "r"}, Raw(body))
    client.meta.events.register("before-send", answer)
    try:
        result = getattr(client, method)(**params)
        result.pop("ResponseMetadata", None)
        outcome = {"result": result}
    except ParamValidationError as exc:
        outcome = {"error": type(exc).__name__, "message": str(exc)}
    out["cases"].append({"case": [service, method], "sent": sent, **outcome})
    model = client.meta.service_model
    docs = [model.documentation] + [model.operation_model(o).documentation for o in model.operation_names]
    docs += [model.shape_for(s).documentation for s in model.shape_names]
    out["docs"][service] = {"non_empty": sum(bool(d) for d in docs), "checked": len(docs),
                            "docstring": len(str(getattr(client, method).__doc__)) > 0}
print(json.dumps(out, sort_keys=True, default=str))
"""


def _client_behaviour(path: str) -> dict:
    # A clean environment instead of -I (which ignores PYTHONHASHSEED): the user agent lists botocore's feature ids
    # in set order, so both interpreters hash strings alike.
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PYTHONHASHSEED": "0", "AWS_CONFIG_FILE": "/nonexistent",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"}
    proc = subprocess.run([sys.executable, "-s", "-c", _CLIENT, path], capture_output=True, text=True, timeout=300,
                          check=True, env=env)
    return json.loads(proc.stdout)


def test_clients_from_the_shipped_models_validate_serialize_and_parse_like_the_full_sdk() -> None:
    full_site = str(Path(botocore.__file__).resolve().parents[1])
    shipped, full = _client_behaviour(str(_layer_python())), _client_behaviour(full_site)
    assert shipped["botocore"].startswith(str(_layer_python())) and full["botocore"].startswith(full_site)
    assert shipped["cases"] == full["cases"]
    by_case = [(c["case"], c.get("message", "")) for c in full["cases"]]
    assert sum("Missing required parameter" in m for _, m in by_case) == 4, by_case  # GetItem, SendEmail, ...
    assert sum("Invalid type" in m for _, m in by_case) == 2, by_case
    assert all(c["sent"] for c in full["cases"] if "result" in c)  # the answers came from the signed requests
    assert all(not c["sent"] for c in full["cases"] if "error" in c)
    for service in runtime.SDK_SERVICES:
        # Shape/operation/service documentation reads as "" (never raises), docstrings still render
        assert shipped["docs"][service]["non_empty"] == 0 and full["docs"][service]["non_empty"] > 10, service
        assert shipped["docs"][service]["docstring"] and shipped["docs"][service]["checked"] > 20, service


def test_every_client_the_function_code_creates_is_in_the_layer() -> None:
    sources = [*(ROOT / "shared" / "bazaar").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    created = {name for path in sources for name in CLIENT_CALL.findall(path.read_text())}
    assert {"secretsmanager", "sns", "sesv2", "cognito-idp"} <= created, created  # the scan finds them
    uses_pynamodb = any("from pynamodb" in path.read_text() for path in sources)
    assert uses_pynamodb and "dynamodb" in runtime.SDK_SERVICES
    assert created <= set(runtime.SDK_SERVICES), created - set(runtime.SDK_SERVICES)


def test_trimmed_data_resolves_every_region_exactly_like_the_full_data() -> None:
    full_site = str(Path(botocore.__file__).resolve().parents[1])
    trimmed, full = _resolve(str(_layer_python())), _resolve(full_site)
    assert trimmed["botocore"].startswith(str(_layer_python())) and full["botocore"].startswith(full_site)
    assert len(full["answers"]) >= 30 * len(runtime.SDK_SERVICES)  # every partition's regions were asked
    assert trimmed["answers"] == full["answers"]
    # a service left out fails at client creation, loudly, never half-configured
    assert (trimmed["outside"], full["outside"]) == ("UnknownServiceError", "created")
