"""IAM: no wildcard actions, "*" resources only where AWS offers nothing narrower, and every function's role
allows exactly what its manifest grants (plus its log group, tracing and event-source plumbing)."""

from __future__ import annotations

import json

import pytest

from bazaar.manifest import FUNCTIONS, Grant, idempotency_partition
from bazaar.resources import CURSOR_KEY_SECRET, TABLE, WEBHOOK_SECRET

from .conftest import Json, Synth
from .helpers import actions, as_list, function_statements, statements_with

pytestmark = pytest.mark.infra

# Actions allowed on Resource "*", each with the reason nothing narrower works.
STAR_RESOURCE_ALLOWED = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions (active tracing)",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions (active tracing)",
    "ec2:CreateNetworkInterface": "Lambda VPC placement: ENI management has no resource-level scoping",
    "ec2:DescribeNetworkInterfaces": "Describe* calls only support Resource '*'",
    "ec2:DescribeSubnets": "Describe* calls only support Resource '*'",
    "ec2:DeleteNetworkInterface": "Lambda VPC placement: ENI management has no resource-level scoping",
    "ec2:AssignPrivateIpAddresses": "Lambda VPC placement: ENI management has no resource-level scoping",
    "ec2:UnassignPrivateIpAddresses": "Lambda VPC placement: ENI management has no resource-level scoping",
}

# What each grant must allow (the spec, independent of infra/grants.py).
GRANT_ACTIONS: dict[Grant, set[str]] = {
    Grant.TABLE_READ: {"dynamodb:GetItem", "dynamodb:Query", "kms:Decrypt", "kms:DescribeKey"},
    Grant.TABLE_WRITE: {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "kms:Decrypt",
                        "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"},
    Grant.IDEMPOTENCY: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                        "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom",
                        "kms:ReEncryptTo"},
    Grant.TABLE_STREAM: {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                         "dynamodb:ListStreams", "kms:Decrypt", "kms:DescribeKey"},
    Grant.EVENTS_PUBLISH: {"sns:Publish", "kms:Decrypt", "kms:GenerateDataKey"},
    Grant.CACHE: set(STAR_RESOURCE_ALLOWED) - {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
    Grant.CURSOR_KEY: {"secretsmanager:GetSecretValue", "kms:Decrypt", "kms:DescribeKey"},
    Grant.WEBHOOK_SECRET: {"secretsmanager:GetSecretValue", "kms:Decrypt", "kms:DescribeKey"},
    Grant.PAYMENT_PROVIDER: {"dynamodb:GetItem", "dynamodb:PutItem", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt",
                             "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"},
    Grant.USER_DIRECTORY: {"cognito-idp:ListUsers"},
    Grant.MAIL_SEND: {"ses:SendEmail"},
}
BASELINE = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
QUEUE_CONSUMER = {"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage",
                  "sqs:GetQueueAttributes"}
STREAM_DLQ_SENDER = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}  # none may leak


def identity_statements(s: Synth) -> list[tuple[str, Json]]:
    """Every Allow statement of every identity policy (roles' inline policies, policies, managed policies)."""
    out = []
    for name, t in s.templates.items():
        for lid, r in t["Resources"].items():
            props = r.get("Properties", {})
            docs = []
            if r["Type"] == "AWS::IAM::Role":
                docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
            elif r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                docs = [props["PolicyDocument"]]
            out += [(f"{name}/{lid}", st) for d in docs for st in d["Statement"] if st["Effect"] == "Allow"]
    return out


def test_no_wildcard_action_and_star_resources_only_where_unavoidable(synth: Synth) -> None:
    statements = identity_statements(synth)
    assert statements
    for where, st in statements:
        assert not any("*" in a for a in as_list(st["Action"])), (where, st["Action"])
        if "*" in as_list(st["Resource"]):
            unexpected = set(as_list(st["Action"])) - set(STAR_RESOURCE_ALLOWED)
            assert not unexpected, f"{where}: Resource '*' for {unexpected}"
        for resource in as_list(st["Resource"]):
            if resource != "*":
                assert "*" not in json.dumps(resource), (where, resource)  # e.g. no <table>/index/*


def test_resource_policies_allow_no_wildcard_action(dev: Synth) -> None:
    """Queue/topic policies: the only wildcard is the enforce-SSL Deny."""
    for type_ in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
        for lid, r in dev.resources(type_).items():
            for st in r["Properties"]["PolicyDocument"]["Statement"]:
                if st["Effect"] == "Allow":
                    assert not any("*" in a for a in as_list(st["Action"])), lid
                else:
                    assert st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, lid


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_role_allows_exactly_the_manifest_grants(dev: Synth, spec) -> None:
    expected = set(BASELINE)
    for grant in spec.grants:
        expected |= GRANT_ACTIONS[grant]
    if spec.queue:
        expected |= QUEUE_CONSUMER
    if spec.stream:
        expected |= STREAM_DLQ_SENDER
    assert actions(function_statements(dev, spec)) == expected


