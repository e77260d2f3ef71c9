"""Stateful stack: KMS key, table, secrets, Cognito, VPC and the Valkey cache."""

from __future__ import annotations

import pytest

from bazaar import resources
from bazaar.resources import TABLE

from .conftest import Synth
from .helpers import logical_id

pytestmark = pytest.mark.infra


def test_key_rotates(synth: Synth) -> None:
    _, key = synth.one("AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True


def test_table_shape_streams_pitr_ttl_and_cmk(synth: Synth) -> None:
    key, _ = synth.one("AWS::KMS::Key")
    _, table = synth.one("AWS::DynamoDB::GlobalTable")
    p = table["Properties"]
    assert p["TableName"] == resources.resource_name(synth.stage, "table")
    assert p["KeySchema"] == [{"AttributeName": TABLE.pk, "KeyType": "HASH"},
                              {"AttributeName": TABLE.sk, "KeyType": "RANGE"}]
    assert {ix["IndexName"]: ix["KeySchema"] for ix in p["GlobalSecondaryIndexes"]} == {
        ix.name: [{"AttributeName": ix.pk, "KeyType": "HASH"}, {"AttributeName": ix.sk, "KeyType": "RANGE"}]
        for ix in TABLE.indexes}
    assert p["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert p["TimeToLiveSpecification"] == {"AttributeName": TABLE.ttl_attribute, "Enabled": True}
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    [replica] = p["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert replica["SSESpecification"] == {"KMSMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}}


def test_two_generated_secrets_encrypted_with_the_cmk(synth: Synth) -> None:
    key, _ = synth.one("AWS::KMS::Key")
    secrets = synth.resources("AWS::SecretsManager::Secret", "stateful")
    assert sorted(s["Properties"]["Name"] for s in secrets.values()) == sorted(
        resources.secret_name(synth.stage, n) for n in (resources.CURSOR_KEY_SECRET, resources.WEBHOOK_SECRET))
    for s in secrets.values():
        assert s["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
        assert s["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32


def test_user_pool_policy_groups_and_client(dev: Synth) -> None:
    pool, props = dev.one("AWS::Cognito::UserPool")
    policy = props["Properties"]["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == resources.PASSWORD_MIN_LENGTH
    assert all(policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    groups = dev.resources("AWS::Cognito::UserPoolGroup", "stateful").values()
    assert sorted(g["Properties"]["GroupName"] for g in groups) == sorted(resources.USER_POOL_GROUPS)
    assert all(g["Properties"]["UserPoolId"] == {"Ref": pool} for g in groups)
    _, client = dev.one("AWS::Cognito::UserPoolClient")
    c = client["Properties"]
    assert sorted(c["ExplicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                                             "ALLOW_USER_SRP_AUTH"]
    assert c["GenerateSecret"] is False and c["AllowedOAuthFlowsUserPoolClient"] is False


def test_cache_is_valkey_serverless_reachable_only_from_the_functions(synth: Synth) -> None:
    _, cache = synth.one("AWS::ElastiCache::ServerlessCache")
    p = cache["Properties"]
    assert (p["Engine"], p["MajorEngineVersion"]) == ("valkey", "8")
    assert len(p["SubnetIds"]) == 2
    [cache_sg] = [sg["Fn::GetAtt"][0] for sg in p["SecurityGroupIds"]]
    functions_sg = logical_id(synth, "AWS::EC2::SecurityGroup", "stateful",
                              GroupDescription="Bazaar functions placed in the VPC (cache users)")
    ingress = [r["Properties"] for r in synth.resources("AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == {"Fn::GetAtt": [cache_sg, "GroupId"]}]
    assert ingress == [{"Description": "Bazaar functions", "FromPort": 6379, "ToPort": 6380, "IpProtocol": "tcp",
                        "GroupId": {"Fn::GetAtt": [cache_sg, "GroupId"]},
                        "SourceSecurityGroupId": {"Fn::GetAtt": [functions_sg, "GroupId"]}}]
    inline = synth.stateful["Resources"][cache_sg]["Properties"]
    assert "SecurityGroupIngress" not in inline


def test_no_security_group_is_open_to_the_internet(synth: Synth) -> None:
    rules = [r["Properties"] for r in synth.resources("AWS::EC2::SecurityGroupIngress").values()]
    for sg in synth.resources("AWS::EC2::SecurityGroup").values():
        rules += sg["Properties"].get("SecurityGroupIngress", [])
    assert rules and all(r.get("CidrIp") not in ("0.0.0.0/0",) and r.get("CidrIpv6") != "::/0" for r in rules)


def test_vpc_has_no_nat_or_internet_gateway_and_the_needed_endpoints(synth: Synth) -> None:
    assert not synth.resources("AWS::EC2::NatGateway") and not synth.resources("AWS::EC2::InternetGateway")
    services = []
    for e in synth.resources("AWS::EC2::VPCEndpoint", "stateful").values():
        name = e["Properties"]["ServiceName"]
        text = name if isinstance(name, str) else "".join(p for p in name["Fn::Join"][1] if isinstance(p, str))
        services.append((e["Properties"].get("VpcEndpointType", "Gateway"), text.rsplit(".", 1)[1]))
    assert sorted(services) == [("Gateway", "dynamodb"), ("Interface", "secretsmanager"), ("Interface", "xray")]
    assert synth.resources("AWS::EC2::FlowLog", "stateful")
