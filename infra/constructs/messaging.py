"""Event plumbing of the consumers: a queue + DLQ per queue consumer, a DLQ + filtered stream mapping per
stream consumer. Names, filters and limits come from the manifest and ``bazaar.resources``."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, aws_dynamodb as dynamodb, aws_lambda as lambda_, aws_sns as sns, \
    aws_sns_subscriptions as subs, aws_sqs as sqs
from aws_cdk.aws_lambda_event_sources import DynamoEventSource, SqsDlq, SqsEventSource
from constructs import Construct

from bazaar import resources
from bazaar.manifest import Function
from infra.nag import acknowledge

_START = {"TRIM_HORIZON": lambda_.StartingPosition.TRIM_HORIZON, "LATEST": lambda_.StartingPosition.LATEST}


def _window(seconds: int) -> Duration | None:
    return Duration.seconds(seconds) if seconds else None


def dead_letter_queue(scope: Construct, stage: str, fn: Function, removal_policy: RemovalPolicy,
                      id: str = "Dlq", name: str = "") -> sqs.Queue:
    # SSE-SQS rather than the CMK: SNS and Lambda need no key policy, and the DLQ alarm is the control.
    return sqs.Queue(scope, id, queue_name=name or resources.dlq_name(stage, fn),
                     retention_period=Duration.days(resources.DLQ_RETENTION_DAYS),
                     encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, removal_policy=removal_policy)


class ConsumerQueue(Construct):
    """SNS topic → (raw delivery, filter policy) → queue (redrive to DLQ) → the consumer function."""

    def __init__(self, scope: Construct, id: str, *, stage: str, spec: Function, function: lambda_.IFunction,
                 topic: sns.ITopic, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, id)
        q = spec.queue
        assert q is not None, f"{spec.name} is not a queue consumer"
        self.dlq = dead_letter_queue(self, stage, spec, removal_policy)
        self.queue = sqs.Queue(
            self, "Queue", queue_name=resources.queue_name(stage, spec),
            visibility_timeout=Duration.seconds(spec.queue_visibility_timeout_s),
            retention_period=Duration.days(resources.QUEUE_RETENTION_DAYS),
            encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=q.max_receive_count))
        # Messages SNS cannot deliver to the queue (a policy or key problem) wait here instead of being dropped.
        self.delivery_dlq = dead_letter_queue(self, stage, spec, removal_policy, id="DeliveryDlq",
                                              name=resources.delivery_dlq_name(stage, spec))
        acknowledge(self.delivery_dlq, "AwsSolutions-SQS3",
                    "This queue is itself a dead-letter destination (the SNS subscription's redrive policy); it is "
                    "watched by an alarm and must not have a DLQ of its own")
        topic.add_subscription(subs.SqsSubscription(
            self.queue, raw_message_delivery=True, dead_letter_queue=self.delivery_dlq,
            filter_policy={attr: sns.SubscriptionFilter.string_filter(allowlist=values)
                           for attr, values in resources.subscription_filter(spec).items()}))
        function.add_event_source(SqsEventSource(
            self.queue, batch_size=q.batch_size, max_batching_window=_window(q.max_batching_window_s),
            report_batch_item_failures=True))


class StreamConsumer(Construct):
    """Table stream → (INSERTs of ``pk_prefix`` items only) → the consumer; failed batches go to the DLQ."""

    def __init__(self, scope: Construct, id: str, *, stage: str, spec: Function, function: lambda_.IFunction,
                 table: dynamodb.ITableV2, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, id)
        s = spec.stream
        assert s is not None, f"{spec.name} is not a stream consumer"
        self.dlq = dead_letter_queue(self, stage, spec, removal_policy)
        acknowledge(self.dlq, "AwsSolutions-SQS3",
                    "This queue is itself a dead-letter destination (the stream mapping's on-failure SqsDlq); "
                    "it is watched by an alarm and must not have a DLQ of its own")
        function.add_event_source(DynamoEventSource(
            table, starting_position=_START[s.starting_position], batch_size=s.batch_size,
            max_batching_window=_window(s.max_batching_window_s), retry_attempts=s.retry_attempts,
            bisect_batch_on_error=s.bisect_batch_on_error, report_batch_item_failures=True,
            on_failure=SqsDlq(self.dlq),
            filters=[lambda_.FilterCriteria.filter({
                "eventName": lambda_.FilterRule.is_equal("INSERT"),
                "dynamodb": {"Keys": {resources.TABLE.pk: {"S": lambda_.FilterRule.begins_with(s.pk_prefix)}}},
            })]))