def test_read_only_functions_cannot_write(dev: Synth) -> None:
    for spec in FUNCTIONS:
        statements = function_statements(dev, spec)
        if Grant.TABLE_WRITE in spec.grants:
            continue
        for st in statements:
            if WRITES & set(as_list(st["Action"])):
                # only its own idempotency records, never the catalog or orders
                assert Grant.IDEMPOTENCY in spec.grants, spec.name
                assert st["Condition"] == {"ForAllValues:StringEquals": {
                    "dynamodb:LeadingKeys": [idempotency_partition(spec)]}}, spec.name


def test_only_publishers_publish_and_only_secret_holders_read_secrets(dev: Synth) -> None:
    for spec in FUNCTIONS:
        acts = actions(function_statements(dev, spec))
        assert ("sns:Publish" in acts) == (Grant.EVENTS_PUBLISH in spec.grants), spec.name
        holds_secret = {Grant.CURSOR_KEY, Grant.WEBHOOK_SECRET} & set(spec.grants)
        assert ("secretsmanager:GetSecretValue" in acts) == bool(holds_secret), spec.name
        assert ("dynamodb:GetRecords" in acts) == (Grant.TABLE_STREAM in spec.grants), spec.name
        assert ("ec2:CreateNetworkInterface" in acts) == (Grant.CACHE in spec.grants), spec.name


def test_statements_point_at_the_granted_resources(dev: Synth) -> None:
    table = dev.one("AWS::DynamoDB::GlobalTable", "stateful")[0]
    table_arn = {"Fn::GetAtt": [table, "Arn"]}
    indexes = [{"Fn::Join": ["", [table_arn, f"/index/{ix.name}"]]} for ix in TABLE.indexes]
    secrets = {r["Properties"]["Name"].rsplit("/", 1)[1]: {"Ref": lid}
               for lid, r in dev.resources("AWS::SecretsManager::Secret", "stateful").items()}
    for spec in FUNCTIONS:
        statements = [dev.deref(st) for st in function_statements(dev, spec)]
        for st in statements_with(statements, "dynamodb:Query"):
            assert as_list(st["Resource"]) == [table_arn, *indexes], spec.name
        for st in statements_with(statements, "dynamodb:PutItem"):
            assert as_list(st["Resource"]) == [table_arn], spec.name
        for st in statements_with(statements, "dynamodb:GetRecords"):
            assert as_list(st["Resource"]) == [{"Fn::GetAtt": [table, "StreamArn"]}], spec.name
        for st in statements_with(statements, "secretsmanager:GetSecretValue"):
            pairs = ((Grant.CURSOR_KEY, CURSOR_KEY_SECRET), (Grant.WEBHOOK_SECRET, WEBHOOK_SECRET))
            wanted = [secrets[n] for g, n in pairs if g in spec.grants]
            assert all(r in wanted for r in as_list(st["Resource"])), spec.name
        for st in statements_with(statements, "kms:Encrypt"):
            assert "kms:ViaService" in st["Condition"]["StringEquals"], spec.name


def test_order_grants_point_at_their_resources_only(dev: Synth) -> None:
    """The simulated provider writes only its partition; mail goes out only from the stage's identity and sender;
    the user directory is the stage's pool."""
    from bazaar.adapters.dynamo.models import SIMULATED_PROVIDER_PARTITION
    from infra.config import stage_config

    pool = dev.one("AWS::Cognito::UserPool", "stateful")[0]
    identity = dev.one("AWS::SES::EmailIdentity", "stateful")[0]
    seen = set()
    for spec in FUNCTIONS:
        statements = [dev.deref(st) for st in function_statements(dev, spec)]
        for st in statements_with(statements, "ses:SendEmail"):
            assert Grant.MAIL_SEND in spec.grants, spec.name
            assert st["Condition"] == {"StringEquals": {"ses:FromAddress": stage_config("dev").mail_sender}}
            assert st["Resource"] == {"Fn::Join": ["", ["arn:aws:ses:eu-west-1:", {"Ref": "AWS::AccountId"},
                                                        ":identity/", {"Ref": identity}]]}, spec.name
            seen.add("mail")
        for st in statements_with(statements, "cognito-idp:ListUsers"):
            assert Grant.USER_DIRECTORY in spec.grants, spec.name
            assert as_list(st["Resource"]) == [{"Fn::GetAtt": [pool, "Arn"]}], spec.name
            seen.add("users")
        if Grant.PAYMENT_PROVIDER in spec.grants:
            [ledger] = [st for st in statements_with(statements, "dynamodb:PutItem")
                        if st.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("dynamodb:LeadingKeys")
                        == [SIMULATED_PROVIDER_PARTITION]]
            assert set(as_list(ledger["Action"])) == {"dynamodb:GetItem", "dynamodb:PutItem"}
            seen.add("payments")
    assert seen == {"mail", "users", "payments"}
