"""One Lambda per manifest entry: its own role, log group, code asset, environment and grants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from aws_cdk import Duration, aws_ec2 as ec2, aws_iam as iam, aws_lambda as lambda_, aws_logs as logs
from constructs import Construct

from bazaar import runtime
from bazaar.manifest import Function, Grant
from bazaar.resources import base_environment, function_name
from infra import assets, grants
from infra.config import StageConfig
from infra.nag import acknowledge

RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + runtime.LAMBDA_PYTHON_VERSION.replace(".", "_"))
ARCHITECTURE = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}[
    runtime.LAMBDA_ARCHITECTURE]

# Lambda creates and deletes the function's ENIs with the execution role; these EC2 calls do not support
# resource-level permissions (AWSLambdaVPCAccessExecutionRole grants the same on "*").
ENI_ACTIONS = ("ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
               "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses")
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")


@dataclass(frozen=True)
class Network:
    """Where functions with the CACHE grant run: isolated subnets, behind the functions' security group."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup


class BazaarFunction(Construct):
    def __init__(self, scope: Construct, id: str, *, spec: Function, cfg: StageConfig,
                 layers: Sequence[lambda_.ILayerVersion], targets: grants.GrantTargets,
                 network: Optional[Network]) -> None:
        super().__init__(scope, id)
        self.spec = spec
        name = function_name(cfg.stage, spec)
        # Under the data key: the audit records live here (CloudWatch Logs encrypts; the role needs no key grant).
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/lambda/{name}",
                                       retention=cfg.log_retention, encryption_key=targets.key,
                                       removal_policy=cfg.removal_policy)
        # Our own role, not the CDK default: no AWS managed policies, logs limited to this log group.
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description=f"Bazaar {cfg.stage} {spec.name}: grants {[g.value for g in spec.grants]}")
        self.role.add_to_policy(iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                                    resources=[self.log_group.log_group_arn]))
        for statement in grants.statements(spec, targets):
            self.role.add_to_policy(statement)

        in_vpc = Grant.CACHE in spec.grants
        if in_vpc and network is None:
            raise ValueError(f"{spec.name} has the cache grant but no network was given")
        wildcard_reasons = []
        if in_vpc:
            self.role.add_to_policy(iam.PolicyStatement(actions=list(ENI_ACTIONS), resources=["*"]))
            wildcard_reasons.append("EC2 ENI actions for VPC placement do not support resource-level permissions")
        if cfg.tracing.active:
            wildcard_reasons.append("X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level "
                                    "permissions")

        self.function = lambda_.Function(
            self, "Function",
            function_name=name,
            description=spec.description[:256],
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(assets.function_code(spec))),
            layers=list(layers),
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            environment={**base_environment(cfg.stage, spec, log_level=cfg.log_level,
                                            sdk_tracing=cfg.tracing.in_process),
                         **grants.environment(spec, targets)},
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            # With JSON logging Lambda filters by its own level (and Powertools defers to it): keep them equal.
            application_log_level_v2=lambda_.ApplicationLogLevel[cfg.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.INFO,
            tracing=lambda_.Tracing.ACTIVE if cfg.tracing.active else lambda_.Tracing.DISABLED,
            reserved_concurrent_executions=cfg.reserved_concurrency,
            vpc=network.vpc if in_vpc and network else None,
            vpc_subnets=network.subnets if in_vpc and network else None,
            security_groups=[network.security_group] if in_vpc and network else None,
        )
        if wildcard_reasons:
            acknowledge(self.role, "AwsSolutions-IAM5", "; ".join(wildcard_reasons), "Resource::*")
        acknowledge(self.function, "AwsSolutions-L1", f"python{runtime.LAMBDA_PYTHON_VERSION} on purpose: the "
                    "assets ship bytecode compiled by that interpreter version (bazaar.runtime, layers/bytecode.py)")
