"""Everything that holds data or identity: KMS key, table, secrets, Cognito, the VPC and the Valkey cache.

Cognito lives here rather than with the API: a user pool holds users and their passwords, and recreating
it would lock every user out, so it gets the same RETAIN/deletion-protection policy as the table.
"""

from __future__ import annotations

from aws_cdk import Duration, Fn, Stack, aws_cognito as cognito, aws_dynamodb as dynamodb, aws_ec2 as ec2, \
    aws_elasticache as elasticache, aws_iam as iam, aws_kms as kms, aws_logs as logs, aws_secretsmanager as sm, \
    aws_ses as ses
from constructs import Construct

from bazaar import resources
from infra.config import StageConfig
from infra.constructs.function import Network
from infra.nag import acknowledge

VALKEY_PORTS = ec2.Port.tcp_range(6379, 6380)  # serverless: 6379 primary endpoint, 6380 reader endpoint


class StatefulStack(Stack):
    def __init__(self, scope: Construct, id: str, *, cfg: StageConfig, **kwargs) -> None:
        super().__init__(scope, id, description=f"Bazaar {cfg.stage}: data, identity, network and cache",
                         termination_protection=cfg.deletion_protection, **kwargs)
        self.cfg = cfg
        self.key = self._key()
        self.table = self._table()
        self.cursor_key = self._secret("CursorKey", resources.CURSOR_KEY_SECRET,
                                       "HMAC key that signs pagination cursors")
        self.webhook_secret = self._secret("WebhookSecret", resources.WEBHOOK_SECRET,
                                           "Shared secret of the payment provider's webhook signatures")
        self.user_pool, self.user_pool_client = self._identity()
        self.network = self._network()
        self.cache, self.cache_url = self._cache()
        self.mail_identity = self._mail()

    # --- encryption ------------------------------------------------------------------------------------------
    def _key(self) -> kms.Key:
        key = kms.Key(self, "Key", alias=f"alias/{resources.resource_name(self.cfg.stage, 'data')}",
                      description="Bazaar data key: table, stream, secrets, cache, topics",
                      enable_key_rotation=True, removal_policy=self.cfg.removal_policy,
                      pending_window=Duration.days(30 if self.cfg.retain_data else 7))
        # CloudWatch alarms publish to the (encrypted) alarm topic as a service, not with an IAM role.
        key.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"],  # as AWS documents it
            conditions={"StringEquals": {"aws:SourceAccount": self.account}}))
        return key

    # --- table -----------------------------------------------------------------------------------------------
    def _table(self) -> dynamodb.TableV2:
        spec = resources.TABLE
        attr = lambda name: dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)  # noqa: E731
        return dynamodb.TableV2(
            self, "Table",
            table_name=resources.resource_name(self.cfg.stage, "table"),
            partition_key=attr(spec.pk), sort_key=attr(spec.sk),
            global_secondary_indexes=[dynamodb.GlobalSecondaryIndexPropsV2(
                index_name=ix.name, partition_key=attr(ix.pk), sort_key=attr(ix.sk)) for ix in spec.indexes],
            billing=dynamodb.Billing.on_demand(),
            time_to_live_attribute=spec.ttl_attribute,
            dynamo_stream=dynamodb.StreamViewType[spec.stream_view],
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=self.cfg.point_in_time_recovery),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(self.key),
            deletion_protection=self.cfg.deletion_protection,
            removal_policy=self.cfg.removal_policy,
        )

    # --- secrets ---------------------------------------------------------------------------------------------
    def _secret(self, id: str, name: str, description: str) -> sm.Secret:
        secret = sm.Secret(
            self, id, secret_name=resources.secret_name(self.cfg.stage, name), description=description,
            encryption_key=self.key, removal_policy=self.cfg.removal_policy,
            generate_secret_string=sm.SecretStringGenerator(password_length=64, exclude_punctuation=True))
        acknowledge(secret, "AwsSolutions-SMG4",
                    "A generated random key, not a credential of another system: rotating it needs a "
                    "coordinated runbook (the webhook secret is shared with the payment provider; a new cursor "
                    "key invalidates outstanding cursors), not a scheduled rotation Lambda")
        return secret

    # --- identity --------------------------------------------------------------------------------------------
    def _identity(self) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        pool = cognito.UserPool(
            self, "Users",
            user_pool_name=resources.resource_name(self.cfg.stage, "users"),
            self_sign_up_enabled=self.cfg.self_sign_up,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)),
            password_policy=cognito.PasswordPolicy(
                min_length=resources.PASSWORD_MIN_LENGTH, require_lowercase=True, require_uppercase=True,
                require_digits=True, require_symbols=True, temp_password_validity=Duration.days(3)),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            deletion_protection=self.cfg.deletion_protection,
            removal_policy=self.cfg.removal_policy,
        )
        acknowledge(pool, "AwsSolutions-COG2",
                    "MFA is optional (TOTP) so shoppers can sign in with a password; API roles come from "
                    "groups assigned by admins, and admins are expected to enrol TOTP")
        acknowledge(pool, "AwsSolutions-COG8",
                    "The Plus feature plan (threat protection) is billed per MAU; Essentials with a strong "
                    "password policy, API throttling and alarms is the chosen trade-off")
        for group in resources.USER_POOL_GROUPS:
            pool.add_group(f"Group{group.title()}", group_name=group, description=f"Bazaar {group}s")
        client = pool.add_client(
            "ApiClient", user_pool_client_name=resources.resource_name(self.cfg.stage, "api"),
            # USER_PASSWORD_AUTH for scripts and the contract's token flow, SRP for apps; refresh is implied.
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            generate_secret=False, disable_o_auth=True, prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.hours(1), id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30))
        return pool, client

    # --- network ---------------------------------------------------------------------------------------------
    def _network(self) -> Network:
        # No NAT: functions reach AWS only through VPC endpoints; isolated subnets have no internet route.
        vpc = ec2.Vpc(
            self, "Vpc", max_azs=self.cfg.max_azs, nat_gateways=0,
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            subnet_configuration=[ec2.SubnetConfiguration(
                name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22)],
            gateway_endpoints={"DynamoDb": ec2.GatewayVpcEndpointOptions(
                service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)})
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=self.cfg.log_retention,
                                  removal_policy=self.cfg.removal_policy)
        vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                         traffic_type=self.cfg.flow_log_traffic)
        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        functions_sg = ec2.SecurityGroup(self, "FunctionsSg", vpc=vpc, allow_all_outbound=False,
                                         description="Bazaar functions placed in the VPC (cache users)")
        # HTTPS out: the DynamoDB gateway endpoint's prefix list cannot be resolved offline, and with no
        # internet route 443 only reaches the VPC endpoints anyway.
        functions_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.HTTPS, "AWS APIs via VPC endpoints")
        # Interface endpoints for what in-VPC functions call besides DynamoDB: Secrets Manager (cursor key) and
        # X-Ray (active tracing; without it the SDK's segments are dropped). Reachable from functions only.
        endpoints_sg = ec2.SecurityGroup(self, "EndpointsSg", vpc=vpc, allow_all_outbound=False,
                                         description="Bazaar interface endpoints: HTTPS from the functions only")
        for name, service in (("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
                              ("XRay", ec2.InterfaceVpcEndpointAwsService.XRAY)):
            vpc.add_interface_endpoint(name, service=service, subnets=subnets, open=False, private_dns_enabled=True,
                                       security_groups=[endpoints_sg])
        endpoints_sg.connections.allow_from(functions_sg, ec2.Port.HTTPS, "Bazaar functions")
        return Network(vpc=vpc, subnets=subnets, security_group=functions_sg)

    # --- cache -----------------------------------------------------------------------------------------------
    def _cache(self) -> tuple[elasticache.CfnServerlessCache, str]:
        vpc = self.network.vpc
        cache_sg = ec2.SecurityGroup(self, "CacheSg", vpc=vpc, allow_all_outbound=False,
                                     description="Bazaar Valkey cache: reachable from the functions only")
        cache_sg.connections.allow_from(self.network.security_group, VALKEY_PORTS, "Bazaar functions")
        cache = elasticache.CfnServerlessCache(
            self, "Cache",
            engine="valkey", major_engine_version="8",
            serverless_cache_name=resources.resource_name(self.cfg.stage, "cache"),
            description="Bazaar read-through catalog cache (TLS only)",
            kms_key_id=self.key.key_arn,
            security_group_ids=[cache_sg.security_group_id],
            subnet_ids=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    maximum=self.cfg.cache_max_data_gb, unit="GB"),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(
                    maximum=self.cfg.cache_max_ecpu_per_second)),
            snapshot_retention_limit=0,  # a cache: contents are recomputed from the table
        )
        url = Fn.join("", ["rediss://", cache.attr_endpoint_address, ":", cache.attr_endpoint_port])
        return cache, url

    # --- mail --------------------------------------------------------------------------------------------------
    def _mail(self) -> ses.EmailIdentity:
        """The stage's SES sender identity: a domain identity with Easy DKIM, so any address under it (the sender
        is orders@<stage domain>) can send once the three DKIM CNAME records are published. Stateful: deleting
        an identity loses its verification."""
        identity = ses.EmailIdentity(self, "MailIdentity", identity=ses.Identity.domain(self.cfg.mail_identity))
        identity.apply_removal_policy(self.cfg.removal_policy)
        return identity
