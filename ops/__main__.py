"""``python -m ops dlq [--stage S]`` (``make dlq``) and ``python -m ops redrive NAME [--stage S]``
(``make redrive NAME=...``). Without a stage, or with ``--stage local``, they act on the running local stack;
with ``dev``/``staging``/``prod``, on that stage in AWS with the caller's credentials."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional

from ops.dlq import Target, consumers, render


def _target(stage: Optional[str]) -> Target:
    if stage in (None, "", "local"):
        from local.config import Paths

        path = Paths.from_env().stack_json
        try:
            stack = json.loads(path.read_text())
        except FileNotFoundError:
            raise SystemExit(f"error: no {path}: the local stack is not running (start it with `make run`), "
                             f"or give STAGE=dev|staging|prod") from None
        return Target.local(stack)
    return Target.aws(stage)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    dlq = sub.add_parser("dlq", help="every DLQ with its depth and oldest message age")
    dlq.add_argument("--stage", default=None)
    red = sub.add_parser("redrive", help="move a consumer's dead-lettered messages back")
    red.add_argument("consumer", choices=[fn.name for fn in consumers()], metavar="CONSUMER",
                     help=", ".join(fn.name for fn in consumers()))
    red.add_argument("--stage", default=None)
    args = parser.parse_args(argv)
    target = _target(args.stage)
    try:
        if args.command == "dlq":
            print(render(target.rows()))
        else:
            target.redrive(args.consumer)
    except Exception as exc:  # a clear line, not a traceback; messages moved so far stay moved
        print(f"error: {args.command} failed ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
