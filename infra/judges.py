"""Waivers for the outside judges of the synthesized templates: cfn-lint (with the serverless rules) and checkov.

What they flag and is real gets fixed in the stacks (log groups under the CMK, a DLQ for every SNS
subscription, ...). What does not apply here is waived **in this table only**: each waiver names its rules, its
reason and which resources it covers (a predicate over the template, never a list of logical ids), and
``waive(stack)`` writes it into each covered resource's own ``Metadata``, in the form each judge reads:

- checkov: ``Metadata.checkov.skip: [{id, comment}]`` (the comment is the reason);
- cfn-lint: ``Metadata.cfn-lint.config.ignore_checks: [id]``;
- both: ``Metadata.bazaar:waivers: {id: reason}``, so the template itself says why.

A few cfn-lint findings are about CDK's code generation, not about a resource (``Fn::Join`` with an empty
delimiter, explicit ``DependsOn``): those are waived for the whole template (``TEMPLATE_WAIVERS``).
``tests/infra/test_judges.py`` runs both judges on every stage and checks that every waiver is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import jsii
from aws_cdk import Aspects, CfnResource, IAspect, Stack, aws_iam as iam, aws_lambda as lambda_, aws_sns as sns, \
    aws_sqs as sqs
from constructs import IConstruct

from bazaar.manifest import Function
from infra.constructs.function import ENI_ACTIONS, XRAY_ACTIONS, BazaarFunction

WAIVERS_KEY = "bazaar:waivers"


class Template:
    """What a predicate may ask about a resource: its construct, its owner in the manifest, its relations."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._dead_letter_targets: Optional[frozenset[str]] = None

    def spec(self, resource: CfnResource) -> Optional[Function]:
        """The manifest entry of the Bazaar function that owns ``resource``, if any."""
        owner = next((s for s in reversed(resource.node.scopes) if isinstance(s, BazaarFunction)), None)
        return owner.spec if owner else None

    @staticmethod
    def _target(value: Any) -> Optional[str]:
        """The logical id in ``{"Fn::GetAtt": [id, "Arn"]}``."""
        if isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), list):
            return value["Fn::GetAtt"][0]
        return None

    @property
    def dead_letter_targets(self) -> frozenset[str]:
        """Logical ids of the queues that some queue, subscription or event source uses as its dead-letter
        target: they are the last stop, so a redrive policy of their own makes no sense."""
        if self._dead_letter_targets is None:
            found = set()
            for c in self.stack.node.find_all():
                if isinstance(c, (sqs.CfnQueue, sns.CfnSubscription)):
                    found.add(self._target((self.resolve(c.redrive_policy) or {}).get("deadLetterTargetArn")))
                elif isinstance(c, lambda_.CfnEventSourceMapping):
                    on_failure = (self.resolve(c.destination_config) or {}).get("onFailure") or {}
                    found.add(self._target(on_failure.get("destination")))
            self._dead_letter_targets = frozenset(f for f in found if f)
        return self._dead_letter_targets

    def logical_id(self, resource: CfnResource) -> str:
        return self.stack.resolve(self.stack.get_logical_id(resource))

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)


# --- predicates ------------------------------------------------------------------------------------------------
Predicate = Callable[[CfnResource, Template], bool]


def _function(r: CfnResource, t: Template) -> Optional[Function]:
    return t.spec(r) if isinstance(r, lambda_.CfnFunction) else None


def api_function(r: CfnResource, t: Template) -> bool:
    spec = _function(r, t)
    return bool(spec and spec.route)


def queue_consumer(r: CfnResource, t: Template) -> bool:
    spec = _function(r, t)
    return bool(spec and spec.queue)


def stream_consumer(r: CfnResource, t: Template) -> bool:
    spec = _function(r, t)
    return bool(spec and spec.stream)


def bazaar_function(r: CfnResource, t: Template) -> bool:
    return _function(r, t) is not None


def unreserved(pred: Predicate) -> Predicate:
    """``pred``, for functions without reserved concurrency (with it, the judge has nothing to flag)."""
    return lambda r, t: pred(r, t) and getattr(r, "reserved_concurrent_executions", None) is None


def outside_vpc(r: CfnResource, t: Template) -> bool:
    return bazaar_function(r, t) and getattr(r, "vpc_config", None) is None


