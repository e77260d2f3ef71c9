"""`npx cdk synth` works offline: no AWS credentials, no lookups, no Docker."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import TEST_ALARM_EMAILS, TIMINGS

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]


def test_cdk_synth_prod_offline(tmp_path: Path) -> None:
    assert (ROOT / "node_modules" / ".bin" / "cdk").exists(), "CDK CLI not installed: `make test` bootstraps it"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # no credentials, no endpoint
    env.update(CDK_DISABLE_CLI_TELEMETRY="true", JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
               JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION="1", AWS_EC2_METADATA_DISABLED="true")
    start = time.perf_counter()
    proc = subprocess.run([shutil.which("npx") or "npx", "cdk", "synth", "-c", "stage=prod", "-c",
                           f"alarmEmails={TEST_ALARM_EMAILS}", "--no-notices", "-q",
                           "-o", str(tmp_path / "cdk.out")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    seconds = time.perf_counter() - start
    TIMINGS["npx cdk synth -c stage=prod (offline)"] = seconds
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "cdk.out").glob("*.template.json")) == [
        "Bazaar-prod-Stateful.template.json", "Bazaar-prod-Stateless.template.json"]
