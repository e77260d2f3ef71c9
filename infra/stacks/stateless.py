"""The HTTP API, one Lambda per manifest entry, the events topic, consumer queues and alarms."""

from __future__ import annotations

import json

import jsii
from aws_cdk import CfnOutput, Stack, aws_apigateway as apigw_v1, aws_apigatewayv2 as apigw, \
    aws_lambda as lambda_, aws_logs as logs, aws_sns as sns, aws_sns_subscriptions as subs, aws_sqs as sqs
from aws_cdk.aws_apigatewayv2_authorizers import HttpJwtAuthorizer
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from bazaar import manifest, resources
from bazaar.manifest import Function
from infra import assets
from infra.config import StageConfig
from infra.constructs.alarms import Alarms
from infra.constructs.function import ARCHITECTURE, RUNTIME, BazaarFunction
from infra.constructs.messaging import ConsumerQueue, StreamConsumer
from infra.grants import GrantTargets
from infra.nag import acknowledge
from infra.stacks.stateful import StatefulStack

# One JSON object per request. Deliberately no headers (Authorization), no query string (cursors), no claims but
# `sub` (the audit actor): the contract forbids tokens and e-mail addresses in logs.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "sub": "$context.authorizer.claims.sub",
}


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogs:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigw.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        return apigw_v1.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")))


