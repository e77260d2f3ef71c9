"""Per-stage settings, in one place. Anything that differs between dev, staging and prod lives here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional

from aws_cdk import RemovalPolicy, aws_ec2 as ec2, aws_logs as logs


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
    alarm_emails: tuple[str, ...]
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

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION[self.log_retention_days]

    @property
    def removal_policy(self) -> RemovalPolicy:
        return RemovalPolicy.RETAIN if self.retain_data else RemovalPolicy.DESTROY


_RETENTION = {7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
              90: logs.RetentionDays.THREE_MONTHS, 180: logs.RetentionDays.SIX_MONTHS,
              365: logs.RetentionDays.ONE_YEAR, 731: logs.RetentionDays.TWO_YEARS}

STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(
        stage="dev", retain_data=False, deletion_protection=False,
        log_retention_days=7, log_level="DEBUG",
        api_throttle_rate=50, api_throttle_burst=100,
        alarm_period_minutes=5, alarm_evaluation_periods=1, function_errors_threshold=5, api_5xx_threshold=10,
        stream_iterator_age_threshold_s=300, alarm_emails=(),
        cache_max_data_gb=1, cache_max_ecpu_per_second=5000, reserved_concurrency=None,
        flow_log_traffic=ec2.FlowLogTrafficType.REJECT,
    ),
    "staging": StageConfig(
        stage="staging", retain_data=True, deletion_protection=False,
        log_retention_days=30, log_level="INFO",
        api_throttle_rate=200, api_throttle_burst=400,
        alarm_period_minutes=5, alarm_evaluation_periods=1, function_errors_threshold=3, api_5xx_threshold=5,
        stream_iterator_age_threshold_s=120, alarm_emails=(),
        cache_max_data_gb=2, cache_max_ecpu_per_second=10000, reserved_concurrency=None,
        flow_log_traffic=ec2.FlowLogTrafficType.REJECT,
    ),
    "prod": StageConfig(
        stage="prod", retain_data=True, deletion_protection=True,
        log_retention_days=365, log_level="INFO",  # audit records live in the logs
        api_throttle_rate=1000, api_throttle_burst=2000,
        alarm_period_minutes=1, alarm_evaluation_periods=3, function_errors_threshold=1, api_5xx_threshold=1,
        stream_iterator_age_threshold_s=60, alarm_emails=(),
        cache_max_data_gb=10, cache_max_ecpu_per_second=50000, reserved_concurrency=None,
        flow_log_traffic=ec2.FlowLogTrafficType.ALL,
    ),
}


def stage_config(stage: str) -> StageConfig:
    try:
        return STAGES[stage]
    except KeyError:
        raise ValueError(f"unknown stage {stage!r}: expected one of {sorted(STAGES)}") from None
