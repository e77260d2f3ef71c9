#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth|deploy --all -c stage=dev|staging|prod`` (default dev)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT / "shared"), str(ROOT)]  # bazaar.manifest/resources/runtime (pure data) and infra

import aws_cdk as cdk  # noqa: E402

from infra.app import build, cdk_json_context  # noqa: E402
from infra.nag import add_checks  # noqa: E402


def main() -> None:
    app = cdk.App(context=cdk_json_context())
    stage = app.node.try_get_context("stage") or "dev"
    ctx = app.node.try_get_context
    build(app, stage, account=ctx("account"), region=ctx("region"), alarm_emails=ctx("alarmEmails"))
    add_checks(app)
    app.synth()


if __name__ == "__main__":
    main()
