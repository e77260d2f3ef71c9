"""Per-stage settings, in one place. Anything that differs between dev, staging and prod lives here."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Optional

from aws_cdk import RemovalPolicy, aws_ec2 as ec2, aws_logs as logs

from bazaar.resources import MAIL_DOMAIN, mail_sender


class Tracing(str, Enum):
    """How a stage traces its functions (docs/tracing.md has the measurements behind the default)."""

    OFF = "off"  # no X-Ray at all
    # Lambda active tracing: Lambda records each invocation (Init, Invocation, Overhead segments, linked to the
    # API Gateway / SQS trace) with no code in the function, so cold starts pay nothing for it. The default.
    ACTIVE = "active"
    # Active tracing plus in-process subsegments for every AWS call, through the X-Ray SDK (Powertools Tracer):
    # the SDK is the largest import of a cold start and is in maintenance mode, so it is an opt-in per stage.
    ACTIVE_WITH_SDK = "active+xray-sdk"

    @property
    def active(self) -> bool:
        return self is not Tracing.OFF

    @property
    def in_process(self) -> bool:
        return self is Tracing.ACTIVE_WITH_SDK


@dataclass(frozen=True)
class StageConfig:
    stage: str
    # Data stores (table, KMS key, secrets, user pool): RETAIN keeps them when a stack is deleted;
    # deletion protection also refuses a direct delete of the table and the user pool.
    retain_data: bool
    deletion_protection: bool
    log_retention_days: int  # functions, API access logs, VPC flow logs
    log_level: str  # POWERTOOLS_LOG_LEVEL
    # HTTP API stage-wide throttling (requests per second / bucket size).
    api_throttle_rate: int
    api_throttle_burst: int
    # Alarms: a datapoint per `alarm_period_minutes`, alarm after `alarm_evaluation_periods` breaching ones.
    alarm_period_minutes: int
    alarm_evaluation_periods: int
    function_errors_threshold: int  # Errors per period, per function
    api_5xx_threshold: int  # 5xx responses per period
    stream_iterator_age_threshold_s: int  # the outbox relay falling behind
    # Who gets every alarm: e-mail subscriptions of the stage's alarm topic (override per deploy with
    # `-c alarmEmails=a@x.com,b@y.com`). Staging and prod refuse to synthesize without one.
    alarm_emails: tuple[str, ...]
    require_alarm_recipient: bool
    # Security alarms from the API access log and the audit records, per alarm period (see docs/operations.md).
    failed_auth_threshold: int  # 401s: tokens refused by the JWT authorizer (or a bad webhook signature)
    forbidden_threshold: int  # 403s: authenticated callers refused by a function
    admin_actions_threshold: int  # state-changing requests made by admins
    # SQS consumers: at most this many concurrent invokes per event source (ScalingConfig.MaximumConcurrency).
    consumer_max_concurrency: int
    # ElastiCache Serverless usage limits cap the bill; snapshots are pointless for a read-through cache.
    cache_max_data_gb: int
    cache_max_ecpu_per_second: int
    # Reserved concurrency per function (None = unreserved): reserving needs account headroom, so off by default.
    reserved_concurrency: Optional[int]
    flow_log_traffic: ec2.FlowLogTrafficType
    # Self sign-up stays off until a post-confirmation trigger puts new users in the "customer" group:
    # a self-registered user without a group could only call public routes anyway.
    self_sign_up: bool = False
    point_in_time_recovery: bool = True  # on in every stage: cheap, and a restore drill needs it in dev too
    tracing: Tracing = Tracing.ACTIVE  # X-Ray active tracing on every function, no in-process SDK
    access_logs: bool = True  # HTTP API access logs (JSON) in every stage
    max_azs: int = 2  # the cache needs subnets in two AZs; account-agnostic stacks can address at most two
    # A CMK-encrypted TableV2 needs a concrete region; the account stays open unless `-c account=` pins it.
    region: str = "eu-west-1"
    # Bazaar's e-mail comes from orders@<stage>.<mail_domain>, an SES domain identity per stage (DKIM records to
    # publish in DNS: see docs/deploy.md). Set your own domain before the first deploy.
    mail_domain: str = MAIL_DOMAIN

    @property
    def mail_identity(self) -> str:
        return f"{self.stage}.{self.mail_domain}"

    @property
    def mail_sender(self) -> str:
        return mail_sender(self.stage, self.mail_domain)

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION[self.log_retention_days]

    @property
    def removal_policy(self) -> RemovalPolicy:
        return RemovalPolicy.RETAIN if self.retain_data else RemovalPolicy.DESTROY


_RETENTION = {7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
              90: logs.RetentionDays.THREE_MONTHS, 180: logs.RetentionDays.SIX_MONTHS,
              365: logs.RetentionDays.ONE_YEAR, 731: logs.RetentionDays.TWO_YEARS}

# Reserved domains (RFC 2606) that never receive mail: a recipient there makes synth warn (fine for a trial synth,
# never for a deploy).
PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net")

STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(
        stage="dev", retain_data=False, deletion_protection=False,
        log_retention_days=7, log_level="DEBUG",
        api_throttle_rate=50, api_throttle_burst=100,
        alarm_period_minutes=5, alarm_evaluation_periods=1, function_errors_threshold=5, api_5xx_threshold=10,
        stream_iterator_age_threshold_s=300, alarm_emails=(), require_alarm_recipient=False,
        failed_auth_threshold=50, forbidden_threshold=20, admin_actions_threshold=50, consumer_max_concurrency=2,
        cache_max_data_gb=1, cache_max_ecpu_per_second=5000, reserved_concurrency=None,
        flow_log_traffic=ec2.FlowLogTrafficType.REJECT,
    ),
    "staging": StageConfig(
        stage="staging", retain_data=True, deletion_protection=False,
        log_retention_days=30, log_level="INFO",
        api_throttle_rate=200, api_throttle_burst=400,
        alarm_period_minutes=5, alarm_evaluation_periods=1, function_errors_threshold=3, api_5xx_threshold=5,
        stream_iterator_age_threshold_s=120, alarm_emails=(), require_alarm_recipient=True,
        failed_auth_threshold=50, forbidden_threshold=20, admin_actions_threshold=50, consumer_max_concurrency=5,
        cache_max_data_gb=2, cache_max_ecpu_per_second=10000, reserved_concurrency=None,
        flow_log_traffic=ec2.FlowLogTrafficType.REJECT,
    ),
    "prod": StageConfig(
        stage="prod", retain_data=True, deletion_protection=True,
        log_retention_days=365, log_level="INFO",  # audit records live in the logs
        api_throttle_rate=1000, api_throttle_burst=2000,
        alarm_period_minutes=1, alarm_evaluation_periods=3, function_errors_threshold=1, api_5xx_threshold=1,
        stream_iterator_age_threshold_s=60, alarm_emails=(), require_alarm_recipient=True,
        failed_auth_threshold=100, forbidden_threshold=30, admin_actions_threshold=30, consumer_max_concurrency=20,
        cache_max_data_gb=10, cache_max_ecpu_per_second=50000, reserved_concurrency=None,
        flow_log_traffic=ec2.FlowLogTrafficType.ALL,
    ),
}


_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")


def parse_emails(value: Any) -> tuple[str, ...]:
    """``-c alarmEmails=a@x.com,b@y.com`` (or a JSON list in cdk.json) as a tuple; "" means none."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    emails = tuple(str(e).strip() for e in items if str(e).strip())
    bad = [e for e in emails if not _EMAIL.fullmatch(e)]
    if bad:
        raise ValueError(f"not an e-mail address: {', '.join(bad)}")
    return emails


def stage_config(stage: str, alarm_emails: Any = None) -> StageConfig:
    """The stage's settings; ``alarm_emails`` (context ``alarmEmails``), when given, replaces its recipients."""
    try:
        cfg = STAGES[stage]
    except KeyError:
        raise ValueError(f"unknown stage {stage!r}: expected one of {sorted(STAGES)}") from None
    return cfg if alarm_emails is None else replace(cfg, alarm_emails=parse_emails(alarm_emails))


def is_placeholder(email: str) -> bool:
    return email.rsplit("@", 1)[-1].lower() in PLACEHOLDER_DOMAINS


def log_group_name(stage: str, name: str) -> str:
    """Bazaar's own log groups (API access logs, VPC flow logs): ``/bazaar/<stage>/<name>``."""
    return f"/bazaar/{stage}/{name}"


def log_group_patterns(stage: str) -> tuple[str, ...]:
    """Every log group of the stage (functions' ``/aws/lambda/bazaar-<stage>-*`` and ``/bazaar/<stage>/*``): the
    data key lets CloudWatch Logs use it for these only."""
    return (f"/aws/lambda/bazaar-{stage}-*", log_group_name(stage, "*"))
