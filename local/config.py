"""Constants and paths of the local stack. One place, so the CLI, the stack and the tests agree."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from local import REPO_ROOT, SHARED_DIR

STAGE = "local"
REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"  # moto's default account
DEFAULT_PORT = 3000
# Dummy credentials: moto accepts anything; real ones must never reach a local child process.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
FUNCTIONS_DIR = REPO_ROOT / "functions"
LOCAL_DIR_ENV = "BAZAAR_LOCAL_DIR"  # tests run several stacks side by side, each in its own directory
# Dev/test knob: seconds before a message a consumer failed becomes visible again. Unset = the queue's
# visibility timeout, exactly as on AWS (6 x the function timeout: a minute with the defaults).
RETRY_VISIBILITY_ENV = "BAZAAR_LOCAL_RETRY_VISIBILITY_S"
MAX_WORKERS_ENV = "BAZAAR_LOCAL_MAX_WORKERS"
# The functions' application log level, as a stage's ``log_level`` sets it in AWS (the dev stage: DEBUG).
LOG_LEVEL_ENV = "BAZAAR_LOCAL_LOG_LEVEL"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def log_level() -> str:
    level = (os.environ.get(LOG_LEVEL_ENV) or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"{LOG_LEVEL_ENV} must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    return level
# Test knob (fault injection): JSON {"<function>": {"VAR": "value"}} laid over those functions' environments, e.g.
# one function's CACHE_URL pointed at a proxy the test can pause. Unset in normal use.
FUNCTION_ENV_ENV = "BAZAAR_LOCAL_FUNCTION_ENV"
DEFAULT_MAX_WORKERS = 4  # execution environments per function (AWS: up to the account's concurrency)
CONCURRENCY_ENV = "BAZAAR_LOCAL_CONCURRENCY"
DEFAULT_CONCURRENCY = 1000  # Lambda's default account concurrency per Region: invokes in flight beyond it throttle
SHUTDOWN_BUDGET_S = 5.0  # contract §1


@dataclass(frozen=True)
class Paths:
    """Everything the stack writes lives under one directory (default ``.local`` in the repo)."""

    root: Path

    @classmethod
    def from_env(cls) -> "Paths":
        return cls(Path(os.environ.get(LOCAL_DIR_ENV) or REPO_ROOT / ".local").resolve())

    @property
    def stack_json(self) -> Path:
        return self.root / "stack.json"

    @property
    def logs(self) -> Path:
        """Function logs only (JSON lines, contract §1)."""
        return self.root / "logs"

    @property
    def services(self) -> Path:
        """moto's and Valkey's own output: not JSON, so kept out of ``logs/``."""
        return self.root / "services"

    @property
    def code(self) -> Path:
        """Per-function code directories (Lambda's /var/task), made of symlinks into ``functions/``."""
        return self.root / "code"

    def function_log(self, name: str) -> Path:
        return self.logs / f"{name}.log"


def function_env_overrides() -> dict[str, dict[str, str]]:
    """``BAZAAR_LOCAL_FUNCTION_ENV`` parsed; a malformed value is an error at start-up, not a silent no-op."""
    import json

    raw = os.environ.get(FUNCTION_ENV_ENV)
    if not raw:
        return {}
    value = json.loads(raw)
    if not (isinstance(value, dict) and all(isinstance(v, dict) and all(isinstance(x, str) for x in v.values())
                                            for v in value.values())):
        raise ValueError(f"{FUNCTION_ENV_ENV} must be a JSON object of objects of strings")
    return value


def physical_function_name(name: str) -> str:
    """The Lambda function name, as infra names it (``bazaar-local-get-product``)."""
    from bazaar.manifest import BY_NAME
    from bazaar.resources import function_name, resource_name

    fn = BY_NAME.get(name)
    return function_name(STAGE, fn) if fn else resource_name(STAGE, name.replace("_", "-"))


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{physical_function_name(name)}"


__all__ = ["REPO_ROOT", "SHARED_DIR", "FUNCTIONS_DIR", "Paths", "STAGE", "REGION", "ACCOUNT_ID"]
