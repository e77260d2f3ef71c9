"""cdk-nag AwsSolutions: no unacknowledged finding in any stage; every acknowledgement is narrow and explained."""

from __future__ import annotations

import pytest

from .conftest import Synth

pytestmark = pytest.mark.infra

# Rules we accept to acknowledge at all (anything else must be fixed, not suppressed).
ACKNOWLEDGEABLE = {"AwsSolutions-APIG4", "AwsSolutions-COG2", "AwsSolutions-COG8", "AwsSolutions-IAM5", "AwsSolutions-L1",
                   "AwsSolutions-SMG4", "AwsSolutions-SQS3"}


def test_no_unacknowledged_findings(synth: Synth) -> None:
    assert synth.nag_findings() == []
    assert synth.error == ""


def test_every_acknowledgement_is_scoped_and_has_a_reason(synth: Synth) -> None:
    acks = synth.acknowledgements()
    assert all(reason.strip() for _, _, reason in acks)  # CDK's own (e.g. CloudFormation-Validate::W3010) too
    ours = [a for a in acks if "AwsSolutions-" in a[1]]
    assert ours
    for path, rule, reason in ours:
        assert len(reason.strip()) >= 20, (path, rule)
        base = rule.removeprefix("Annotation::").split("[")[0]
        assert base in ACKNOWLEDGEABLE, (path, rule)
        assert path.count("/") >= 2, f"{rule} acknowledged on a whole stack: {path}"
        if base == "AwsSolutions-IAM5":
            assert rule.endswith("[Resource::*]"), rule  # only the allow-listed "*" resources
