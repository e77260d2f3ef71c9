"""Who did what, when, in CloudWatch: security metric filters with alarms, saved Logs Insights queries and a
dashboard per stage.

Two sources answer the questions (docs/operations.md):
- **audit records** (``"audit": true``), one per state-changing request, written by ``bazaar.web`` into the log
  group of the function that served it: actor (token ``sub``), roles, action, resource, outcome, status;
- **API access log lines** (``bazaar.resources.ACCESS_LOG_FORMAT``), one per request, including the requests the
  JWT authorizer refused, which never reach a function.

``make audit`` asks the same questions of the local stack's ``.local/logs/`` (``local/audit.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, aws_cloudwatch as cw, aws_logs as logs
from constructs import Construct

from bazaar import manifest, resources
from bazaar.manifest import Function
from infra.config import StageConfig
from infra.constructs.alarms import Alarms

AUDIT_FIELDS = ("@timestamp", "actor", "roles.0", "roles.1", "action", "resource", "outcome", "status", "request_id")
ACCESS_FIELDS = ("@timestamp", "ip", "method", "routeKey", "path", "status", "authorizerError", "sub", "requestId")
IS_AUDIT = "audit = 1"  # Logs Insights reads a JSON true as 1
IS_ADMIN = '(roles.0 = "admin" or roles.1 = "admin" or roles.2 = "admin")'


@dataclass(frozen=True)
class Question:
    """One saved Logs Insights query: ``bazaar-<stage>/<name>``, over the audit records or the access log."""

    name: str
    source: str  # "audit" | "access"
    description: str
    fields: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    stats: str = ""
    sort: str = "@timestamp desc"
    limit: int = 1000

    def query_string(self) -> logs.QueryString:
        return logs.QueryString(fields=list(self.fields) or None, filter_statements=list(self.filters) or None,
                                stats_statements=[self.stats] if self.stats else None, sort=self.sort or None,
                                limit=self.limit)

    def lines(self) -> list[str]:
        """The same query as dashboard query lines (joined with ``\\n|``)."""
        out = [f"fields {', '.join(self.fields)}"] if self.fields else []
        out += [f"filter {f}" for f in self.filters]
        out += [f"stats {self.stats}"] if self.stats else []
        out += [f"sort {self.sort}"] if self.sort else []
        return out + [f"limit {self.limit}"]


QUESTIONS: tuple[Question, ...] = (
    Question("audit/who-did-what", "audit", "Every audit record, newest first (make audit)",
             AUDIT_FIELDS, (IS_AUDIT,)),
    Question("audit/by-actor", "audit", "Per actor: what they did, with which outcome, and when last "
             "(make audit ACTOR=...)", filters=(IS_AUDIT,),
             stats="count(*) as requests, latest(@timestamp) as last_seen by actor, action, outcome",
             sort="last_seen desc"),
    Question("audit/by-resource", "audit", "Per resource: who touched it, how and when last (make audit RESOURCE=...)",
             filters=(IS_AUDIT,),
             stats="count(*) as requests, latest(@timestamp) as last_seen by resource, action, actor, outcome",
             sort="last_seen desc"),
    Question("audit/refused", "audit", "State changes refused by a function: denied (401/403) or rejected (4xx) "
             "(make audit OUTCOME=denied)", AUDIT_FIELDS, (IS_AUDIT, 'outcome in ["denied", "rejected"]')),
    Question("audit/admin-actions", "audit", "State changes made by admins (the AdminActions metric)",
             AUDIT_FIELDS, (IS_AUDIT, IS_ADMIN)),
    Question("audit/server-errors", "audit", "State changes that failed on our side (outcome error)",
             AUDIT_FIELDS, (IS_AUDIT, 'outcome = "error"')),
    Question("api/failed-auth", "access", "Requests answered 401: refused by the JWT authorizer (they never reach a "
             "function) or a bad webhook signature (the FailedAuth metric)", ACCESS_FIELDS, ("status = 401",)),
    Question("api/failed-auth-by-ip", "access", "Where failed authentication comes from",
             filters=("status = 401",), stats="count(*) as refused, latest(@timestamp) as last_seen by ip, routeKey",
             sort="refused desc"),
    Question("api/forbidden", "access", "Requests answered 403: authenticated callers refused by a function "
             "(the Forbidden metric)", ACCESS_FIELDS, ("status = 403",)),
)


def audited_functions() -> list[Function]:
    """The functions that write audit records: every route that changes state (``bazaar.web.http``)."""
    return [fn for fn in manifest.routes() if fn.route and fn.route.method not in ("GET", "HEAD", "OPTIONS")]


def admin_filter_pattern() -> str:
    """Audit records of callers in the admin group, whatever the position of "admin" in their sorted roles."""
    positions = " || ".join(f'$.roles[{i}] = "admin"' for i in range(len(resources.USER_POOL_GROUPS)))
    return f"{{ $.audit IS TRUE && ({positions}) }}"


# Metric filters: name -> (source, pattern, alarm description).
METRIC_FILTERS: dict[str, tuple[str, str, str]] = {
    "FailedAuth": ("access", '{ $.status = "401" }',
                   "Burst of 401s: tokens refused by the JWT authorizer or bad webhook signatures (credential "
                   "stuffing, a leaked or expired client): see the api/failed-auth queries"),
    "Forbidden": ("access", '{ $.status = "403" }',
                  "Burst of 403s: authenticated callers trying what their role may not do: see api/forbidden"),
    "AdminActions": ("audit", admin_filter_pattern(),
                     "Unusual volume of admin state changes: see audit/admin-actions"),
}


class Observability(Construct):
    def __init__(self, scope: Construct, id: str, *, cfg: StageConfig, alarms: Alarms,
                 function_logs: dict[str, logs.ILogGroup], access_logs: logs.ILogGroup, api_metrics: dict[str, cw.IMetric],
                 function_metrics: dict[str, dict[str, cw.IMetric]], queue_metrics: dict[str, cw.IMetric]) -> None:
        super().__init__(scope, id)
        self.cfg = cfg
        self.namespace = f"{resources.METRICS_NAMESPACE}/{cfg.stage}"
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
                                 query_string=q.query_string(), log_groups=list(self.sources[q.source].values()))
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


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))
