"""Manifest grants → environment variables and least-privilege IAM statements.

Every ``Grant`` has exactly one entry in each table below (checked at import), so a new grant cannot be
deployed without deciding what it allows. Statements name single resources: no wildcard actions, and the
GSIs are listed one by one instead of ``<table>/index/*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from aws_cdk import Aws, aws_cognito as cognito, aws_dynamodb as dynamodb, aws_iam as iam, aws_kms as kms, \
    aws_secretsmanager as sm, aws_sns as sns

from bazaar.adapters.dynamo.models import SIMULATED_PROVIDER_PARTITION
from bazaar.manifest import GRANT_ENV, Function, Grant, idempotency_partition
from bazaar.resources import TABLE


@dataclass(frozen=True)
class GrantTargets:
    """The deployed resources grants point at."""

    table: dynamodb.ITableV2
    key: kms.IKey  # encrypts the table, the secrets and the topics
    topic: sns.ITopic
    cursor_key: sm.ISecret
    webhook_secret: sm.ISecret
    cache_url: str  # rediss://<endpoint>:<port>
    user_pool: cognito.IUserPool
    mail_identity_arn: str  # the stage's SES identity
    mail_sender: str  # the From address, under that identity


# Exactly what the adapters call (pynamodb 6 sends no DescribeTable for get/query/transactions).
TABLE_READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query")
# TransactWriteItems is authorized per item as Put/Update/Delete (conditions ride on those items).
TABLE_WRITE_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
IDEMPOTENCY_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                  "dynamodb:ListStreams")
KEY_DECRYPT = ("kms:Decrypt", "kms:DescribeKey")
KEY_ENCRYPT = ("kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo")
SECRET_ACTIONS = ("secretsmanager:GetSecretValue",)
PUBLISH_ACTIONS = ("sns:Publish",)
# The simulated provider records each charge/refund once (conditional put) and reads it back on a repeat.
PAYMENT_PROVIDER_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem")
USER_DIRECTORY_ACTIONS = ("cognito-idp:ListUsers",)
MAIL_ACTIONS = ("ses:SendEmail",)


def _key_via(t: GrantTargets, service: str, actions: tuple[str, ...]) -> iam.PolicyStatement:
    """Use of the CMK only through ``service`` in this region (not a general decrypt permission)."""
    return iam.PolicyStatement(actions=list(actions), resources=[t.key.key_arn],
                               conditions={"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}})


def table_and_index_arns(t: GrantTargets) -> list[str]:
    return [t.table.table_arn] + [f"{t.table.table_arn}/index/{ix.name}" for ix in TABLE.indexes]


def _table_read(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    return [iam.PolicyStatement(actions=list(TABLE_READ_ACTIONS), resources=table_and_index_arns(t)),
            _key_via(t, "dynamodb", KEY_DECRYPT)]


def _table_write(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    return [iam.PolicyStatement(actions=list(TABLE_WRITE_ACTIONS), resources=[t.table.table_arn]),
            _key_via(t, "dynamodb", KEY_DECRYPT + KEY_ENCRYPT)]


def _idempotency(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    # Only items whose partition key is this function's own idempotency partition.
    leading = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [idempotency_partition(fn)]}}
    return [iam.PolicyStatement(actions=list(IDEMPOTENCY_ACTIONS), resources=[t.table.table_arn], conditions=leading),
            _key_via(t, "dynamodb", KEY_DECRYPT + KEY_ENCRYPT)]


def _table_stream(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    assert t.table.table_stream_arn, "the table has no stream"
    # Stream records are encrypted with the table's key; Lambda's poller decrypts with the function's role.
    return [iam.PolicyStatement(actions=list(STREAM_ACTIONS), resources=[t.table.table_stream_arn]),
            iam.PolicyStatement(actions=list(KEY_DECRYPT), resources=[t.key.key_arn])]


def _events_publish(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    return [iam.PolicyStatement(actions=list(PUBLISH_ACTIONS), resources=[t.topic.topic_arn]),
            _key_via(t, "sns", ("kms:Decrypt", "kms:GenerateDataKey"))]


def _payment_provider(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    # The simulated provider's ledger: only its own partition of the table (a real provider would instead be a
    # secret grant: its API key).
    leading = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [SIMULATED_PROVIDER_PARTITION]}}
    return [iam.PolicyStatement(actions=list(PAYMENT_PROVIDER_ACTIONS), resources=[t.table.table_arn],
                                conditions=leading),
            _key_via(t, "dynamodb", KEY_DECRYPT + KEY_ENCRYPT)]


def _user_directory(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    return [iam.PolicyStatement(actions=list(USER_DIRECTORY_ACTIONS), resources=[t.user_pool.user_pool_arn])]


def _mail_send(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    # From the stage's identity only (SES v2 SendEmail is authorized on the sending identity).
    return [iam.PolicyStatement(actions=list(MAIL_ACTIONS), resources=[t.mail_identity_arn],
                                conditions={"StringEquals": {"ses:FromAddress": t.mail_sender}})]


def _cache(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    return []  # network access only: VPC placement + security group (see BazaarFunction)


StatementsFor = Callable[[Function, GrantTargets], list[iam.PolicyStatement]]


def _secret(pick: Callable[[GrantTargets], sm.ISecret]) -> StatementsFor:
    def statements(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
        return [iam.PolicyStatement(actions=list(SECRET_ACTIONS), resources=[pick(t).secret_arn]),
                _key_via(t, "secretsmanager", KEY_DECRYPT)]
    return statements


STATEMENTS: dict[Grant, StatementsFor] = {
    Grant.TABLE_READ: _table_read,
    Grant.TABLE_WRITE: _table_write,
    Grant.TABLE_STREAM: _table_stream,
    Grant.IDEMPOTENCY: _idempotency,
    Grant.EVENTS_PUBLISH: _events_publish,
    Grant.CACHE: _cache,
    Grant.CURSOR_KEY: _secret(lambda t: t.cursor_key),
    Grant.WEBHOOK_SECRET: _secret(lambda t: t.webhook_secret),
    Grant.PAYMENT_PROVIDER: _payment_provider,
    Grant.USER_DIRECTORY: _user_directory,
    Grant.MAIL_SEND: _mail_send,
}

_ENV_VALUES: dict[str, Callable[[GrantTargets], str]] = {
    "TABLE_NAME": lambda t: t.table.table_name,
    "EVENTS_TOPIC_ARN": lambda t: t.topic.topic_arn,
    "CACHE_URL": lambda t: t.cache_url,
    "CURSOR_KEY_SECRET_ID": lambda t: t.cursor_key.secret_arn,
    "WEBHOOK_SECRET_ID": lambda t: t.webhook_secret.secret_arn,
    "PAYMENT_PROVIDER_TABLE": lambda t: t.table.table_name,
    "USER_POOL_ID": lambda t: t.user_pool.user_pool_id,
    "MAIL_SENDER": lambda t: t.mail_sender,
}

_missing = (set(Grant) - set(STATEMENTS)) | (set(GRANT_ENV.values()) - set(_ENV_VALUES))
if _missing:
    raise RuntimeError(f"infra/grants.py does not handle {sorted(map(str, _missing))}")


def environment(fn: Function, t: GrantTargets) -> dict[str, str]:
    """One variable per grant, with the real value."""
    return {name: _ENV_VALUES[name](t) for name in fn.env_names}


def statements(fn: Function, t: GrantTargets) -> list[iam.PolicyStatement]:
    return [s for g in fn.grants for s in STATEMENTS[g](fn, t)]
