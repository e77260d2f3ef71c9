"""Create every AWS resource of the local stage in moto, generated from ``bazaar.manifest``/``bazaar.resources``.

Nothing here is a hand-written list of functions, queues or variables: add a consumer or a grant to the
manifest and it is provisioned, subscribed and wired on the next start.
"""

from __future__ import annotations

import json
import secrets
import string
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from bazaar import manifest, resources
from bazaar.manifest import GRANT_ENV, Function
from local.config import DUMMY_CREDENTIALS, REGION, STAGE

# Seeded on every start (contract §1: at least two customers, two sellers, one admin).
SEED_USERS: tuple[tuple[str, str], ...] = (
    ("alice", "customer"),
    ("bob", "customer"),
    ("carol", "seller"),
    ("dave", "seller"),
    ("erin", "admin"),
)


@dataclass
class Queue:
    url: str
    arn: str


@dataclass
class SeededUser:
    username: str
    password: str
    group: str
    sub: str


@dataclass
class Provisioned:
    """What the rest of the stack needs to know about the resources it created."""

    endpoint_url: str
    cache_url: str
    table_name: str = ""
    stream_arn: str = ""
    topic_arn: str = ""
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    kms_key_id: str = ""
    secret_ids: dict[str, str] = field(default_factory=dict)  # resources.*_SECRET -> secret id
    webhook_secret: str = ""
    queues: dict[str, Queue] = field(default_factory=dict)  # consumer function name -> its queue
    dlqs: dict[str, Queue] = field(default_factory=dict)  # consumer function name -> its DLQ (queue or stream)
    # queue consumer name -> the DLQ of its SNS subscription (messages SNS could not deliver to the queue)
    delivery_dlqs: dict[str, Queue] = field(default_factory=dict)
    mail_sender: str = ""
    users: list[SeededUser] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.user_pool_id}"

    def grant_values(self) -> dict[str, str]:
        """The value behind each grant variable (``GRANT_ENV``) in this stage."""
        return {
            "TABLE_NAME": self.table_name,
            "EVENTS_TOPIC_ARN": self.topic_arn,
            "CACHE_URL": self.cache_url,
            "CURSOR_KEY_SECRET_ID": self.secret_ids[resources.CURSOR_KEY_SECRET],
            "WEBHOOK_SECRET_ID": self.secret_ids[resources.WEBHOOK_SECRET],
            "PAYMENT_PROVIDER_TABLE": self.table_name,  # the simulated provider's ledger lives on the table
            "USER_POOL_ID": self.user_pool_id,
            "MAIL_SENDER": self.mail_sender,
        }

    def function_grant_env(self, fn: Function) -> dict[str, str]:
        """Exactly the variables of ``fn``'s grants: a function without a grant does not get its variable."""
        values = self.grant_values()
        missing = sorted({GRANT_ENV[g] for g in fn.grants} - set(values))
        if missing:  # a new grant in the manifest that the local stack does not know how to provide yet
            raise RuntimeError(f"{fn.name}: the local stack cannot provide {missing}; add it to grant_values()")
        return {GRANT_ENV[g]: values[GRANT_ENV[g]] for g in fn.grants}


def client(service: str, endpoint_url: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=REGION,
    ).client(service, endpoint_url=endpoint_url,
             config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=30))


def strong_password(length: int = 20) -> str:
    """Random, and always meets the pool's policy (upper, lower, digit, symbol; >= PASSWORD_MIN_LENGTH)."""
    length = max(length, resources.PASSWORD_MIN_LENGTH)
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(length - 4))
    return core + secrets.choice(string.ascii_uppercase) + secrets.choice(string.ascii_lowercase) + \
        secrets.choice(string.digits) + secrets.choice("!#%*+-=?@^_")


def provision(endpoint_url: str, cache_url: str) -> Provisioned:
    """Everything, with independent services provisioned in parallel (moto is threaded)."""
    out = Provisioned(endpoint_url=endpoint_url, cache_url=cache_url)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="provision") as pool:
        jobs = [pool.submit(f, out) for f in (_table, _messaging, _cognito, _secrets, _mail)]
        for job in jobs:
            job.result()
    return out


