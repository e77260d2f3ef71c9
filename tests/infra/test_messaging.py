"""Events topic, consumer queues + DLQs, the filtered stream mapping, and the alarms on all of them."""

from __future__ import annotations

import json

import pytest

from bazaar import resources
from bazaar.manifest import FUNCTIONS, queue_consumers, stream_consumers
from infra.config import stage_config

from .conftest import Json, Synth, alarm_emails_for
from .helpers import functions, logical_id

pytestmark = pytest.mark.infra


def queue(s: Synth, name: str) -> tuple[str, Json]:
    lid = logical_id(s, "AWS::SQS::Queue", "stateless", QueueName=name)
    return lid, s.stateless["Resources"][lid]["Properties"]


def mapping(s: Synth, fn_name: str) -> Json:
    fn_lid = functions(s)[fn_name][0]
    [m] = [r["Properties"] for r in s.resources("AWS::Lambda::EventSourceMapping", "stateless").values()
           if r["Properties"]["FunctionName"] == {"Ref": fn_lid}]
    return m


def assert_ssl_only(s: Synth, queue_lid: str) -> None:
    policies = [r["Properties"]["PolicyDocument"]["Statement"] for r in s.resources("AWS::SQS::QueuePolicy").values()
                if {"Ref": queue_lid} in r["Properties"]["Queues"]]
    assert any(st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for sts in policies for st in sts), queue_lid


def test_events_topic_is_encrypted_and_ssl_only(dev: Synth) -> None:
    key, _ = dev.one("AWS::KMS::Key")
    lid = logical_id(dev, "AWS::SNS::Topic", "stateless",
                     TopicName=resources.resource_name("dev", resources.EVENTS_TOPIC))
    topic = dev.deref(dev.stateless["Resources"][lid]["Properties"])
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    policy = [r for r in dev.resources("AWS::SNS::TopicPolicy").values() if {"Ref": lid} in r["Properties"]["Topics"]]
    assert policy[0]["Properties"]["PolicyDocument"]["Statement"][0]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("spec", queue_consumers(), ids=lambda f: f.name)
def test_queue_consumer_has_queue_dlq_filtered_raw_subscription_and_partial_failures(dev: Synth, spec) -> None:
    assert spec.queue is not None
    dlq_lid, dlq = queue(dev, resources.dlq_name("dev", spec))
    q_lid, q = queue(dev, resources.queue_name("dev", spec))
    assert q["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_lid, "Arn"]},
                                  "maxReceiveCount": spec.queue.max_receive_count}
    assert q["VisibilityTimeout"] == spec.queue_visibility_timeout_s
    assert dlq["MessageRetentionPeriod"] == resources.DLQ_RETENTION_DAYS * 86400
    for props, lid in ((q, q_lid), (dlq, dlq_lid)):
        assert props["SqsManagedSseEnabled"] is True
        assert_ssl_only(dev, lid)
    [sub] = [r["Properties"] for r in dev.resources("AWS::SNS::Subscription", "stateless").values()
             if r["Properties"]["Endpoint"] == {"Fn::GetAtt": [q_lid, "Arn"]}]
    assert sub["RawMessageDelivery"] is True
    assert sub["FilterPolicy"] == resources.subscription_filter(spec)
    m = mapping(dev, spec.name)
    assert m["EventSourceArn"] == {"Fn::GetAtt": [q_lid, "Arn"]}
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert m["BatchSize"] == spec.queue.batch_size


