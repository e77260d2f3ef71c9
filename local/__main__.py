"""``python -m local run | token <user> | redrive <function> | audit [filters] | mail | faults ... |
webhook <order> <type>`` (``make run``, ``make token USER=...``, ``make audit ...``, ``make mail``)."""

from __future__ import annotations

import argparse
import os
import sys

from local.config import DEFAULT_PORT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description="Bazaar's local stack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole stack in the foreground (PORT env var, default 3000)")
    run.add_argument("--port", type=int, default=None)
    tok = sub.add_parser("token", help="print an access token of a seeded user")
    tok.add_argument("username", nargs="?", default="")
    red = sub.add_parser("redrive", help="move a consumer's DLQ messages back (same as make redrive)")
    red.add_argument("function")
    sub.add_parser("mail", help="list the e-mail the local SES sent: time, to, subject")
    flt = sub.add_parser("faults", help="change fault injection of the running stack (docs/local.md)")
    flt.add_argument("--tx-conflict-rate", type=float, help="0..1: transactions cancelled with TransactionConflict")
    flt.add_argument("--tx-throttle-rate", type=float, help="0..1: transactions cancelled with ThrottlingError")
    flt.add_argument("--sns-outage", choices=("on", "off"), help="SNS publishing fails while on")
    flt.add_argument("--reset", action="store_true", help="back to the settings the stack started with")
    hook = sub.add_parser("webhook", help="send a signed payment webhook, as the payment provider would")
    hook.add_argument("order_id")
    hook.add_argument("type", choices=("payment.succeeded", "payment.failed"))
    hook.add_argument("--event-id", default=None, help="default: a new one")
    aud = sub.add_parser("audit", help="who did what, when: audit records and authorizer refusals in .local/logs")
    aud.add_argument("--actor", help="a seeded username or a token sub")
    aud.add_argument("--action", help="function name, glob allowed (e.g. '*_product')")
    aud.add_argument("--resource", help="resource path, glob allowed (e.g. '/products/*')")
    aud.add_argument("--outcome", help="success | denied | rejected | error")
    aud.add_argument("--since", help="15m, 2h, 1d (ago) or an RFC 3339 time")
    aud.add_argument("--until", help="15m, 2h, 1d (ago) or an RFC 3339 time")
    aud.add_argument("--limit", type=int, default=200, help="show the latest N matches (0: all; default 200)")
    aud.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)

    if args.command == "run":
        from local.stack import run as run_stack

        port = args.port or int(os.environ.get("PORT") or DEFAULT_PORT)
        code = run_stack(port)
        # Every child is already stopped; skip interpreter teardown (module finalisation, idle thread joins),
        # which took longer than the whole clean-up.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if args.command == "token":
        from local.cli import token

        return token(args.username)
    if args.command == "mail":
        from local.cli import mail

        return mail()
    if args.command == "faults":
        from local.cli import faults

        chosen = {"tx_conflict_rate": args.tx_conflict_rate, "tx_throttle_rate": args.tx_throttle_rate,
                  "sns_outage": None if args.sns_outage is None else args.sns_outage == "on"}
        return faults({**{k: v for k, v in chosen.items() if v is not None}, "reset": args.reset})
    if args.command == "webhook":
        import uuid

        from local.cli import webhook

        return webhook(args.order_id, args.type, args.event_id or f"evt_{uuid.uuid4().hex}")
    if args.command == "audit":
        from local.audit import audit

        return audit(args.actor, args.action, args.resource, args.outcome, args.since, args.until, args.json,
                     args.limit)
    from local.cli import redrive

    return redrive(args.function)


if __name__ == "__main__":
    sys.exit(main())
