"""CloudWatch alarms, all notifying one encrypted SNS topic per stage."""

from __future__ import annotations

from aws_cdk import Duration, aws_cloudwatch as cw, aws_cloudwatch_actions as cw_actions, aws_sns as sns
from constructs import Construct

from infra.config import StageConfig


class Alarms(Construct):
    def __init__(self, scope: Construct, id: str, *, cfg: StageConfig, topic: sns.ITopic) -> None:
        super().__init__(scope, id)
        self.cfg = cfg
        self.action = cw_actions.SnsAction(topic)

    @property
    def period(self) -> Duration:
        return Duration.minutes(self.cfg.alarm_period_minutes)

    def _add(self, id: str, metric: cw.IMetric, *, threshold: float, description: str,
             comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
             periods: int | None = None) -> cw.Alarm:
        alarm = cw.Alarm(self, id, metric=metric, threshold=threshold, comparison_operator=comparison,
                         evaluation_periods=periods or self.cfg.alarm_evaluation_periods,
                         treat_missing_data=cw.TreatMissingData.NOT_BREACHING, alarm_description=description)
        alarm.add_alarm_action(self.action)
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
