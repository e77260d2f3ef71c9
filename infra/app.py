"""Builds Bazaar's stacks for one stage into a CDK app (used by ``app.py`` and the infra tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from aws_cdk import App, Environment, Tags

from infra import judges
from infra.config import StageConfig, stage_config
from infra.stacks.stateful import StatefulStack
from infra.stacks.stateless import StatelessStack


CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (feature flags), so `python app.py` and the tests synthesize what `cdk synth` does;
    context given by the CLI (`-c ...`) still overrides it."""
    return dict(json.loads(CDK_JSON.read_text())["context"])


@dataclass(frozen=True)
class BazaarStacks:
    cfg: StageConfig
    stateful: StatefulStack
    stateless: StatelessStack


def build(app: App, stage: str, account: Optional[str] = None, region: Optional[str] = None,
          alarm_emails: Any = None) -> BazaarStacks:
    """Stacks with a fixed region (the stage's, unless given) and, unless pinned, no account: the deploying
    credentials choose it. With the account unresolved, CDK uses ``Fn::GetAZs`` instead of context lookups, so
    synth needs no AWS access. Pin ``account`` (``-c account=...``) to guard what a stage deploys into.
    ``alarm_emails`` (``-c alarmEmails=...``) replaces the stage's alarm recipients."""
    cfg = stage_config(stage, alarm_emails=alarm_emails)
    env = Environment(account=account, region=region or cfg.region)
    stateful = StatefulStack(app, f"Bazaar-{stage}-Stateful", cfg=cfg, env=env)
    stateless = StatelessStack(app, f"Bazaar-{stage}-Stateless", cfg=cfg, data=stateful, env=env)
    stateless.add_stack_dependency(stateful, "API and functions use the table, key, secrets, pool, VPC and cache")
    for stack in (stateful, stateless):
        Tags.of(stack).add("project", "bazaar")
        Tags.of(stack).add("stage", stage)
        judges.waive(stack)
    return BazaarStacks(cfg, stateful, stateless)
