"""``make audit`` (``python -m local audit``): who did what, when, in the local stack.

Reads the JSON lines under ``.local/logs/``:
- the **audit records** every state-changing request writes (``"audit": true``: actor, roles, action, resource,
  outcome, status, request id), refused ones included;
- the **API access log** (``api-access.log``) for what the JWT authorizer refused: those requests never reach a
  function, so they have no audit record. They appear as outcome ``denied`` by ``anonymous``, with the route's
  function as the action.

Filters (all optional, combined with AND): ``--actor`` (a seeded username or a token ``sub``), ``--action`` and
``--resource`` (shell-style globs), ``--outcome`` (success, denied, rejected, error), ``--since``/``--until``
(``15m``, ``2h``, ``1d`` ago, or an RFC 3339 time). In AWS the same questions are saved Logs Insights queries
(``bazaar-<stage>/audit/...``, ``bazaar-<stage>/api/...``; docs/operations.md).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from bazaar.resources import ACCESS_LOG_FILE
from local.cli import CommandError, command, read_stack
from local.config import Paths

OUTCOMES = ("success", "denied", "rejected", "error")
_RELATIVE = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Record:
    time: datetime
    actor: str  # the token's sub, or "anonymous"
    action: str  # the function (manifest name) that served, or would have served, the request
    resource: str
    outcome: str
    status: int
    request_id: str
    source: str  # "function" (an audit record) or "gateway" (refused by the authorizer)
    roles: tuple[str, ...] = field(default=())


def parse_time(text: str, now: Optional[datetime] = None) -> datetime:
    """``15m``/``2h``/``1d``/``30s`` ago, or an RFC 3339 / ISO 8601 time (UTC when it has no offset)."""
    now = now or datetime.now(timezone.utc)
    m = _RELATIVE.fullmatch(text.strip().lower())
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"not a time: {text!r} (use 15m, 2h, 1d or an RFC 3339 time)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    doc = json.loads(line)
                except ValueError:  # a partial line being written, or a crash dump: not a record
                    continue
                if isinstance(doc, dict):
                    yield doc


def _route_actions() -> dict[str, str]:
    from bazaar import manifest

    return {fn.route.key: fn.name for fn in manifest.routes() if fn.route}


def read_records(logs_dir: Path) -> list[Record]:
    """Every audit record and every authorizer refusal under ``logs_dir``, oldest first."""
    records: list[Record] = []
    actions = _route_actions()
    for path in sorted(logs_dir.glob("*.log")):
        gateway = path.name == ACCESS_LOG_FILE
        for doc in _json_lines(path):
            if gateway:
                if doc.get("authorizerError", "-") == "-":
                    continue  # reached a function: its audit record (if it changed state) tells the story
                records.append(Record(
                    time=datetime.fromtimestamp(int(doc["requestTimeEpoch"]) / 1000, tz=timezone.utc),
                    actor="anonymous", action=actions.get(doc.get("routeKey", ""), doc.get("routeKey", "-")),
                    resource=doc.get("path", "-"), outcome="denied", status=int(doc.get("status", 401)),
                    request_id=doc.get("requestId", "-"), source="gateway"))
            elif doc.get("audit") is True:
                records.append(Record(
                    time=parse_time(doc["timestamp"]), actor=doc.get("actor", "anonymous"),
                    action=doc.get("action", "-"), resource=doc.get("resource", "-"),
                    outcome=doc.get("outcome", "-"), status=int(doc.get("status", 0)),
                    request_id=doc.get("request_id", "-"), source="function",
                    roles=tuple(doc.get("roles") or ())))
    return sorted(records, key=lambda r: r.time)


@dataclass(frozen=True)
class Filters:
    actors: frozenset[str] = frozenset()  # subs (a username is resolved to its sub before)
    action: Optional[str] = None
    resource: Optional[str] = None
    outcome: Optional[str] = None
    since: Optional[datetime] = None
    until: Optional[datetime] = None

    def match(self, r: Record) -> bool:
        return ((not self.actors or r.actor in self.actors)
                and (self.action is None or fnmatch.fnmatchcase(r.action, self.action))
                and (self.resource is None or fnmatch.fnmatchcase(r.resource, self.resource))
                and (self.outcome is None or r.outcome == self.outcome)
                and (self.since is None or r.time >= self.since)
                and (self.until is None or r.time <= self.until))


def select(records: Iterable[Record], filters: Filters) -> list[Record]:
    return [r for r in records if filters.match(r)]


def _users() -> dict[str, str]:
    """username -> sub of the seeded users, when the stack is running (stack.json); else nothing."""
    try:
        return {u["username"]: u["sub"] for u in read_stack().get("users", [])}
    except CommandError:
        return {}


def _table(records: list[Record], names: dict[str, str]) -> str:
    header = ("TIME (UTC)", "ACTOR", "ROLES", "ACTION", "RESOURCE", "OUTCOME", "STATUS", "REQUEST", "SOURCE")
    rows = [header] + [(r.time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], names.get(r.actor, r.actor),
                        ",".join(r.roles) or "-", r.action, r.resource, r.outcome, str(r.status), r.request_id,
                        r.source) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


@command
def audit(actor: Optional[str], action: Optional[str], resource: Optional[str], outcome: Optional[str],
          since: Optional[str], until: Optional[str], as_json: bool, limit: int) -> None:
    logs_dir = Paths.from_env().logs
    if not logs_dir.is_dir():
        raise CommandError(f"no {logs_dir}: nothing has run yet (start the stack with `make run`)")
    if outcome is not None and outcome not in OUTCOMES:
        raise CommandError(f"unknown outcome {outcome!r}; choose one of: {', '.join(OUTCOMES)}")
    users = _users()
    filters = Filters(actors=frozenset({users.get(actor, actor)}) if actor else frozenset(), action=action,
                      resource=resource, outcome=outcome, since=parse_time(since) if since else None,
                      until=parse_time(until) if until else None)
    found = select(read_records(logs_dir), filters)
    shown = found[-limit:] if limit > 0 else found
    if as_json:
        for r in shown:
            print(json.dumps({**asdict(r), "time": r.time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                              "roles": list(r.roles)}))
        return
    if not found:
        print("no audit records match")
        return
    print(_table(shown, {sub: name for name, sub in users.items()}))
    print(f"{len(found)} record(s)" + (f", the latest {len(shown)} shown" if len(shown) < len(found) else ""))
