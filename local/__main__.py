"""``python -m local run | token <user> | redrive <function>`` (``make run`` / ``make token USER=...``)."""

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
    red = sub.add_parser("redrive", help="move a queue consumer's DLQ messages back to its queue")
    red.add_argument("function")
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
    from local.cli import redrive

    return redrive(args.function)


if __name__ == "__main__":
    sys.exit(main())
