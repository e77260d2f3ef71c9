"""Each function's configuration as the synthesized CloudFormation template gives it: handler, memory, environment,
tracing and logging. The bench runs every cold start in exactly that environment (tracing as deployed), with the
values a template only knows as tokens (table name, topic, cache URL, secret ids) replaced by local ones.

``synthesize(stage)`` runs ``app.py`` as ``cdk synth`` does (its own process: infra never mixes with handler code),
once per content of the inputs; ``function_configs(template)`` reads the functions out of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from bazaar.manifest import BY_NAME, FUNCTIONS, GRANT_ENV, Function
from bazaar.resources import base_environment, function_name
from bazaar.runtime import LAMBDA_PYTHON_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]
SYNTH_ROOT = REPO_ROOT / "build" / "bench" / "cdk.out"
_INPUTS = ("app.py", "cdk.json", "infra", "shared/bazaar", "functions", "layers/requirements.txt")
XRAY_DAEMON = "127.0.0.1:2000"  # nothing listens: segments are sent over UDP and dropped, as no daemon answers


class TemplateError(RuntimeError):
    pass


@dataclass(frozen=True)
class FunctionConfig:
    """What the template says about one function."""

    name: str
    handler: str
    physical_name: str
    memory_mb: int
    timeout_s: int
    environment: dict[str, Any]  # values are strings, or CloudFormation tokens for the grant variables
    tracing: str  # "Active", "PassThrough" or "" (no TracingConfig)
    log_format: str = "Text"
    log_level: str = ""
    source: str = "template"  # or "manifest" (built by the same code as the template, without synthesizing)
    extra: dict[str, Any] = field(default_factory=dict)

    def lambda_environment(self, grant_values: Mapping[str, str], code_dir: Path, home: Path,
                           endpoint_url: str, region: str) -> dict[str, str]:
        """The process environment Lambda would give this function, pointed at local services."""
        env: dict[str, str] = {}
        for name, value in self.environment.items():
            if isinstance(value, str):
                env[name] = value
            elif name in grant_values:  # a token (Ref, Fn::GetAtt, Fn::GetStackOutput): the local resource
                env[name] = grant_values[name]
            else:
                raise TemplateError(f"{self.name}: {name} is a token the bench cannot resolve: {value!r}")
        runtime = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "HOME": str(home),
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(code_dir),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{LAMBDA_PYTHON_VERSION}",
            "AWS_LAMBDA_FUNCTION_NAME": self.physical_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.physical_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "_HANDLER": self.handler,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            # Local services instead of AWS; no developer profile can leak in.
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
        }
        if self.log_format == "JSON":  # what Lambda sets for the JSON log format (Powertools reads the level)
            runtime.update(AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL=self.log_level or "INFO")
        if self.tracing == "Active":  # the X-Ray daemon address and context Lambda provides with active tracing
            host, port = XRAY_DAEMON.split(":")
            runtime.update(AWS_XRAY_DAEMON_ADDRESS=XRAY_DAEMON, _AWS_XRAY_DAEMON_ADDRESS=host,
                           _AWS_XRAY_DAEMON_PORT=port, AWS_XRAY_CONTEXT_MISSING="LOG_ERROR")
        return {**runtime, **env}


def trace_header() -> str:
    """A sampled ``_X_AMZN_TRACE_ID`` as Lambda sets it for each invocation of an actively traced function."""
    import secrets
    import time

    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=1"


def function_configs(template: Mapping[str, Any]) -> dict[str, FunctionConfig]:
    """Every manifest function found in a stateless-stack template, matched by its handler."""
    by_handler = {fn.handler: fn for fn in FUNCTIONS}
    out: dict[str, FunctionConfig] = {}
    for lid, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        p = resource["Properties"]
        fn = by_handler.get(p.get("Handler", ""))
        if fn is None:
            continue  # CDK's own helper functions (custom resources)
        logging = p.get("LoggingConfig") or {}
        physical = p.get("FunctionName")
        out[fn.name] = FunctionConfig(
            name=fn.name, handler=p["Handler"],
            physical_name=physical if isinstance(physical, str) else fn.name,
            memory_mb=int(p.get("MemorySize", 128)), timeout_s=int(p.get("Timeout", 3)),
            environment=dict((p.get("Environment") or {}).get("Variables") or {}),
            tracing=(p.get("TracingConfig") or {}).get("Mode", ""),
            log_format=logging.get("LogFormat", "Text"), log_level=logging.get("ApplicationLogLevel", ""),
            extra={"logical_id": lid},
        )
    missing = sorted(set(BY_NAME) - set(out))
    if missing:
        raise TemplateError(f"the template has no Lambda for {missing}")
    return out


def manifest_config(fn: Function, stage: str = "bench", log_level: str = "INFO", tracing: str = "Active",
                    sdk_tracing: bool = False) -> FunctionConfig:
    """A function's configuration built by the code the template is built from (bazaar.resources), without a
    synth: grant variables stay tokens, as in a template. For quick runs (the bench's own tests)."""
    env: dict[str, Any] = dict(base_environment(stage, fn, log_level=log_level, sdk_tracing=sdk_tracing))
    env.update({GRANT_ENV[g]: {"Ref": GRANT_ENV[g]} for g in fn.grants})
    return FunctionConfig(fn.name, fn.handler, function_name(stage, fn), fn.memory_mb, fn.timeout_s, env,
                          tracing, "JSON", log_level, source="manifest")


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    for rel in _INPUTS:
        root = REPO_ROOT / rel
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()
                                                      and "__pycache__" not in p.parts)
        for f in files:
            digest.update(f.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def synthesize(stage: str, python: str = sys.executable, timeout_s: float = 600) -> dict[str, Any]:
    """The stage's stateless template, synthesized by ``app.py`` (reused while its inputs are unchanged)."""
    outdir = SYNTH_ROOT / stage / _inputs_digest()
    template = outdir / f"Bazaar-{stage}-Stateless.template.json"
    if not template.is_file():
        if outdir.parent.is_dir():
            shutil.rmtree(outdir.parent)
        outdir.mkdir(parents=True)
        # Staging and prod need an alarm recipient to synthesize; it changes nothing the functions get.
        context = {"stage": stage, **({} if stage == "dev" else {"alarmEmails": "bench@ops.bazaar.test"})}
        env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context),
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
               "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1"}
        proc = subprocess.run([python, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout_s)
        if proc.returncode != 0 or not template.is_file():
            shutil.rmtree(outdir, ignore_errors=True)
            raise TemplateError(f"synth of stage {stage} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(template.read_text())


def stage_configs(stage: Optional[str]) -> dict[str, FunctionConfig]:
    """From the synthesized template of ``stage``; ``None``: from the manifest (no synth)."""
    if stage is None:
        return {fn.name: manifest_config(fn) for fn in FUNCTIONS}
    return function_configs(synthesize(stage))