def cdk_provider_function(r: CfnResource, t: Template) -> bool:
    """A Lambda that CDK itself adds to run a custom resource at deploy time (e.g. the VPC's
    restrictDefaultSecurityGroup provider): not ours to configure, invoked only by CloudFormation."""
    return r.cfn_resource_type == "AWS::Lambda::Function" and any(
        s.node.id.startswith("Custom::") for s in r.node.scopes)


def sqs_managed_encryption(r: CfnResource, t: Template) -> bool:
    return isinstance(r, sqs.CfnQueue) and r.sqs_managed_sse_enabled is True and r.kms_master_key_id is None


def dead_letter_queue(r: CfnResource, t: Template) -> bool:
    return isinstance(r, sqs.CfnQueue) and t.logical_id(r) in t.dead_letter_targets


def sqs_event_source(r: CfnResource, t: Template) -> bool:
    """An event source mapping reading an SQS queue (stream mappings have a starting position)."""
    return isinstance(r, lambda_.CfnEventSourceMapping) and r.starting_position is None


def vpc_placement_policy(r: CfnResource, t: Template) -> bool:
    """A function policy whose only statements on ``"*"`` are Lambda's ENI actions (VPC placement) and X-Ray."""
    if not isinstance(r, iam.CfnPolicy):
        return False
    statements = (t.resolve(r.policy_document) or {}).get("Statement", [])
    wild = [s for s in statements if s.get("Resource") in ("*", ["*"])]
    actions = {a for s in wild for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    return bool(actions & set(ENI_ACTIONS)) and actions <= set(ENI_ACTIONS) | set(XRAY_ACTIONS)


# --- the table -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Waiver:
    rules: tuple[str, ...]  # checkov ids (CKV_...) and cfn-lint ids (E/W/I..., ES/WS... for the serverless rules)
    reason: str
    applies: Predicate
    name: str  # what the predicate selects, for reports and tests


WAIVERS: tuple[Waiver, ...] = (
    # Lambda dead-letter queues (CKV_AWS_116) catch failed *asynchronous* invocations only.
    Waiver(("CKV_AWS_116",), "Invoked synchronously by API Gateway: the caller receives the error; a Lambda DLQ "
           "only receives failed asynchronous invocations", api_function, "API functions"),
    Waiver(("CKV_AWS_116",), "Invoked synchronously by its SQS event source mapping: a failed message returns to the "
           "queue and moves to the queue's own DLQ after maxReceiveCount (RedrivePolicy)", queue_consumer,
           "SQS consumers"),
    Waiver(("CKV_AWS_116",), "Invoked synchronously by its DynamoDB stream mapping: a failed batch goes to the "
           "mapping's on-failure SQS destination (its DLQ)", stream_consumer, "stream consumers"),
    Waiver(("CKV_AWS_116", "CKV_AWS_115", "CKV_AWS_117", "WS1000", "WS1004"),
           "CDK's own custom-resource provider, run by CloudFormation during deployments only: a failure fails the "
           "deployment; no traffic, no data, no private resource to reach; its log group is created by Lambda "
           "(the function name is generated, so no log group can be declared for it)",
           cdk_provider_function, "CDK provider functions"),
    # Reserved concurrency (CKV_AWS_115).
    Waiver(("CKV_AWS_115",), "Bounded by the HTTP API stage throttle (rate and burst per stage, infra/config.py), "
           "which answers 429; a per-function reservation would carve up the account's concurrency and turn a "
           "burst into throttled invocations, which API Gateway answers with a 5xx",
           unreserved(api_function), "API functions"),
    Waiver(("CKV_AWS_115",), "Bounded by its SQS event source's maximum concurrency (ScalingConfig, "
           "consumer_max_concurrency in infra/config.py), the control AWS recommends for SQS: reserved concurrency "
           "makes the poller's invocations throttle and spends receive attempts toward the DLQ",
           unreserved(queue_consumer), "SQS consumers"),
    Waiver(("CKV_AWS_115",), "Bounded by the table stream: one concurrent batch per shard (ParallelizationFactor 1)",
           unreserved(stream_consumer), "stream consumers"),
    # VPC placement (CKV_AWS_117).
    Waiver(("CKV_AWS_117",), "Reaches only AWS APIs (DynamoDB, SNS, Secrets Manager) over TLS with IAM-signed "
           "requests and no private resource: only the cache's users run in the VPC, where the cache is; VPC "
           "placement would add ENIs to cold starts and interface endpoints to the bill for no data path",
           outside_vpc, "functions without the cache grant"),
    # Environment encryption with a CMK (CKV_AWS_173).
    Waiver(("CKV_AWS_173",), "The environment holds resource names, ARNs, secret ids and the cache endpoint, never a "
           "secret (secret values are read from Secrets Manager, under the CMK, at run time; tests/infra/"
           "test_judges.py checks the variable names); Lambda encrypts it at rest with its service key",
           bazaar_function, "Bazaar functions"),
    # IAM statements on "*" (CKV_AWS_111).
    Waiver(("CKV_AWS_111",), "Its only statements on \"*\" are the network-interface actions Lambda performs with "
           "the execution role to place the function in the VPC, granted on \"*\" as in AWS's managed "
           "AWSLambdaVPCAccessExecutionRole (a narrower scope cannot be proven offline, and a wrong one strands "
           "ENIs), and X-Ray telemetry; every other statement names its resources (tests/infra/test_iam.py)",
           vpc_placement_policy, "in-VPC function policies"),
    # Queue encryption (CKV_AWS_27 only recognizes KmsMasterKeyId).
    Waiver(("CKV_AWS_27",), "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled: true), which the check does not "
           "recognize; SNS and Lambda need no key grants for it, and it carries only event envelopes",
           sqs_managed_encryption, "SSE-SQS queues"),
    # Dead-letter plumbing, as the serverless rules see it.
    Waiver(("ES6000",), "This queue is itself a dead-letter target: the last stop, watched by an alarm and "
           "redriven by hand (docs/operations.md); a DLQ of its own would only hide messages further away",
           dead_letter_queue, "dead-letter queues"),
    Waiver(("ES1001",), "Lambda supports on-failure destinations only for stream and Kafka sources; a failed SQS "
           "message moves to the queue's DLQ through the queue's RedrivePolicy", sqs_event_source,
           "SQS event source mappings"),
)

# cfn-lint findings about CDK's generated template text rather than about any resource.
TEMPLATE_WAIVERS: dict[str, str] = {
    "I1022": "CDK renders token concatenation as Fn::Join with an empty delimiter; the template is generated, "
             "never edited by hand",
    "W3005": "CDK adds an explicit DependsOn on a function's role and policy (so the policy exists before the "
             "function runs), beside the implicit one of Fn::GetAtt",
}


def is_checkov(rule: str) -> bool:
    return rule.startswith("CKV")


def waivers_for(resource: CfnResource, template: Template) -> Iterator[tuple[str, str]]:
    """(rule, reason) of every waiver that covers ``resource``."""
    for w in WAIVERS:
        if w.applies(resource, template):
            for rule in w.rules:
                yield rule, w.reason


def _write(resource: CfnResource, waived: dict[str, str]) -> None:
    checkov = [{"id": r, "comment": why} for r, why in waived.items() if is_checkov(r)]
    cfn_lint = [r for r in waived if not is_checkov(r)]
    if checkov:
        resource.add_metadata("checkov", {"skip": checkov})
    if cfn_lint:
        resource.add_metadata("cfn-lint", {"config": {"ignore_checks": cfn_lint}})
    resource.add_metadata(WAIVERS_KEY, dict(waived))


@jsii.implements(IAspect)
class _Waive:
    """Runs when the app is prepared for synthesis, so resources CDK adds late are covered too."""

    def __init__(self, stack: Stack) -> None:
        self.template = Template(stack)

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, CfnResource):
            waived: dict[str, str] = {}
            for rule, reason in waivers_for(node, self.template):
                waived.setdefault(rule, reason)
            if waived:
                _write(node, waived)


def waive(stack: Stack) -> None:
    """Write every waiver that applies into ``stack``'s resources, and the template-wide ones into its Metadata."""
    Aspects.of(stack).add(_Waive(stack))
    stack.template_options.metadata = {
        "cfn-lint": {"config": {"ignore_checks": sorted(TEMPLATE_WAIVERS)}},
        WAIVERS_KEY: dict(TEMPLATE_WAIVERS),
    }
