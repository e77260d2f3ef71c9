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
    """DLQ -> source queue by receive/send/delete (moto lacks StartMessageMoveTask, recipes §4)."""
    stack = read_stack()
    queues = stack.get("queues", {})
    if function not in queues:
        raise CommandError(f"{function!r} is not a queue consumer; choose one of: {', '.join(queues)}")
    from local.provision import client

    sqs = client("sqs", stack["aws_endpoint_url"])
    source, dlq = queues[function]["url"], queues[function]["dlq_url"]
    try:
        moved = _move_all(sqs, source, dlq)
    except Exception as exc:  # messages already moved stay moved: each is sent before it is deleted
        raise CommandError(f"redrive failed ({type(exc).__name__}); is the stack still running?") from None
    print(f"moved {moved} message(s) from {function}'s DLQ back to its queue")


def _move_all(sqs: Any, source: str, dlq: str) -> int:
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            break
        for m in messages:
            sqs.send_message(QueueUrl=source, MessageBody=m["Body"],
                             MessageAttributes=m.get("MessageAttributes") or {})
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    return moved
