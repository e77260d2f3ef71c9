"""The questions an operator asks of Bazaar's logs, as data: saved Logs Insights queries and security metric
filters (no CDK here, so tests and tools can read them cheaply). ``infra/constructs/observability.py`` deploys
them; ``make audit`` (``local/audit.py``) answers the same questions locally; docs/operations.md maps one to the
other.

Two sources: the **audit records** (``"audit": true``) in the log group of each function that changes state, and
the **API access log** (``bazaar.resources.ACCESS_LOG_FORMAT``), which also holds what the JWT authorizer refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from bazaar import manifest, resources
from bazaar.manifest import Function

AUDIT_FIELDS = ("@timestamp", "actor", "roles.0", "roles.1", "action", "resource", "outcome", "status", "request_id")
ACCESS_FIELDS = ("@timestamp", "ip", "method", "routeKey", "path", "status", "authorizerError", "sub", "requestId")
IS_AUDIT = "audit = 1"  # Logs Insights reads a JSON true as 1
# Any position of "admin" among the caller's roles (a caller is in at most every group).
IS_ADMIN = "(" + " or ".join(f'roles.{i} = "admin"' for i in range(len(resources.USER_POOL_GROUPS))) + ")"


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


def metrics_namespace(stage: str) -> str:
    """Where the metric filters publish: ``Bazaar/<stage>`` (stages may share an account)."""
    return f"{resources.METRICS_NAMESPACE}/{stage}"


def audited_functions() -> list[Function]:
    """The functions that write audit records: every route that changes state (``bazaar.web.edge``)."""
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