class StatelessStack(Stack):
    def __init__(self, scope: Construct, id: str, *, cfg: StageConfig, data: StatefulStack, **kwargs) -> None:
        super().__init__(scope, id, description=f"Bazaar {cfg.stage}: API, functions, messaging and alarms",
                         **kwargs)
        self.cfg = cfg
        stage = cfg.stage
        self.events_topic = sns.Topic(self, "Events", topic_name=resources.resource_name(stage, resources.EVENTS_TOPIC),
                                      master_key=data.key, enforce_ssl=True)
        self.alarm_topic = sns.Topic(self, "AlarmTopic", topic_name=resources.resource_name(stage, "alarms"),
                                     master_key=data.key, enforce_ssl=True)
        for email in cfg.alarm_emails:
            self.alarm_topic.add_subscription(subs.EmailSubscription(email))
        self.alarms = Alarms(self, "Alarms", cfg=cfg, topic=self.alarm_topic)

        targets = GrantTargets(table=data.table, key=data.key, topic=self.events_topic, cursor_key=data.cursor_key,
                               webhook_secret=data.webhook_secret, cache_url=data.cache_url,
                               user_pool=data.user_pool, mail_identity_arn=data.mail_identity.email_identity_arn,
                               mail_sender=cfg.mail_sender)
        layers = self._layers()
        self.functions: dict[str, BazaarFunction] = {}
        for spec in manifest.FUNCTIONS:
            fn = BazaarFunction(self, _camel(spec.name), spec=spec, cfg=cfg, layers=layers, targets=targets,
                                network=data.network)
            self.functions[spec.name] = fn
            self.alarms.function_errors(f"{_camel(spec.name)}Errors", spec.name, fn.function.metric_errors(
                period=self.alarms.period))

        self.api, self.api_stage = self._api(data)
        self._consumers(data)
        self.alarms.api_5xx("Api5xx", self.api.metric_server_error(period=self.alarms.period))

        CfnOutput(self, "ApiUrl", value=self.api_stage.url)
        CfnOutput(self, "UserPoolId", value=data.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=data.user_pool_client.user_pool_client_id)
        CfnOutput(self, "TableName", value=data.table.table_name)
        CfnOutput(self, "EventsTopicArn", value=self.events_topic.topic_arn)
        CfnOutput(self, "MailSender", value=cfg.mail_sender)

    def _layers(self) -> list[lambda_.ILayerVersion]:
        common = dict(compatible_runtimes=[RUNTIME], compatible_architectures=[ARCHITECTURE])
        deps_code = lambda_.Code.from_asset(str(assets.dependency_layer()), exclude=assets.LAYER_EXCLUDE)
        deps = lambda_.LayerVersion(self, "DependencyLayer", code=deps_code,
                                    description="Bazaar third-party dependencies (layers/requirements.txt)", **common)
        shared = lambda_.LayerVersion(self, "SharedLayer", code=lambda_.Code.from_asset(str(assets.shared_layer())),
                                      description="Bazaar shared library (shared/bazaar)", **common)
        return [deps, shared]

    def _api(self, data: StatefulStack) -> tuple[apigw.HttpApi, apigw.HttpStage]:
        api = apigw.HttpApi(self, "Api", api_name=resources.resource_name(self.cfg.stage, "api"),
                            description="Bazaar public API", create_default_stage=False)
        access_logs = logs.LogGroup(self, "ApiAccessLogs", retention=self.cfg.log_retention,
                                    removal_policy=self.cfg.removal_policy)
        api_stage = apigw.HttpStage(
            self, "ApiStage", http_api=api, stage_name="$default", auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=self.cfg.api_throttle_rate,
                                            burst_limit=self.cfg.api_throttle_burst),
            detailed_metrics_enabled=True,
            access_log_settings=_AccessLogs(access_logs) if self.cfg.access_logs else None)
        # Access tokens carry `client_id`, ID tokens `aud`: HTTP API JWT authorizers accept either against this.
        # Bazaar accepts access tokens only: bazaar.web.identity treats an ID token as no identity (401).
        jwt = HttpJwtAuthorizer("Jwt", data.user_pool.user_pool_provider_url,
                                jwt_audience=[data.user_pool_client.user_pool_client_id])
        public = apigw.HttpNoneAuthorizer()
        for spec in manifest.routes():
            route = spec.route
            assert route is not None
            routes = api.add_routes(
                path=route.path, methods=[apigw.HttpMethod(route.method)],
                integration=HttpLambdaIntegration(f"{_camel(spec.name)}Integration",
                                                  self.functions[spec.name].function),
                # Group checks happen in the function: HTTP API JWT authorizers only match scopes.
                authorizer=public if route.public else jwt)
            if route.public:
                for r in routes:
                    acknowledge(r, "AwsSolutions-APIG4", f"{route.key} is public by design (manifest: public=True)")
        return api, api_stage

    def _consumers(self, data: StatefulStack) -> None:
        for spec in manifest.queue_consumers():
            fn = self.functions[spec.name]
            cq = ConsumerQueue(self, f"{_camel(spec.name)}Queue", stage=self.cfg.stage, spec=spec, function=fn.function,
                               topic=self.events_topic, removal_policy=self.cfg.removal_policy)
            self._alarm_on_dlq(spec, cq.dlq)
            self.alarms.dlq_not_empty(f"{_camel(spec.name)}DeliveryDlqNotEmpty",
                                      resources.delivery_dlq_name(self.cfg.stage, spec),
                                      cq.delivery_dlq.metric_approximate_number_of_messages_visible(
                                          period=self.alarms.period))
        for spec in manifest.stream_consumers():
            fn = self.functions[spec.name]
            sc = StreamConsumer(self, f"{_camel(spec.name)}Stream", stage=self.cfg.stage, spec=spec,
                                function=fn.function, table=data.table, removal_policy=self.cfg.removal_policy)
            self._alarm_on_dlq(spec, sc.dlq)
            self.alarms.iterator_age(f"{_camel(spec.name)}IteratorAge", spec.name, fn.function.metric(
                "IteratorAge", statistic="Maximum", period=self.alarms.period))

    def _alarm_on_dlq(self, spec: Function, dlq: sqs.IQueue) -> None:
        """Every consumer's DLQ alarms on its first message: nothing is dropped silently."""
        self.alarms.dlq_not_empty(f"{_camel(spec.name)}DlqNotEmpty", resources.dlq_name(self.cfg.stage, spec),
                                  dlq.metric_approximate_number_of_messages_visible(period=self.alarms.period))


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))
