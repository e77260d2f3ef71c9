"""The small commands that talk to a running stack through ``.local/stack.json``."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

from local.config import Paths


class CommandError(RuntimeError):
    """A command that cannot do its job: printed as ``error: ...`` with exit code 1."""


def command(func: Callable[..., None]) -> Callable[..., int]:
    @functools.wraps(func)
    def run(*args: Any) -> int:
        try:
            func(*args)
        except CommandError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0

    return run


def read_stack() -> dict[str, Any]:
    path = Paths.from_env().stack_json
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CommandError(f"no {path}: the local stack is not running (start it with `make run`)") from None


def describe_users(users: list[tuple[str, str]]) -> str:
    """``alice, bob (customer); carol, dave (seller); erin (admin)``"""
    by_group: dict[str, list[str]] = {}
    for username, group in users:
        by_group.setdefault(group, []).append(username)
    return "; ".join(f"{', '.join(names)} ({group})" for group, names in by_group.items())


def _unknown_user(username: str, users: list[tuple[str, str]]) -> CommandError:
    example = users[0][0] if users else "alice"
    what = "no user given" if not username.strip() else f"unknown user {username!r}"
    return CommandError(f"{what}; the seeded users are {describe_users(users)} "
                        f"(e.g. make token USER={example})")


@command
def token(username: str) -> None:
    """Cognito InitiateAuth (USER_PASSWORD_AUTH) against the stack's moto; prints the access token."""
    from local.provision import SEED_USERS

    try:
        stack = read_stack()
    except CommandError:
        if username not in {name for name, _ in SEED_USERS}:  # name them even before the stack runs
            raise _unknown_user(username, list(SEED_USERS)) from None
        raise
    users = {u["username"]: u for u in stack["users"]}
    if username not in users:
        raise _unknown_user(username, [(u["username"], u["group"]) for u in stack["users"]])
    from local.provision import client

    idp = client("cognito-idp", stack["aws_endpoint_url"])
    try:
        auth = idp.initiate_auth(ClientId=stack["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": username, "PASSWORD": users[username]["password"]})
    except Exception as exc:
        raise CommandError(f"sign-in failed ({type(exc).__name__}); is the stack still running?") from None
    print(auth["AuthenticationResult"]["AccessToken"])


@command
def redrive(function: str) -> None:
    """A consumer's DLQ messages back (the same code as ``make redrive``: ops/dlq.py)."""
    from ops.dlq import Target

    target = Target.local(read_stack())
    try:
        target.redrive(function)
    except KeyError:
        names = sorted({d.consumer for d in target.dlqs})
        raise CommandError(f"{function!r} is not a consumer; choose one of: {', '.join(names)}") from None
    except Exception as exc:  # messages already moved stay moved: each is sent before it is deleted
        raise CommandError(f"redrive failed ({type(exc).__name__}); is the stack still running?") from None


@command
def mail() -> None:
    """What the local SES accepted: time, recipients and subject (never the body)."""
    from local.mailbox import read_sent

    stack = read_stack()
    sent = list(read_sent(Paths.from_env().root))
    if not sent:
        print(f"no e-mail sent yet (sender {stack.get('mail_sender', '?')})")
        return
    for m in sent:
        print(f"{m['time']}  {', '.join(m['to'])}  {m['subject']}")


@command
def faults(settings: dict[str, Any]) -> None:
    """Change the running stack's fault injection (local/faults.py); no settings: show them."""
    from local.faults import clear_settings, read_settings, read_stats, write_settings

    read_stack()
    root = Paths.from_env().root
    if settings.pop("reset", False):
        clear_settings(root)
    if settings:
        write_settings(root, **settings)
    overrides = read_settings(root)
    print(f"faults: {overrides or 'as the stack started (environment)'}; "
          f"injected so far: {read_stats(root) or 'nothing'}")


@command
def webhook(order_id: str, event_type: str, event_id: str) -> None:
    """Play the payment provider: send a signed webhook for an order (as ``pm_async`` orders wait for)."""
    import time
    import urllib.error
    import urllib.request

    from bazaar.domain.payments import signature_header

    stack = read_stack()
    body = json.dumps({"event_id": event_id, "type": event_type, "order_id": order_id}).encode()
    header = signature_header(stack["payment_webhook_secret"].encode(), int(time.time()), body)
    request = urllib.request.Request(f"{stack['api_url']}/payments/webhook", data=body, method="POST",
                                     headers={"content-type": "application/json", "bazaar-signature": header})
    from local.authorizer import http_opener  # http(s) only: never file: or ftp:

    try:
        with http_opener().open(request, timeout=30) as resp:
            print(resp.status, resp.read().decode())
    except urllib.error.HTTPError as err:
        raise CommandError(f"{err.code} {err.read().decode()}") from None
