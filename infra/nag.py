"""cdk-nag wiring: the AwsSolutions pack as a policy-validation plugin, and narrowly scoped acknowledgements."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_checks(app: App) -> None:
    # Validations plugin, not Aspects: cdk-nag 3 is a policy-validation plugin (Aspects.add fails with it).
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule: str, reason: str, *findings: str) -> None:
    """Acknowledge ``rule`` on ``scope`` (and its children) only; with ``findings``, only those finding ids,
    e.g. ``acknowledge(role, "AwsSolutions-IAM5", "...", "Resource::*")``."""
    if not reason.strip():
        raise ValueError(f"{rule}: an acknowledgement needs a reason")
    ids = [f"{rule}[{f}]" for f in findings] or [rule]
    Validations.of(scope).acknowledge(*(Acknowledgment(id=i, reason=reason) for i in ids))
