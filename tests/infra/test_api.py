"""HTTP API: one route per manifest route, the JWT authorizer on exactly the non-public ones, access logs."""

from __future__ import annotations

import json

import pytest

from bazaar.manifest import routes
from infra.config import stage_config

from .conftest import Synth
from .helpers import functions, logical_id

pytestmark = pytest.mark.infra


def test_one_route_per_manifest_route_with_the_right_authorization(dev: Synth) -> None:
    authorizer, _ = dev.one("AWS::ApiGatewayV2::Authorizer")
    integrations = dev.resources("AWS::ApiGatewayV2::Integration", "stateless")
    fn_ids = {name: lid for name, (lid, _) in functions(dev).items()}
    by_key = {r["Properties"]["RouteKey"]: r["Properties"]
              for r in dev.resources("AWS::ApiGatewayV2::Route", "stateless").values()}
    assert sorted(by_key) == sorted(f.route.key for f in routes() if f.route)
    for spec in routes():
        assert spec.route is not None
        props = by_key[spec.route.key]
        if spec.route.public:
            assert props["AuthorizationType"] == "NONE", spec.route.key
            assert "AuthorizerId" not in props
        else:
            assert props["AuthorizationType"] == "JWT", spec.route.key
            assert props["AuthorizerId"] == {"Ref": authorizer}
        integration = integrations[props["Target"]["Fn::Join"][1][1]["Ref"]]["Properties"]
        assert integration["IntegrationUri"] == {"Fn::GetAtt": [fn_ids[spec.name], "Arn"]}, spec.route.key
        assert integration["PayloadFormatVersion"] == "2.0"


def test_jwt_authorizer_trusts_the_user_pool_and_its_client(dev: Synth) -> None:
    _, authorizer = dev.one("AWS::ApiGatewayV2::Authorizer")
    props = dev.deref(authorizer["Properties"])
    pool, _ = dev.one("AWS::Cognito::UserPool", "stateful")
    client, _ = dev.one("AWS::Cognito::UserPoolClient", "stateful")
    assert props["AuthorizerType"] == "JWT"
    assert props["IdentitySource"] == ["$request.header.Authorization"]
    assert props["JwtConfiguration"] == {"Issuer": {"Fn::GetAtt": [pool, "ProviderURL"]},
                                         "Audience": [{"Ref": client}]}


def test_stage_has_json_access_logs_without_credentials_and_throttling(synth: Synth) -> None:
    cfg = stage_config(synth.stage)
    _, stage = synth.one("AWS::ApiGatewayV2::Stage")
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    log_format = props["AccessLogSettings"]["Format"]
    fields = json.loads(log_format)  # a JSON object per request
    assert fields["requestId"] == "$context.requestId"
    lowered = log_format.lower()
    assert "authorization" not in lowered and "header" not in lowered and "email" not in lowered
    group = synth.stateless["Resources"][props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]]
    assert group["Properties"]["RetentionInDays"] == cfg.log_retention_days
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] == cfg.api_throttle_rate
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] == cfg.api_throttle_burst


def test_lambda_permissions_are_scoped_to_their_route(dev: Synth) -> None:
    """API Gateway may invoke a route's function only through that route's path (and only this API)."""
    fn_ids = {name: lid for name, (lid, _) in functions(dev).items()}
    api = logical_id(dev, "AWS::ApiGatewayV2::Api", "stateless")
    granted = set()
    for p in dev.resources("AWS::Lambda::Permission", "stateless").values():
        props = p["Properties"]
        assert props["Principal"] == "apigateway.amazonaws.com"
        parts = props["SourceArn"]["Fn::Join"][1]
        assert {"Ref": api} in parts
        granted.add((props["FunctionName"]["Fn::GetAtt"][0], parts[-1].removeprefix("/*/*")))
    assert granted == {(fn_ids[f.name], f.route.path) for f in routes() if f.route}
