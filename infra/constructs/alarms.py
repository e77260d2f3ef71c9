"""CloudWatch alarms, all notifying one encrypted SNS topic per stage, and that topic's recipients."""

from __future__ import annotations

import re
import sys
from typing import Optional

from aws_cdk import Duration, aws_cloudwatch as cw, aws_cloudwatch_actions as cw_actions, \
    aws_kms as kms, aws_sns as sns, aws_sns_subscriptions as subs, aws_sqs as sqs
from constructs import Construct

from bazaar import resources
from infra.config import StageConfig, is_placeholder
from infra.nag import acknowledge


DELIVERY_DLQ = "alarm-delivery-dlq"


class MissingAlarmRecipient(ValueError):
    """A stage that must page someone has nobody to page: synthesis stops."""


class AlarmTopic(Construct):
    """``bazaar-<stage>-alarms``: CMK-encrypted, SSL only, one e-mail subscription per recipient of the stage
    config. A notification SNS cannot deliver (bounces, throttling) lands in the subscriptions' DLQ."""

    def __init__(self, scope: Construct, id: str, *, cfg: StageConfig, key: kms.IKey) -> None:
        super().__init__(scope, id)
        if cfg.require_alarm_recipient and not cfg.alarm_emails:
            raise MissingAlarmRecipient(
                f"stage {cfg.stage!r} refuses to synthesize without an alarm recipient: set alarm_emails in "
                f"infra/config.py or pass -c alarmEmails=<address>[,<address>...]")
        self.topic = sns.Topic(self, "Topic", topic_name=resources.resource_name(cfg.stage, "alarms"),
                               master_key=key, enforce_ssl=True)
        self.delivery_dlq: Optional[sqs.Queue] = None
        if not cfg.alarm_emails:  # dev may go without: alarms still show in the console and on the dashboard
            return
        self.delivery_dlq = sqs.Queue(
            self, "DeliveryDlq", queue_name=resources.resource_name(cfg.stage, DELIVERY_DLQ),
            retention_period=Duration.days(resources.DLQ_RETENTION_DAYS),
            encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, removal_policy=cfg.removal_policy)
        acknowledge(self.delivery_dlq, "AwsSolutions-SQS3",
                    "This queue is itself a dead-letter destination (of the alarm topic's subscriptions); it is "
                    "watched by an alarm and must not have a DLQ of its own")
        for email in cfg.alarm_emails:
            self.topic.add_subscription(subs.EmailSubscription(email, dead_letter_queue=self.delivery_dlq))
        placeholders = [e for e in cfg.alarm_emails if is_placeholder(e)]
        if placeholders:
            # Not a construct annotation: that would land in the policy-validation report beside cdk-nag's.
            print(f"warning: {cfg.stage}: {len(placeholders)} alarm recipient(s) at a placeholder domain that never "
                  f"receives mail; set the on-call addresses in infra/config.py or pass -c alarmEmails=... before "
                  f"deploying", file=sys.stderr)


class Alarms(Construct):
    """Every alarm of the stage: named ``bazaar-<stage>-<what>``, notifying the alarm topic when it fires and when
    it recovers."""

    def __init__(self, scope: Construct, id: str, *, cfg: StageConfig, topic: sns.ITopic) -> None:
        super().__init__(scope, id)
        self.cfg = cfg
        self.action = cw_actions.SnsAction(topic)
        self.all: list[cw.Alarm] = []

    @property
    def period(self) -> Duration:
        return Duration.minutes(self.cfg.alarm_period_minutes)

    def _add(self, id: str, metric: cw.IMetric, *, threshold: float, description: str,
             comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
             periods: int | None = None) -> cw.Alarm:
        alarm = cw.Alarm(self, id, metric=metric, threshold=threshold, comparison_operator=comparison,
                         alarm_name=resources.resource_name(self.cfg.stage, _kebab(id)),
                         evaluation_periods=periods or self.cfg.alarm_evaluation_periods,
                         treat_missing_data=cw.TreatMissingData.NOT_BREACHING, alarm_description=description)
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)
        self.all.append(alarm)
        return alarm

    def dlq_not_empty(self, id: str, queue_name: str, metric: cw.IMetric) -> cw.Alarm:
        # A single message in a DLQ is an incident (lost work until redriven): alarm on the first datapoint.
        return self._add(id, metric, threshold=0, periods=1,
                         comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                         description=f"{queue_name} holds messages that failed every retry: inspect and redrive")

    def function_errors(self, id: str, name: str, metric: cw.IMetric) -> cw.Alarm:
        return self._add(id, metric, threshold=self.cfg.function_errors_threshold,
                         description=f"{name}: invocation errors (unhandled exceptions, timeouts)")

    def api_5xx(self, id: str, metric: cw.IMetric) -> cw.Alarm:
        return self._add(id, metric, threshold=self.cfg.api_5xx_threshold,
                         description="HTTP API 5xx responses: no input may cause one (contract)")

    def iterator_age(self, id: str, name: str, metric: cw.IMetric) -> cw.Alarm:
        return self._add(id, metric, threshold=self.cfg.stream_iterator_age_threshold_s * 1000,
                         description=f"{name} is falling behind the table stream (events delayed)")

    def security(self, id: str, metric: cw.IMetric, threshold: int, description: str) -> cw.Alarm:
        """A burst in a security metric (failed auth, forbidden, admin actions): a datapoint per period."""
        return self._add(id, metric, threshold=threshold, description=description)


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
