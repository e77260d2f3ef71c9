"""Who did what, when, in CloudWatch: the security metric filters with their alarms, the saved Logs Insights
queries (both defined in ``infra/insights.py``) and the stage's operations dashboard."""

from __future__ import annotations

from aws_cdk import Duration, aws_cloudwatch as cw, aws_logs as logs
from constructs import Construct

from bazaar import resources
from infra.config import StageConfig
from infra.constructs.alarms import Alarms
from infra.insights import ACCESS_FIELDS, METRIC_FILTERS, QUESTIONS, Question, audited_functions, \
    metrics_namespace


class Observability(Construct):
    def __init__(self, scope: Construct, id: str, *, cfg: StageConfig, alarms: Alarms,
                 function_logs: dict[str, logs.ILogGroup], access_logs: logs.ILogGroup, api_metrics: dict[str, cw.IMetric],
                 function_metrics: dict[str, dict[str, cw.IMetric]], queue_metrics: dict[str, cw.IMetric]) -> None:
        super().__init__(scope, id)
        self.cfg = cfg
        self.namespace = metrics_namespace(cfg.stage)
        # source -> {construct id part: log group}
        self.sources: dict[str, dict[str, logs.ILogGroup]] = {
            "audit": {_camel(fn.name): function_logs[fn.name] for fn in audited_functions()},
            "access": {"Api": access_logs},
        }

        self.metrics: dict[str, cw.Metric] = {}
        thresholds = {"FailedAuth": cfg.failed_auth_threshold, "Forbidden": cfg.forbidden_threshold,
                      "AdminActions": cfg.admin_actions_threshold}
        for name, (source, pattern, description) in METRIC_FILTERS.items():
            for part, group in self.sources[source].items():
                logs.MetricFilter(self, f"{name}{part}", log_group=group,
                                  filter_name=name, filter_pattern=logs.FilterPattern.literal(pattern),
                                  metric_namespace=self.namespace, metric_name=name, metric_value="1", default_value=0)
            self.metrics[name] = cw.Metric(namespace=self.namespace, metric_name=name, statistic="Sum",
                                           period=alarms.period)
            alarms.security(name, self.metrics[name], thresholds[name], description)

        self.queries = [
            logs.QueryDefinition(self, f"Query{i}", query_definition_name=f"bazaar-{cfg.stage}/{q.name}",
                                 query_string=_query_string(q), log_groups=list(self.sources[q.source].values()))
            for i, q in enumerate(QUESTIONS)]
        self.dashboard = self._dashboard(alarms, api_metrics, function_metrics, queue_metrics)

    def _dashboard(self, alarms: Alarms, api: dict[str, cw.IMetric], functions: dict[str, dict[str, cw.IMetric]],
                   queues: dict[str, cw.IMetric]) -> cw.Dashboard:
        period = Duration.minutes(self.cfg.alarm_period_minutes)
        board = cw.Dashboard(self, "Dashboard", dashboard_name=resources.resource_name(self.cfg.stage, "operations"),
                             period_override=cw.PeriodOverride.AUTO)
        board.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=list(alarms.all), width=24, height=4))
        board.add_widgets(
            cw.GraphWidget(title="API requests and errors", width=8, left=[api["requests"]],
                           right=[api["4xx"], api["5xx"]]),
            cw.GraphWidget(title="API latency (p50, p99)", width=8, left=[api["p50"], api["p99"]]),
            cw.GraphWidget(title="Security: failed auth, forbidden, admin actions", width=8,
                           left=[self.metrics["FailedAuth"], self.metrics["Forbidden"]],
                           right=[self.metrics["AdminActions"]]))
        board.add_widgets(
            cw.GraphWidget(title="Function errors", width=8, left=[m["errors"] for m in functions.values()],
                           legend_position=cw.LegendPosition.RIGHT),
            cw.GraphWidget(title="Function duration p99", width=8, left=[m["p99"] for m in functions.values()],
                           legend_position=cw.LegendPosition.RIGHT),
            cw.GraphWidget(title="Function throttles", width=8, left=[m["throttles"] for m in functions.values()],
                           legend_position=cw.LegendPosition.RIGHT))
        board.add_widgets(
            cw.GraphWidget(title="Dead-letter queues (visible messages)", width=12, left=list(queues.values()),
                           period=period),
            cw.LogQueryWidget(title="Latest audit records", width=12, height=6,
                              log_group_names=[g.log_group_name for g in self.sources["audit"].values()],
                              query_lines=QUESTIONS[0].lines()[:-1] + ["limit 50"]))
        board.add_widgets(
            cw.LogQueryWidget(title="Refused by the authorizer (401) and forbidden (403)", width=24, height=6,
                              log_group_names=[g.log_group_name for g in self.sources["access"].values()],
                              query_lines=[f"fields {', '.join(ACCESS_FIELDS)}", "filter status = 401 or status = 403",
                                           "sort @timestamp desc", "limit 50"]))
        return board


def _query_string(q: Question) -> logs.QueryString:
    return logs.QueryString(fields=list(q.fields) or None, filter_statements=list(q.filters) or None,
                            stats_statements=[q.stats] if q.stats else None, sort=q.sort or None, limit=q.limit)


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))