@pytest.mark.parametrize("spec", stream_consumers(), ids=lambda f: f.name)
def test_stream_consumer_filters_inserts_bisects_and_has_an_on_failure_dlq(dev: Synth, spec) -> None:
    s = spec.stream
    assert s is not None
    table, _ = dev.one("AWS::DynamoDB::GlobalTable")
    dlq_lid, dlq = queue(dev, resources.dlq_name("dev", spec))
    m = dev.deref(mapping(dev, spec.name))
    assert m["EventSourceArn"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert [json.loads(f["Pattern"]) for f in m["FilterCriteria"]["Filters"]] == [
        {"eventName": ["INSERT"], "dynamodb": {"Keys": {"PK": {"S": [{"prefix": s.pk_prefix}]}}}}]
    assert m["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq_lid, "Arn"]}}}
    assert m["BisectBatchOnFunctionError"] is s.bisect_batch_on_error
    assert m["MaximumRetryAttempts"] == s.retry_attempts
    assert m["StartingPosition"] == s.starting_position
    assert m["BatchSize"] == s.batch_size
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert dlq["SqsManagedSseEnabled"] is True
    assert_ssl_only(dev, dlq_lid)


def test_alarms_cover_every_dlq_every_function_and_api_5xx(synth: Synth) -> None:
    cfg = stage_config(synth.stage, alarm_emails=list(alarm_emails_for(synth.stage)) or None)
    alarm_topic = logical_id(synth, "AWS::SNS::Topic", "stateless",
                             TopicName=resources.resource_name(synth.stage, "alarms"))
    alarms = [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm", "stateless").values()]
    assert all(a["AlarmActions"] == [{"Ref": alarm_topic}] for a in alarms)
    dlq_alarms = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms
                  if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
                  and a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold"}
    consumers = queue_consumers() + stream_consumers()
    every_dlq = {resources.dlq_name(synth.stage, f) for f in consumers} | {
        resources.delivery_dlq_name(synth.stage, f) for f in queue_consumers()}
    dlqs = {queue(synth, name)[0] for name in every_dlq}
    if cfg.alarm_emails:  # the alarm topic's e-mail subscriptions have a DLQ too
        dlqs.add(queue(synth, resources.resource_name(synth.stage, "alarm-delivery-dlq"))[0])
    assert dlq_alarms == dlqs
    error_alarms = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms
                    if a["MetricName"] == "Errors" and a["Namespace"] == "AWS/Lambda"}
    assert error_alarms == {lid for lid, _ in functions(synth).values()}
    assert len(error_alarms) == len(FUNCTIONS)
    api = logical_id(synth, "AWS::ApiGatewayV2::Api", "stateless")
    [api_5xx] = [a for a in alarms if a["MetricName"] == "5xx"]
    assert api_5xx["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": api}}]
    assert api_5xx["Threshold"] == cfg.api_5xx_threshold


@pytest.mark.parametrize("spec", queue_consumers(), ids=lambda f: f.name)
def test_queue_consumer_rules_from_the_manifest(dev: Synth, spec) -> None:
    """Every queue consumer, whatever its entry says: visibility at least 6x the function timeout (AWS guidance
    for SQS event sources), a bounded maxReceiveCount, partial batch responses, and a subscription DLQ (SNS's own
    redrive policy) that SNS may write to, with an alarm on its first message."""
    assert spec.queue is not None
    _, q = queue(dev, resources.queue_name("dev", spec))
    fn = functions(dev)[spec.name][1]
    assert q["VisibilityTimeout"] >= 6 * fn["Timeout"]
    assert 1 <= q["RedrivePolicy"]["maxReceiveCount"] <= 10
    assert mapping(dev, spec.name)["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    delivery_lid, delivery = queue(dev, resources.delivery_dlq_name("dev", spec))
    q_lid, _ = queue(dev, resources.queue_name("dev", spec))
    [sub] = [r["Properties"] for r in dev.resources("AWS::SNS::Subscription", "stateless").values()
             if r["Properties"]["Endpoint"] == {"Fn::GetAtt": [q_lid, "Arn"]}]
    assert sub["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [delivery_lid, "Arn"]}}
    assert delivery["MessageRetentionPeriod"] == resources.DLQ_RETENTION_DAYS * 86400
    assert delivery["SqsManagedSseEnabled"] is True
    assert_ssl_only(dev, delivery_lid)
    sns_may_send = [st for r in dev.resources("AWS::SQS::QueuePolicy").values()
                    if {"Ref": delivery_lid} in r["Properties"]["Queues"]
                    for st in r["Properties"]["PolicyDocument"]["Statement"]
                    if st["Effect"] == "Allow" and st["Action"] == "sqs:SendMessage"]
    assert sns_may_send and all(st["Principal"] == {"Service": "sns.amazonaws.com"} for st in sns_may_send)


def test_mail_identity_per_stage(synth: Synth) -> None:
    cfg = stage_config(synth.stage)
    _, identity = synth.one("AWS::SES::EmailIdentity", "stateful")
    assert identity["Properties"]["EmailIdentity"] == cfg.mail_identity
    assert cfg.mail_sender.endswith("@" + cfg.mail_identity)
    outputs = synth.stateless["Outputs"]
    assert any(o["Value"] == cfg.mail_sender for o in outputs.values())