def _table(out: Provisioned) -> None:
    ddb = client("dynamodb", out.endpoint_url)
    spec = resources.TABLE
    name = resources.resource_name(STAGE, "table")
    key = lambda pk, sk: [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}]
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in spec.key_attributes],
        KeySchema=key(spec.pk, spec.sk),
        GlobalSecondaryIndexes=[{"IndexName": ix.name, "KeySchema": key(ix.pk, ix.sk),
                                 "Projection": {"ProjectionType": "ALL"}} for ix in spec.indexes],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": spec.stream_view},
    )
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True,
                                                                     "AttributeName": spec.ttl_attribute})
    out.table_name = name
    out.stream_arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def _messaging(out: Provisioned) -> None:
    sns, sqs = client("sns", out.endpoint_url), client("sqs", out.endpoint_url)

    def create_queue(name: str, attributes: dict[str, str]) -> Queue:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Queue(url, arn)

    dlq_attrs = {"MessageRetentionPeriod": str(resources.DLQ_RETENTION_DAYS * 86400)}
    out.topic_arn = sns.create_topic(Name=resources.resource_name(STAGE, resources.EVENTS_TOPIC))["TopicArn"]
    for fn, queue_name, dlq_name in resources.consumer_queues(STAGE):
        assert fn.queue is not None
        dlq = create_queue(dlq_name, dlq_attrs)
        delivery_dlq = create_queue(resources.delivery_dlq_name(STAGE, fn), dlq_attrs)
        queue = create_queue(queue_name, {
            "VisibilityTimeout": str(fn.queue_visibility_timeout_s),
            "MessageRetentionPeriod": str(resources.QUEUE_RETENTION_DAYS * 86400),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn,
                                         "maxReceiveCount": str(fn.queue.max_receive_count)}),
        })
        sns.subscribe(TopicArn=out.topic_arn, Protocol="sqs", Endpoint=queue.arn, ReturnSubscriptionArn=True,
                      Attributes={"RawMessageDelivery": "true",
                                  "FilterPolicy": json.dumps(resources.subscription_filter(fn)),
                                  "RedrivePolicy": json.dumps({"deadLetterTargetArn": delivery_dlq.arn})})
        out.queues[fn.name], out.dlqs[fn.name] = queue, dlq
        out.delivery_dlqs[fn.name] = delivery_dlq
    for fn in manifest.stream_consumers():  # a stream consumer's on-failure destination
        out.dlqs[fn.name] = create_queue(resources.dlq_name(STAGE, fn), dlq_attrs)


def _cognito(out: Provisioned) -> None:
    idp = client("cognito-idp", out.endpoint_url)
    pool_id = idp.create_user_pool(
        PoolName=resources.resource_name(STAGE, "users"),
        Policies={"PasswordPolicy": {"MinimumLength": resources.PASSWORD_MIN_LENGTH, "RequireUppercase": True,
                                     "RequireLowercase": True, "RequireNumbers": True, "RequireSymbols": True}},
        AutoVerifiedAttributes=["email"],
    )["UserPool"]["Id"]
    for group in resources.USER_POOL_GROUPS:
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    out.user_pool_id = pool_id
    out.user_pool_client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for username, group in SEED_USERS:
        password = strong_password()
        user = idp.admin_create_user(
            UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"},
                            {"Name": "email_verified", "Value": "true"}],
        )["User"]
        # Permanent=True, else the first sign-in answers NEW_PASSWORD_REQUIRED instead of tokens (recipes §2).
        idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
        sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
        out.users.append(SeededUser(username, password, group, sub))


def _secrets(out: Provisioned) -> None:
    kms, sm = client("kms", out.endpoint_url), client("secretsmanager", out.endpoint_url)
    key_id = kms.create_key(Description="bazaar local: secrets encryption")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"alias/{resources.resource_name(STAGE, 'secrets')}", TargetKeyId=key_id)
    out.kms_key_id = key_id
    out.webhook_secret = "whsec_" + secrets.token_hex(24)
    values = {
        resources.CURSOR_KEY_SECRET: secrets.token_hex(32),  # HMAC key of the pagination cursors
        resources.WEBHOOK_SECRET: out.webhook_secret,
    }
    for name, value in values.items():
        secret_id = resources.secret_name(STAGE, name)
        sm.create_secret(Name=secret_id, SecretString=value, KmsKeyId=key_id)
        out.secret_ids[name] = secret_id


def _mail(out: Provisioned) -> None:
    """The stage's sender identity (SES v2). moto accepts it as verified at once; in AWS the CDK identity must be
    verified (DNS or the confirmation e-mail) before SES sends from it."""
    sender = resources.mail_sender(STAGE)
    client("sesv2", out.endpoint_url).create_email_identity(EmailIdentity=sender)
    out.mail_sender = sender
