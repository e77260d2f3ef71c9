"""Alarm recipients from the stage config, security metric filters with alarms, saved queries and a dashboard."""

from __future__ import annotations

import json

import pytest

from bazaar import resources
from bazaar.resources import function_name
from infra.config import stage_config
from infra.insights import ACCESS_FIELDS, METRIC_FILTERS, QUESTIONS, audited_functions, metrics_namespace

from .conftest import Json, Synth, alarm_emails_for
from .helpers import functions, logical_id

pytestmark = pytest.mark.infra

SECURITY_METRICS = {"FailedAuth", "Forbidden", "AdminActions"}


def alarm_topic(s: Synth) -> str:
    return logical_id(s, "AWS::SNS::Topic", "stateless", TopicName=resources.resource_name(s.stage, "alarms"))


def alarms(s: Synth) -> dict[str, Json]:
    return {lid: r["Properties"] for lid, r in s.resources("AWS::CloudWatch::Alarm").items()}


def access_log_group(s: Synth) -> str:
    _, stage = s.one("AWS::ApiGatewayV2::Stage")
    return stage["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_recovers(synth: Synth) -> None:
    topic = alarm_topic(synth)
    found = alarms(synth)
    assert found and not synth.resources("AWS::CloudWatch::Alarm", "stateful")
    for lid, a in found.items():
        assert a["AlarmActions"] == [{"Ref": topic}], lid
        assert a["OKActions"] == [{"Ref": topic}], lid
        assert a["AlarmName"].startswith(f"bazaar-{synth.stage}-"), lid
        assert len(a["AlarmDescription"]) > 20, lid
    names = [a["AlarmName"] for a in found.values()]
    assert len(names) == len(set(names))


def test_the_alarm_topic_has_the_stage_config_recipients_each_with_a_dlq(synth: Synth) -> None:
    cfg = stage_config(synth.stage, alarm_emails=list(alarm_emails_for(synth.stage)) or None)
    topic = alarm_topic(synth)
    subs = [r["Properties"] for r in synth.resources("AWS::SNS::Subscription", "stateless").values()
            if r["Properties"]["TopicArn"] == {"Ref": topic}]
    assert sorted(s["Endpoint"] for s in subs) == sorted(cfg.alarm_emails)
    assert all(s["Protocol"] == "email" for s in subs)
    if cfg.require_alarm_recipient:
        assert subs, f"{synth.stage} must page someone"
    if subs:
        dlq = logical_id(synth, "AWS::SQS::Queue", "stateless",
                         QueueName=resources.resource_name(synth.stage, "alarm-delivery-dlq"))
        assert all(s["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}} for s in subs)
    topic_props = synth.deref(synth.stateless["Resources"][topic]["Properties"])
    key, _ = synth.one("AWS::KMS::Key")
    assert topic_props["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}


def test_staging_and_prod_require_a_recipient_and_dev_does_not() -> None:
    assert {s: stage_config(s).require_alarm_recipient for s in ("dev", "staging", "prod")} == {
        "dev": False, "staging": True, "prod": True}


def test_log_groups_are_under_the_data_key_and_named_per_stage(synth: Synth) -> None:
    key, _ = synth.one("AWS::KMS::Key")
    groups = synth.resources("AWS::Logs::LogGroup")
    assert len(groups) == len(functions(synth)) + 2  # + API access logs + VPC flow logs
    for lid, g in groups.items():
        props = synth.deref(g["Properties"])
        assert props["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}, lid
        assert props["LogGroupName"].startswith((f"/aws/lambda/bazaar-{synth.stage}-", f"/bazaar/{synth.stage}/")), lid
    # CloudWatch Logs may use the key for this stage's log groups only.
    [statement] = [st for st in synth.stateful["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
                   if st["Principal"].get("Service") == "logs.eu-west-1.amazonaws.com"]
    arns = json.dumps(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    assert f"log-group:/aws/lambda/bazaar-{synth.stage}-*" in arns and f"log-group:/bazaar/{synth.stage}/*" in arns


def test_security_metric_filters_on_the_access_log_and_every_audited_function(synth: Synth) -> None:
    filters = [r["Properties"] for r in synth.resources("AWS::Logs::MetricFilter", "stateless").values()]
    access = {"Ref": access_log_group(synth)}
    audit_groups = {json.dumps({"Ref": logical_id(synth, "AWS::Logs::LogGroup", "stateless",
                                                  LogGroupName=f"/aws/lambda/{function_name(synth.stage, fn)}")})
                    for fn in audited_functions()}
    seen: dict[str, set[str]] = {}
    for f in filters:
        [t] = f["MetricTransformations"]
        assert t["MetricNamespace"] == metrics_namespace(synth.stage)
        assert (t["MetricValue"], t["DefaultValue"]) == ("1", 0)
        name = t["MetricName"]
        source, pattern, _ = METRIC_FILTERS[name]
        assert f["FilterPattern"] == pattern
        seen.setdefault(name, set()).add(json.dumps(f["LogGroupName"]))
    assert set(seen) == SECURITY_METRICS
    assert seen["FailedAuth"] == seen["Forbidden"] == {json.dumps(access)}
    assert seen["AdminActions"] == audit_groups and len(audit_groups) == len(audited_functions()) > 0


def test_each_security_metric_has_an_alarm_at_the_stage_threshold(synth: Synth) -> None:
    cfg = stage_config(synth.stage)
    thresholds = {"FailedAuth": cfg.failed_auth_threshold, "Forbidden": cfg.forbidden_threshold,
                  "AdminActions": cfg.admin_actions_threshold}
    found = {a["MetricName"]: a for a in alarms(synth).values() if a.get("Namespace") == metrics_namespace(synth.stage)}
    assert set(found) == SECURITY_METRICS
    for name, a in found.items():
        assert (a["Threshold"], a["Statistic"], a["Period"]) == (thresholds[name], "Sum", cfg.alarm_period_minutes * 60)


def test_query_definitions_ask_the_audit_questions_of_the_right_log_groups(synth: Synth) -> None:
    defs = {r["Properties"]["Name"]: r["Properties"]
            for r in synth.resources("AWS::Logs::QueryDefinition", "stateless").values()}
    assert set(defs) == {f"bazaar-{synth.stage}/{q.name}" for q in QUESTIONS}
    access = {"Ref": access_log_group(synth)}
    for q in QUESTIONS:
        d = defs[f"bazaar-{synth.stage}/{q.name}"]
        assert d["QueryString"] == "\n| ".join(q.lines()), q.name
        if q.source == "access":
            assert d["LogGroupNames"] == [access], q.name
        else:
            assert len(d["LogGroupNames"]) == len(audited_functions()), q.name


def test_the_api_stage_logs_the_shared_access_log_format_with_authorizer_refusals(synth: Synth) -> None:
    _, stage = synth.one("AWS::ApiGatewayV2::Stage")
    logged = json.loads(stage["Properties"]["AccessLogSettings"]["Format"])
    assert logged == resources.ACCESS_LOG_FORMAT  # the local gateway writes these keys too (local/access_log.py)
    assert {logged["status"], logged["authorizerError"], logged["sub"]} == {
        "$context.status", "$context.authorizer.error", "$context.authorizer.claims.sub"}


def test_access_questions_read_only_fields_the_access_log_has() -> None:
    known = set(resources.ACCESS_LOG_FORMAT) | {"@timestamp"}
    assert set(ACCESS_FIELDS) <= known
    assert all(set(q.fields) <= known for q in QUESTIONS if q.source == "access")


def test_one_dashboard_with_every_alarm(synth: Synth) -> None:
    _, board = synth.one("AWS::CloudWatch::Dashboard")
    assert board["Properties"]["DashboardName"] == resources.resource_name(synth.stage, "operations")
    body = json.dumps(board["Properties"]["DashboardBody"])
    for lid in alarms(synth):
        assert lid in body, lid
    for metric in SECURITY_METRICS:
        assert metric in body


def _build(stage: str, alarm_emails: object):
    import aws_cdk as cdk
    from aws_cdk import aws_sns as sns

    from infra.app import build, cdk_json_context

    stacks = build(cdk.App(context=cdk_json_context()), stage, alarm_emails=alarm_emails)
    return sorted(c.endpoint for c in stacks.stateless.node.find_all() if isinstance(c, sns.CfnSubscription)
                  and c.protocol == "email")


@pytest.mark.parametrize("given", [None, ""], ids=["no alarmEmails (no default is committed)", "alarmEmails="])
@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_staging_and_prod_refuse_to_synthesize_without_a_recipient(stage: str, given: object) -> None:
    from infra.constructs.alarms import MissingAlarmRecipient

    with pytest.raises(MissingAlarmRecipient, match=f"stage '{stage}' refuses to synthesize"):
        _build(stage, given)


def test_recipients_come_from_context_when_given_and_dev_may_have_none() -> None:
    assert _build("prod", "oncall@bazaar.dev, ops@bazaar.dev") == ["oncall@bazaar.dev", "ops@bazaar.dev"]
    assert _build("dev", ["me@bazaar.dev"]) == ["me@bazaar.dev"]  # a JSON list in cdk.json context works too
    assert _build("dev", None) == []
    with pytest.raises(ValueError, match="not an e-mail address: nobody"):
        _build("prod", "nobody")
