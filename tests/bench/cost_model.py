"""``python -m tests.bench.cost_model [durations.json]``: the monthly cost of each stage at 1 M and 100 M API
requests, line by line, printed as the Markdown tables of ``docs/cost.md``.

Inputs: the unit prices below (each with its region, source and the date it was read), the request mix and the
per-operation usage below (assumptions, stated), the stage settings (``infra/config.py``) and the handler
durations measured on the local stack (``python -m tests.bench.durations --json build/durations.json``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bazaar import manifest

HOURS = 730  # AWS's month

# --- unit prices (USD), read 2026-11-30 --------------------------------------------------------------------------
# region: "eu-west-1" where the source gives it, else "us-east-1" (the stacks deploy to eu-west-1; see docs/cost.md)
PRICES: dict[str, tuple[float, str, str]] = {
    "apigw_http_per_m": (1.00, "us-east-1", "docs.aws.amazon.com whitepaper 'Best Practices for ... API Gateway "
                         "Private APIs', Table 4 (HTTP: first 300 M $1.00/M)"),
    "lambda_req_per_m": (0.20, "us-east-1 (eu-west-1 same)", "aws.amazon.com/lambda/pricing; cloudchipr.com Lambda "
                         "pricing guide"),
    "lambda_arm_gb_s": (0.0000133334, "eu-west-1 = base", "cloudchipr.com (Arm first 7.5 B GB-s); the open-source "
                        "Lambda price table lists eu-west-1 at the base price"),
    "ddb_wru_per_m": (0.7068, "eu-west-1", "eu-west-1 $1.4135/M before the 50% on-demand cut of 2024-11-01 "
                      "(engineering-ed7.pages.dev DynamoDB notes; jusdb.com on the cut)"),
    "ddb_rru_per_m": (0.1415, "eu-west-1", "eu-west-1 $0.283/M before the 2024-11-01 cut (same sources)"),
    "ddb_storage_gb": (0.283, "eu-west-1", "engineering-ed7.pages.dev DynamoDB notes ($0.283/GB-month)"),
    "ddb_pitr_gb": (0.20, "us-east-1", "docs.echo.stream table pricing (PITR ~0.8x storage); verify"),
    "sns_publish_per_m": (0.50, "us-east-1", "factualminds.com SNS pricing (standard publish $0.50/M; SQS "
                          "deliveries free)"),
    "sqs_req_per_m": (0.40, "us-east-1", "cloudburn.io SQS pricing, March 2026 ($0.40/M standard)"),
    "ses_per_1000": (0.10, "us-east-1", "aws.amazon.com/ses/pricing ($0.10 per 1,000 outbound e-mails)"),
    "valkey_gb_hour": (0.084, "us-east-1", "usage.ai ElastiCache Serverless pricing, June 2026 (Valkey $0.084/GB-h, "
                       "100 MB minimum)"),
    "valkey_ecpu_per_m": (0.0023, "us-east-1", "same (Valkey $0.0023 per million ECPUs)"),
    "endpoint_az_hour": (0.01, "us-east-1", "awsnegotiations.com PrivateLink analysis, May 2026 ($0.01/h per AZ)"),
    "endpoint_gb": (0.01, "all regions", "aws.amazon.com/privatelink/pricing (first 1 PB $0.01/GB)"),
    "logs_ingest_gb": (0.50, "us-east-1", "factualminds.com / cloudburn.io CloudWatch pricing, 2026 ($0.50/GB)"),
    "logs_storage_gb": (0.03, "us-east-1", "aws.amazon.com/cloudwatch/pricing ($0.03/GB-month, compressed)"),
    "vended_logs_gb": (0.50, "us-east-1", "aws.amazon.com/cloudwatch/pricing (vended logs, first 10 TB)"),
    "metric_month": (0.30, "us-east-1", "signoz.io CloudWatch pricing, Feb 2026 ($0.30 per custom metric)"),
    "alarm_month": (0.10, "us-east-1", "aws.amazon.com/cloudwatch/pricing (standard-resolution alarm metric)"),
    "dashboard_month": (3.00, "us-east-1", "factualminds.com CloudWatch pricing ($3 per dashboard; 3 free)"),
    "kms_key_month": (1.00, "all regions", "wring.co / cloudburn.io KMS pricing, March 2026"),
    "kms_per_10k": (0.03, "all regions", "same ($0.03 per 10,000 symmetric requests)"),
    "secret_month": (0.40, "us-east-1", "aws.amazon.com/secrets-manager/pricing ($0.40 per secret-month)"),
    "secret_per_10k": (0.05, "us-east-1", "same ($0.05 per 10,000 API calls)"),
    "xray_per_m": (5.00, "us-east-1", "aws.amazon.com/xray/pricing ($5.00 per million traces recorded)"),
}


def price(key: str) -> float:
    return PRICES[key][0]


# --- the request mix: per 100 API requests -------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    function: str
    per_100: float
    wru: float = 0.0  # DynamoDB write request units (a transactional write item counts 2, idempotency put+update 2)
    rru: float = 0.0  # read request units (eventually consistent 4 KB read = 0.5)
    events: float = 0.0  # domain events it causes (outbox items relayed by publish_events, published to SNS)
    deliveries: tuple[tuple[str, float], ...] = ()  # consumer -> SQS messages it receives because of this request
    emails: float = 0.0
    ecpu: float = 1.0  # Valkey ECPUs (1 per KB moved)


ORDER_FLOW = (("process_payments", 1.0), ("invalidate_cache", 1.0), ("send_notifications", 1.0))
MIX: tuple[Op, ...] = (
    Op("get_product", 55, rru=0.05, ecpu=1),  # 90% cache hits; a miss reads one item and fills the cache
    Op("list_products", 20, rru=0.5, ecpu=8),  # half the pages from the cache; a 20-item page is ~8 KB
    Op("list_orders", 5, rru=1.0, ecpu=0),
    Op("get_order", 3, rru=0.5, ecpu=0),
    Op("health", 11.3, ecpu=0), Op("openapi", 1, ecpu=0), Op("docs", 0.5, ecpu=0),
    # An order: idempotency 2 + a transaction of ~3.5 items x 2 (stock lines, order, outbox) = 9 WRU; then
    # OrderCreated (payments, cache) and OrderConfirmed (notifications): 2 events, 3 deliveries, 1 e-mail.
    Op("create_order", 2, wru=9, rru=0.75, events=2, deliveries=ORDER_FLOW, emails=1, ecpu=3),
    Op("cancel_order", 0.3, wru=7, rru=0.5, events=1.5, emails=1, ecpu=3,
       deliveries=(("send_notifications", 1.0), ("invalidate_cache", 1.0), ("process_payments", 0.5))),
    Op("payment_webhook", 0.2, wru=6, rru=0.5, ecpu=0),  # its decision event is counted with the order
    Op("create_product", 0.5, wru=4, rru=0.5, events=1, deliveries=(("invalidate_cache", 1.0),), ecpu=2),
    Op("update_product", 1, wru=4, rru=0.5, events=1, deliveries=(("invalidate_cache", 1.0),), ecpu=3),
    Op("delete_product", 0.2, wru=4, rru=0.5, events=1, deliveries=(("invalidate_cache", 1.0),), ecpu=2),
)
# Per relayed event: publish_events writes its idempotency record (2 WRU). Per SQS message: the consumer writes
# its idempotency record (2 WRU; send_notifications one per e-mail, and the model counts 1 e-mail per delivery);
# process_payments also charges (ledger item + transaction with outbox: 5 WRU).
EVENT_WRU = 2.0
DELIVERY_WRU = {"process_payments": 2.0 + 5.0, "send_notifications": 2.0, "invalidate_cache": 2.0}
STREAM_BATCH = {1_000_000: 1.0, 100_000_000: 5.0}  # records per publish_events invocation (batching under load)
SQS_REQUESTS_PER_MESSAGE = 3  # SendMessage (from SNS), ReceiveMessage, DeleteMessage (batches not assumed)
SQS_IDLE_POLL_PER_QUEUE = 650_000  # the event source's long polls of an idle queue per month (5 pollers, 20 s)
BODY_KB = 1.5  # average response size, for interface-endpoint data only (in-VPC functions' AWS calls)
LOG_COMPRESSION = 0.15  # CloudWatch bills stored logs compressed
XRAY_SAMPLED = {1_000_000: 1.0, 100_000_000: 0.075}  # default rule: 1/s reservoir + 5% (38 req/s average)
CATALOG_GB = 2.0  # table size (items + indexes + outbox before TTL) at both volumes, for storage and PITR


def durations(path: Path | None) -> dict[str, Any]:
    if path and path.exists():
        return json.loads(path.read_text())
    raise SystemExit("measure first: python -m tests.bench.durations --json build/durations.json")


def stage_lines(stage: str, requests: int, measured: dict[str, Any]) -> list[tuple[str, float, str]]:
    from infra.config import stage_config

    cfg = stage_config(stage)
    fns = measured["functions"]
    fallback = fns.get("update_product", {"median_ms": 60.0})
    scale = requests / 100
    lines: list[tuple[str, float, str]] = []

    def add(what: str, usd: float, how: str) -> None:
        lines.append((what, usd, how))

    events = sum(op.per_100 * op.events for op in MIX) * scale
    invocations: dict[str, float] = {op.function: op.per_100 * scale for op in MIX}
    invocations["publish_events"] = events / STREAM_BATCH[requests]
    messages: dict[str, float] = {}
    for op in MIX:
        for consumer, n in op.deliveries:
            messages[consumer] = messages.get(consumer, 0.0) + op.per_100 * scale * n
    invocations.update(messages)  # batch size 1 assumed for the consumers (the worst case)
    gb_s = 0.0
    for name, n in invocations.items():
        if name not in manifest.BY_NAME:
            continue
        f = fns.get(name, fallback)
        gb_s += n * (f["median_ms"] + 1) / 1000 * manifest.get(name).memory_mb / 1024  # +1: billed ms round up
    n_inv = sum(invocations.values())
    add("API Gateway HTTP API", requests / 1e6 * price("apigw_http_per_m"),
        f"{requests / 1e6:g} M requests x ${price('apigw_http_per_m'):.2f}/M")
    add("Lambda requests", max(0.0, n_inv - 1e6) / 1e6 * price("lambda_req_per_m"),
        f"{n_inv / 1e6:.2f} M invocations (1 M free) x $0.20/M")
    add("Lambda duration (arm64)", max(0.0, gb_s - 400_000) * price("lambda_arm_gb_s"),
        f"{gb_s:,.0f} GB-s (measured medians + 1 ms, manifest memory; 400 000 free) x $0.0000133334")
    wru = sum(op.per_100 * op.wru for op in MIX) * scale + events * EVENT_WRU + sum(
        n * DELIVERY_WRU[c] for c, n in messages.items())
    rru = sum(op.per_100 * op.rru for op in MIX) * scale
    add("DynamoDB writes (on-demand)", wru / 1e6 * price("ddb_wru_per_m"), f"{wru / 1e6:.2f} M WRU x "
        f"${price('ddb_wru_per_m')}/M")
    add("DynamoDB reads (on-demand)", rru / 1e6 * price("ddb_rru_per_m"), f"{rru / 1e6:.2f} M RRU x "
        f"${price('ddb_rru_per_m')}/M")
    add("DynamoDB storage + PITR", CATALOG_GB * (price("ddb_storage_gb") + price("ddb_pitr_gb")),
        f"{CATALOG_GB:g} GB x (${price('ddb_storage_gb')} + ${price('ddb_pitr_gb')}); stream reads by Lambda free")
    deliveries = sum(messages.values())
    add("SNS publishes", max(0.0, events - 1e6) / 1e6 * price("sns_publish_per_m"),
        f"{events / 1e6:.2f} M publishes (first 1 M free) x $0.50/M; deliveries to SQS free")
    queues = len(manifest.queue_consumers())
    sqs = deliveries * SQS_REQUESTS_PER_MESSAGE + queues * SQS_IDLE_POLL_PER_QUEUE
    add("SQS requests", max(0.0, sqs - 1e6) / 1e6 * price("sqs_req_per_m"), f"{sqs / 1e6:.2f} M requests (send, "
        f"receive, delete; idle long polls of {queues} queue(s); first 1 M free) x $0.40/M")
    emails = sum(op.per_100 * op.emails for op in MIX) * scale
    add("SES e-mail", emails / 1000 * price("ses_per_1000"), f"{emails:,.0f} e-mails x $0.10/1000")
    ecpu = sum(op.per_100 * op.ecpu for op in MIX) * scale + events * 2
    add("ElastiCache Serverless (Valkey)", 0.1 * HOURS * price("valkey_gb_hour") + ecpu / 1e6 * price(
        "valkey_ecpu_per_m"), f"100 MB minimum x {HOURS} h x ${price('valkey_gb_hour')}/GB-h + {ecpu / 1e6:.1f} M "
        f"ECPU x ${price('valkey_ecpu_per_m')}/M")
    vpc_share = sum(op.per_100 for op in MIX if manifest.BY_NAME.get(op.function) and
                    "cache" in [g.value for g in manifest.get(op.function).grants]) / 100
    endpoint_gb = requests * vpc_share * 0.2 * BODY_KB / 1e6  # ~20% of in-VPC requests call Secrets Manager/X-Ray
    add("VPC interface endpoints", 2 * cfg.max_azs * HOURS * price("endpoint_az_hour") + endpoint_gb * price(
        "endpoint_gb"), f"2 endpoints (Secrets Manager, X-Ray) x {cfg.max_azs} AZs x {HOURS} h x $0.01 + "
        f"{endpoint_gb:.1f} GB x $0.01")
    log_gb = (sum(invocations.get(n, 0) * f["log_bytes_per_invocation"] for n, f in fns.items())
              + requests * measured["access_log_bytes_per_request"]) / 1e9
    flow_gb = 0.5 if cfg.flow_log_traffic.name == "ALL" else 0.05
    months_kept = cfg.log_retention_days / 30
    stored = log_gb * LOG_COMPRESSION * months_kept
    add("CloudWatch Logs", max(0.0, log_gb - 5) * price("logs_ingest_gb") + flow_gb * price("vended_logs_gb")
        + stored * price("logs_storage_gb"), f"{log_gb:.2f} GB ingested (measured bytes per invocation + access "
        f"log; 5 GB free) x $0.50 + {flow_gb:g} GB flow logs x $0.50 + {stored:.2f} GB stored "
        f"({cfg.log_retention_days} d, compressed) x $0.03")
    fns_n = len(manifest.FUNCTIONS)
    from bazaar import resources

    dlqs_per_queue = 2 if hasattr(resources, "delivery_dlq_name") else 1  # + the subscription's delivery DLQ
    alarms = (fns_n + 1 + queues * dlqs_per_queue + len(manifest.stream_consumers()) * 2 + 3
              + (1 if cfg.alarm_emails or cfg.require_alarm_recipient else 0))  # the delivery DLQ's alarm
    metrics = 3 + fns_n  # metric filters + Powertools' ServerErrors-style EMF metrics (one per function)
    add("CloudWatch alarms, metrics, dashboard", max(0, alarms - 10) * price("alarm_month")
        + max(0, metrics - 10) * price("metric_month"), f"{alarms} alarms (10 free) x $0.10 + {metrics} custom "
        f"metrics (10 free) x $0.30 + 1 dashboard (3 free)")
    kms_requests = 50_000 + requests * 0.001  # data-key caching in DynamoDB, SNS, Logs; cold-start secret reads
    add("KMS", price("kms_key_month") + max(0.0, kms_requests - 20_000) / 10_000 * price("kms_per_10k"),
        f"1 CMK x $1 + {kms_requests:,.0f} requests (20 k free) x $0.03/10k")
    add("Secrets Manager", 2 * price("secret_month") + requests * 0.001 / 10_000 * price("secret_per_10k"),
        "2 secrets x $0.40 + reads at cold starts")
    traces = requests * XRAY_SAMPLED[requests]
    add("X-Ray (active tracing, default sampling)", max(0.0, traces - 100_000) / 1e6 * price("xray_per_m"),
        f"{traces / 1e6:.2f} M traces (100 k free) x $5/M")
    return lines


def render(measured: dict[str, Any]) -> str:
    load = measured.get("load_average")
    out = [f"Measured handler durations ({measured['rounds']} rounds of the mix on the local stack; load average "
           f"{'/'.join(map(str, load)) if load else 'not recorded'}; 2 cores):\n",
           "| function | memory MB | warm invocations | median ms | p90 ms | log bytes per invocation |",
           "|---|---:|---:|---:|---:|---:|"]
    for name, f in measured["functions"].items():
        out.append(f"| {name} | {f['memory_mb']} | {f['warm_invocations']} | {f['median_ms']} | {f['p90_ms']} | "
                   f"{f['log_bytes_per_invocation']} |")
    out.append(f"\nAccess-log line: {measured['access_log_bytes_per_request']} bytes per request. Functions of the "
               f"mix without a measurement use update_product's median.\n")
    for stage in ("dev", "staging", "prod"):
        small, big = stage_lines(stage, 1_000_000, measured), stage_lines(stage, 100_000_000, measured)
        out.append(f"### {stage}\n\n| line | 1 M requests / month | 100 M requests / month | how (at 100 M) |\n"
                   "|---|---:|---:|---|")
        for (what, a, _), (_, b, how) in zip(small, big):
            out.append(f"| {what} | ${a:,.2f} | ${b:,.2f} | {how} |")
        out.append(f"| **total** | **${sum(x[1] for x in small):,.2f}** | **${sum(x[1] for x in big):,.2f}** | |\n")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    print(render(durations(Path(args[0]) if args else Path("build/durations.json"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
