"""What differs between stages: data retention/protection, log retention, throttling."""

from __future__ import annotations

import pytest

from infra.config import STAGES, stage_config

from .conftest import Synth

pytestmark = pytest.mark.infra

DATA_TYPES = ("AWS::DynamoDB::GlobalTable", "AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::Cognito::UserPool")


def test_prod_retains_and_protects_data(prod: Synth) -> None:
    for type_ in DATA_TYPES:
        for lid, r in prod.resources(type_, "stateful").items():
            assert (r["DeletionPolicy"], r["UpdateReplacePolicy"]) == ("Retain", "Retain"), lid
    _, table = prod.one("AWS::DynamoDB::GlobalTable")
    assert table["Properties"]["Replicas"][0]["DeletionProtectionEnabled"] is True
    _, pool = prod.one("AWS::Cognito::UserPool")
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"


def test_dev_can_be_torn_down(dev: Synth) -> None:
    for type_ in DATA_TYPES:
        for lid, r in dev.resources(type_, "stateful").items():
            assert r["DeletionPolicy"] == "Delete", lid
    _, table = dev.one("AWS::DynamoDB::GlobalTable")
    assert table["Properties"]["Replicas"][0]["DeletionProtectionEnabled"] is False
    _, pool = dev.one("AWS::Cognito::UserPool")
    assert pool["Properties"]["DeletionProtection"] == "INACTIVE"


def test_prod_keeps_logs_longer_and_allows_more_traffic(dev: Synth, prod: Synth) -> None:
    def retention(s: Synth) -> set[int]:
        return {g["Properties"]["RetentionInDays"] for g in s.resources("AWS::Logs::LogGroup").values()}

    assert retention(dev) == {stage_config("dev").log_retention_days}
    assert retention(prod) == {stage_config("prod").log_retention_days}
    assert min(retention(prod)) > max(retention(dev))
    throttle = lambda s: s.one("AWS::ApiGatewayV2::Stage")[1]["Properties"]["DefaultRouteSettings"]  # noqa: E731
    assert throttle(prod)["ThrottlingRateLimit"] > throttle(dev)["ThrottlingRateLimit"]


def test_every_stage_has_pitr_tracing_and_access_logs() -> None:
    for cfg in STAGES.values():
        assert cfg.point_in_time_recovery and cfg.tracing.active and cfg.access_logs, cfg.stage


def test_stacks_are_tagged(synth: Synth) -> None:
    for lid, fn in synth.resources("AWS::Lambda::Function", "stateless").items():
        tags = {t["Key"]: t["Value"] for t in fn["Properties"]["Tags"]}
        assert tags == {"project": "bazaar", "stage": synth.stage}, lid
