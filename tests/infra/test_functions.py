"""One Lambda per manifest entry: runtime, layers, log group, environment and code asset."""

from __future__ import annotations

import pytest

from bazaar import resources, runtime
from bazaar.manifest import FUNCTIONS, GRANT_ENV, Grant
from bazaar.settings import TRACING_ENV, TRACING_SDK
from infra.config import stage_config

from .conftest import Synth
from .helpers import functions, logical_id

pytestmark = pytest.mark.infra


def test_one_lambda_per_manifest_entry(dev: Synth) -> None:
    lambdas = dev.resources("AWS::Lambda::Function", "stateless")
    assert len(lambdas) == len(FUNCTIONS)
    fns = functions(dev)
    layers = set(dev.resources("AWS::Lambda::LayerVersion", "stateless"))
    assert len(layers) == 2  # third-party dependencies + shared/bazaar
    for spec in FUNCTIONS:
        _, p = fns[spec.name]
        assert p["Runtime"] == f"python{runtime.LAMBDA_PYTHON_VERSION}", spec.name
        assert p["Architectures"] == [runtime.LAMBDA_ARCHITECTURE], spec.name
        assert p["TracingConfig"] == {"Mode": "Active"}, spec.name
        assert p["Handler"] == spec.handler
        assert (p["MemorySize"], p["Timeout"]) == (spec.memory_mb, spec.timeout_s), spec.name
        assert {layer["Ref"] for layer in p["Layers"]} == layers, spec.name


def test_tracing_is_active_and_the_sdk_only_where_the_stage_opts_in(synth: Synth) -> None:
    cfg = stage_config(synth.stage)
    for name, (_, p) in functions(synth).items():
        assert ("TracingConfig" in p) == cfg.tracing.active, name
        env = p["Environment"]["Variables"]
        assert (env.get(TRACING_ENV) == TRACING_SDK) == cfg.tracing.in_process, name
        assert TRACING_ENV in env or not cfg.tracing.in_process, name


def test_each_function_has_its_own_log_group_with_retention(synth: Synth) -> None:
    cfg = stage_config(synth.stage)
    retention = cfg.log_retention_days
    groups = synth.resources("AWS::Logs::LogGroup", "stateless")
    seen = set()
    for name, (_, p) in functions(synth).items():
        lid = p["LoggingConfig"]["LogGroup"]["Ref"]
        group = groups[lid]["Properties"]
        assert group["LogGroupName"] == f"/aws/lambda/{p['FunctionName']}"
        assert group["RetentionInDays"] == retention, name
        assert p["LoggingConfig"]["LogFormat"] == "JSON"
        assert p["LoggingConfig"]["ApplicationLogLevel"] == cfg.log_level == p["Environment"]["Variables"][
            "POWERTOOLS_LOG_LEVEL"]
        seen.add(lid)
    assert len(seen) == len(FUNCTIONS)


def test_environment_is_base_plus_one_variable_per_grant(dev: Synth) -> None:
    table = {"Ref": logical_id(dev, "AWS::DynamoDB::GlobalTable", "stateful")}
    topic = {"Ref": logical_id(dev, "AWS::SNS::Topic", "stateless",
                               TopicName=resources.resource_name("dev", resources.EVENTS_TOPIC))}
    cache = logical_id(dev, "AWS::ElastiCache::ServerlessCache", "stateful")
    secret = lambda name: {"Ref": logical_id(dev, "AWS::SecretsManager::Secret", "stateful",  # noqa: E731
                                             Name=resources.secret_name("dev", name))}
    expected_values = {
        "TABLE_NAME": table,
        "EVENTS_TOPIC_ARN": topic,
        "CACHE_URL": {"Fn::Join": ["", ["rediss://", {"Fn::GetAtt": [cache, "Endpoint.Address"]}, ":",
                                        {"Fn::GetAtt": [cache, "Endpoint.Port"]}]]},
        "CURSOR_KEY_SECRET_ID": secret(resources.CURSOR_KEY_SECRET),
        "WEBHOOK_SECRET_ID": secret(resources.WEBHOOK_SECRET),
        "PAYMENT_PROVIDER_TABLE": table,
        "USER_POOL_ID": {"Ref": logical_id(dev, "AWS::Cognito::UserPool", "stateful")},
        "MAIL_SENDER": stage_config("dev").mail_sender,
    }
    assert set(expected_values) == set(GRANT_ENV.values())
    for spec in FUNCTIONS:
        env = dev.deref(functions(dev)[spec.name][1]["Environment"]["Variables"])
        base = resources.base_environment("dev", spec, log_level=stage_config("dev").log_level)
        assert set(env) == set(base) | set(spec.env_names), spec.name
        assert {k: env[k] for k in base} == base
        for name in spec.env_names:
            assert env[name] == expected_values[name], (spec.name, name)


