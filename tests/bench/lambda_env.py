"""What a function's execution environment looks like on Lambda: its environment variables and its sys.path."""

from __future__ import annotations

import os
from pathlib import Path

from bazaar.manifest import GRANT_ENV, Function
from tests.bench.template import FunctionConfig

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"

# Dummy values for every grant variable: nothing is contacted at import time (a handler that does is a finding).
GRANT_VALUES: dict[str, str] = {
    "TABLE_NAME": "bench",
    "CACHE_URL": "redis://127.0.0.1:1/0",
    "EVENTS_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:bazaar-bench-events",
    "CURSOR_KEY_SECRET_ID": "bazaar/bench/cursor-key",
    "WEBHOOK_SECRET_ID": "bazaar/bench/payment-webhook",
}


def grant_environment(fn: Function) -> dict[str, str]:
    """The function's grant variables (``GRANT_ENV``), with dummy values; an unknown new variable gets "bench"."""
    return {name: GRANT_VALUES.get(name, "bench") for name in fn.env_names}


def lambda_environment(config: FunctionConfig, fn: Function, code_dir: Path, home: Path) -> dict[str, str]:
    """The environment the template gives ``fn`` (tracing and logging as deployed), with dummy grant values and
    nothing of the caller's: for import-only measurements, where nothing may be contacted anyway.

    ``home`` is an empty directory: botocore must not find the developer's ``~/.aws`` files.
    """
    env = config.lambda_environment(grant_environment(fn), code_dir, home, "http://127.0.0.1:9", REGION)
    missing = {GRANT_ENV[g] for g in fn.grants} - env.keys()
    assert not missing, missing
    return env


def reference_environment(home: Path) -> dict[str, str]:
    """The environment of the baseline processes (bare interpreter, boto3): the same AWS basics, no function."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
    }