def test_only_cache_users_run_in_the_vpc(dev: Synth) -> None:
    sg = logical_id(dev, "AWS::EC2::SecurityGroup", "stateful",
                    GroupDescription="Bazaar functions placed in the VPC (cache users)")
    for spec in FUNCTIONS:
        vpc = functions(dev)[spec.name][1].get("VpcConfig")
        if Grant.CACHE in spec.grants:
            assert dev.deref(vpc["SecurityGroupIds"]) == [{"Fn::GetAtt": [sg, "GroupId"]}], spec.name
            assert len(vpc["SubnetIds"]) == 2
        else:
            assert vpc is None, spec.name


def test_code_assets_hold_only_their_function(dev: Synth) -> None:
    by_hash = {}
    for name, (_, p) in functions(dev).items():
        by_hash[name] = p["Code"]["S3Key"].removesuffix(".zip")
    all_names = {f.name for f in FUNCTIONS}
    for spec in FUNCTIONS:
        root = dev.outdir / f"asset.{by_hash[spec.name]}"
        files = {f.relative_to(root).as_posix() for f in root.rglob("*")
                 if f.is_file() and "__pycache__" not in f.parts}  # shipped bytecode: tests/infra/test_bytecode.py
        assert "functions/__init__.py" in files
        assert f"functions/{spec.name}/handler.py" in files
        folders = {f.split("/")[1] for f in files if f.count("/") >= 2}
        if spec.code == "all":
            assert all_names <= folders, spec.name
        else:
            assert folders == {spec.name}, spec.name
        assert not any(f.startswith(("bazaar", "shared", "infra", "local")) for f in files)


def test_shared_layer_holds_the_bazaar_package(dev: Synth) -> None:
    layers = dev.resources("AWS::Lambda::LayerVersion", "stateless")
    contents = {}
    for lid, layer in layers.items():
        root = dev.outdir / f"asset.{layer['Properties']['Content']['S3Key'].removesuffix('.zip')}"
        contents[lid] = {p.name for p in (root / "python").iterdir()}
    assert any({"bazaar"} == c for c in contents.values()), contents
    # the dependency layer ships the AWS SDK too (tested version, trimmed data: tests/infra/test_layer_sdk.py)
    assert any({"aws_lambda_powertools", "pydantic", "botocore", "boto3"} <= c for c in contents.values()), contents


def test_the_bench_reads_every_function_out_of_the_synthesized_template(synth: Synth) -> None:
    """`make bench` runs cold starts in the environment this template gives: it must find every function and
    resolve every token to a grant variable it can provide locally."""
    from tests.bench.template import function_configs

    configs = function_configs(synth.stateless)
    cfg = stage_config(synth.stage)
    assert set(configs) == {spec.name for spec in FUNCTIONS}
    for spec in FUNCTIONS:
        c = configs[spec.name]
        assert (c.handler, c.memory_mb, c.timeout_s) == (spec.handler, spec.memory_mb, spec.timeout_s)
        assert c.tracing == ("Active" if cfg.tracing.active else "")
        assert (c.log_format, c.log_level) == ("JSON", cfg.log_level)
        tokens = {k for k, v in c.environment.items() if not isinstance(v, str)}
        assert tokens <= set(spec.env_names), (spec.name, tokens)


def test_the_api_document_functions_ship_the_generated_documents(dev: Synth) -> None:
    for name, (_, p) in functions(dev).items():
        spec = next(f for f in FUNCTIONS if f.name == name)
        root = dev.outdir / f"asset.{p['Code']['S3Key'].removesuffix('.zip')}"
        for generated in spec.generated:
            shipped = root / "functions" / name / generated
            assert shipped.is_file() and shipped.stat().st_size > 1000, (name, generated)
