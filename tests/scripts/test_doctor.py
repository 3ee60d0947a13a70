"""The pre-deploy doctor, offline: every check against Stubber-backed clients, the table, the exit codes."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from scripts import doctor
from scripts.doctor import (
    FAIL,
    IAM_ACTIONS,
    PASS,
    REQUIRED_BOOTSTRAP_VERSION,
    WARN,
    Context,
    Result,
    check_bootstrap,
    check_cognito,
    check_concurrency,
    check_models,
    check_network,
    check_services,
    domain_prefix,
    main,
    model_uses,
    render_table,
    reservations,
    run_checks,
)
from scripts.stack_outputs import read_context
from stacks.config import AppConfig, load_config
from stacks.constructs.packaging import PackagingError
from tests.aws import REGION, offline_client
from tests.synth import Assembly

from .no_aws import remove_aws_environment

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "doctor.py"
ACCOUNT = "123456789012"
CONTEXT = Context(region=REGION, account=ACCOUNT)
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-pro-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
ONE_MODEL = {"models": [{"model": HAIKU, "name": "Claude Haiku 4.5"}], "generation_model": HAIKU}
FIRST_USE = "aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions"


class Aws:
    """Offline clients made on first use, each under an active Stubber: a call nobody queued fails the test."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}
        self.operations: set[str] = set()  # the API operations queued, e.g. GetAccountSettings

    def __call__(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = offline_client(service)
            self.stubs[service] = Stubber(self.clients[service])
            self.stubs[service].activate()
        return self.clients[service]

    def respond(self, service: str, method: str, response: dict[str, Any], params: Any = None) -> None:
        self.operations.add(self(service).meta.method_to_api_mapping[method])
        self.stubs[service].add_response(method, response, params)

    def error(self, service: str, method: str, code: str, message: str = "", params: Any = None) -> None:
        self.operations.add(self(service).meta.method_to_api_mapping[method])
        self.stubs[service].add_client_error(
            method, service_error_code=code, service_message=message, http_status_code=400, expected_params=params
        )


@pytest.fixture
def aws() -> Iterator[Aws]:
    """The doctor's clients; after the test, every queued answer was asked for and every call is in IAM_ACTIONS."""
    clients = Aws()
    yield clients
    for stub in clients.stubs.values():
        stub.assert_no_pending_responses()
    assert clients.operations <= IAM_ACTIONS.keys()


def configure(**settings: Any) -> AppConfig:
    return load_config({"genai": settings})


# --- responses, in the shapes of the installed botocore models ---


def summary(model: str, *types: str, lifecycle: str = "ACTIVE") -> dict[str, Any]:
    return {
        "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{model}",
        "modelId": model,
        "inferenceTypesSupported": list(types or ("ON_DEMAND",)),
        "modelLifecycle": {"status": lifecycle},
    }


OFFERED = {"modelSummaries": [summary(HAIKU, "INFERENCE_PROFILE"), summary(NOVA), summary(TITAN)]}


def availability(model: str, **fields: str) -> dict[str, Any]:
    agreement = {"status": fields.pop("agreement", "AVAILABLE")}
    if "error_message" in fields:
        agreement["errorMessage"] = fields.pop("error_message")
    return {
        "modelId": model,
        "agreementAvailability": agreement,
        "authorizationStatus": fields.pop("authorization", "AUTHORIZED"),
        "entitlementAvailability": fields.pop("entitlement", "AVAILABLE"),
        "regionAvailability": fields.pop("region", "AVAILABLE"),
    }


def inference_profile(identifier: str) -> dict[str, Any]:
    return {
        "inferenceProfileName": identifier,
        "inferenceProfileArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{identifier}",
        "models": [{"modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{identifier.split('.', 1)[1]}"}],
        "inferenceProfileId": identifier,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }


def expect_availability(aws: Aws, model: str, **fields: str) -> None:
    aws.respond("bedrock", "get_foundation_model_availability", availability(model, **fields), {"modelId": model})


def expect_profile(aws: Aws, model: str) -> None:
    identifier = f"us.{model}"
    params = {"inferenceProfileIdentifier": identifier}
    aws.respond("bedrock", "get_inference_profile", inference_profile(identifier), params)


def expect_use_case(aws: Aws) -> None:
    aws.respond("bedrock", "get_use_case_for_model_access", {"formData": b'{"companyName": "Example"}'}, {})


def expect_healthy_models(aws: Aws) -> None:
    """The calls check_models makes for the ONE_MODEL configuration, every answer a good one."""
    aws.respond("bedrock", "list_foundation_models", OFFERED, {})
    expect_profile(aws, HAIKU)
    expect_availability(aws, HAIKU)
    expect_availability(aws, TITAN)
    expect_use_case(aws)


# --- bootstrap ---


def expect_toolkit(aws: Aws, version: str | None, name: str = "/cdk-bootstrap/hnb659fds/version") -> None:
    stack = {"StackName": "CDKToolkit", "CreationTime": NOW, "StackStatus": "UPDATE_COMPLETE"}
    aws.respond("cloudformation", "describe_stacks", {"Stacks": [stack]}, {"StackName": "CDKToolkit"})
    if version is None:
        aws.error("ssm", "get_parameter", "ParameterNotFound", params={"Name": name})
    else:
        aws.respond("ssm", "get_parameter", {"Parameter": {"Name": name, "Value": version}}, {"Name": name})


@pytest.mark.parametrize(
    ("version", "status", "detail"),
    [
        pytest.param("30", PASS, "version 30", id="recent"),
        pytest.param("23", PASS, "version 23", id="just enough for rollback"),
        pytest.param("21", WARN, "version 21: deploys work, `cdk rollback` needs 23", id="no rollback"),
        pytest.param("5", FAIL, "version 5; this app needs 6", id="too old"),
    ],
)
def test_bootstrap_version(aws: Aws, version: str, status: str, detail: str) -> None:
    expect_toolkit(aws, version)

    results = check_bootstrap(aws, configure(), CONTEXT)

    fix = "" if status == PASS else f"run `npx cdk bootstrap aws://{ACCOUNT}/{REGION}`"
    assert results == [Result(status, "bootstrap", "CDKToolkit", detail, fix)]


def test_bootstrap_fails_without_the_toolkit_stack(aws: Aws) -> None:
    message = "Stack with id CDKToolkit does not exist"
    aws.error("cloudformation", "describe_stacks", "ValidationError", message, {"StackName": "CDKToolkit"})

    results = check_bootstrap(aws, configure(), CONTEXT)

    fix = f"run `npx cdk bootstrap aws://{ACCOUNT}/{REGION}`"
    assert results == [Result(FAIL, "bootstrap", "CDKToolkit", "no CDKToolkit stack in us-east-1", fix)]


def test_bootstrap_fails_without_the_version_parameter(aws: Aws) -> None:
    expect_toolkit(aws, None, name="/cdk-bootstrap/custom1/version")

    results = check_bootstrap(aws, configure(), replace(CONTEXT, qualifier="custom1"))

    assert [(r.status, r.subject) for r in results] == [(FAIL, "/cdk-bootstrap/custom1/version")]
    assert results[0].detail == "no such parameter: the bootstrap is incomplete"


def test_required_bootstrap_version_is_what_the_synthesized_app_requires(assembly: Assembly) -> None:
    required = {
        artifact["properties"]["requiresBootstrapStackVersion"]
        for artifact in assembly.manifest["artifacts"].values()
        if "requiresBootstrapStackVersion" in artifact.get("properties", {})
    }

    assert required == {REQUIRED_BOOTSTRAP_VERSION}


# --- models ---


def test_model_uses_lists_each_model_once_as_the_stack_calls_it() -> None:
    uses = model_uses(configure())

    assert uses == [
        (HAIKU, f"us.{HAIKU}"),
        (NOVA, f"us.{NOVA}"),
        ("amazon.nova-lite-v1:0", "us.amazon.nova-lite-v1:0"),
        ("amazon.nova-micro-v1:0", "us.amazon.nova-micro-v1:0"),
        (TITAN, TITAN),
    ]


def test_models_pass_when_every_model_is_callable(aws: Aws) -> None:
    expect_healthy_models(aws)

    results = check_models(aws, configure(api=ONE_MODEL), CONTEXT)

    assert results == [
        Result(PASS, "model", HAIKU, f"callable through us.{HAIKU}"),
        Result(PASS, "model", TITAN, "callable on demand"),
        Result(PASS, "model", "Anthropic use case", "use-case form on record"),
    ]


def test_models_fail_without_the_inference_profile(aws: Aws) -> None:
    aws.respond("bedrock", "list_foundation_models", OFFERED, {})
    params = {"inferenceProfileIdentifier": f"eu.{HAIKU}"}
    aws.error("bedrock", "get_inference_profile", "ResourceNotFoundException", "not found", params)
    expect_availability(aws, TITAN)
    expect_use_case(aws)

    results = check_models(aws, configure(api=ONE_MODEL, inference_profile="eu"), CONTEXT)

    assert results[0].status == FAIL
    assert results[0].detail == f"no inference profile eu.{HAIKU} in us-east-1"
    assert "list-inference-profiles" in results[0].fix
    assert [r.status for r in results[1:]] == [PASS, PASS]


def test_models_fail_when_a_directly_called_model_needs_a_profile(aws: Aws) -> None:
    aws.respond("bedrock", "list_foundation_models", OFFERED, {})
    expect_availability(aws, HAIKU)
    expect_availability(aws, TITAN)
    expect_use_case(aws)

    results = check_models(aws, configure(api=ONE_MODEL, inference_profile="none"), CONTEXT)

    haiku = results[0]
    assert (haiku.status, haiku.detail) == (FAIL, "only callable through an inference profile here")
    assert haiku.fix == "set inference_profile to your geography (us, eu, apac) or global"


def test_models_fail_when_the_region_does_not_offer_a_directly_called_model(aws: Aws) -> None:
    aws.respond("bedrock", "list_foundation_models", {"modelSummaries": [summary(HAIKU, "INFERENCE_PROFILE")]}, {})
    expect_profile(aws, HAIKU)
    expect_availability(aws, HAIKU)
    expect_use_case(aws)

    results = check_models(aws, configure(api=ONE_MODEL), CONTEXT)

    assert results[1] == Result(FAIL, "model", TITAN, "not offered in us-east-1", "choose a model this region offers")


@pytest.mark.parametrize(
    ("fields", "status", "detail", "fix_mentions"),
    [
        pytest.param(
            {"agreement": "NOT_AVAILABLE"},
            WARN,
            "no Marketplace agreement yet",
            ["submit the Anthropic use-case form", FIRST_USE],
            id="agreement not accepted",
        ),
        pytest.param(
            {"agreement": "PENDING"}, WARN, "Marketplace agreement pending", ["wait a few minutes"], id="pending"
        ),
        pytest.param(
            {"agreement": "ERROR", "error_message": "Payment instrument invalid"},
            FAIL,
            "Marketplace agreement failed: Payment instrument invalid",
            ["payment method", FIRST_USE],
            id="agreement error",
        ),
        pytest.param(
            {"authorization": "NOT_AUTHORIZED"},
            FAIL,
            "the account is not authorized to use it",
            ["use-case form", FIRST_USE],
            id="not authorized",
        ),
        pytest.param(
            {"entitlement": "NOT_AVAILABLE", "agreement": "NOT_AVAILABLE"},
            WARN,
            "not yet enabled for the account; no Marketplace agreement yet",
            [FIRST_USE],
            id="first use",
        ),
    ],
)
def test_models_report_what_stands_between_the_account_and_the_model(
    aws: Aws, fields: dict[str, str], status: str, detail: str, fix_mentions: list[str]
) -> None:
    aws.respond("bedrock", "list_foundation_models", OFFERED, {})
    expect_profile(aws, HAIKU)
    expect_availability(aws, HAIKU, **fields)
    expect_availability(aws, TITAN)
    expect_use_case(aws)

    haiku = check_models(aws, configure(api=ONE_MODEL), CONTEXT)[0]

    assert (haiku.status, haiku.detail) == (status, detail)
    assert all(text in haiku.fix for text in fix_mentions)
    assert haiku.fix.count(FIRST_USE) <= 1


def test_models_warn_about_legacy_models_and_fail_on_region_availability(aws: Aws) -> None:
    legacy = {"modelSummaries": [summary(HAIKU, "INFERENCE_PROFILE", lifecycle="LEGACY"), summary(TITAN)]}
    aws.respond("bedrock", "list_foundation_models", legacy, {})
    expect_profile(aws, HAIKU)
    expect_availability(aws, HAIKU, region="NOT_AVAILABLE")  # served from other regions through the profile
    expect_availability(aws, TITAN, region="NOT_AVAILABLE")
    expect_use_case(aws)

    haiku, titan, _ = check_models(aws, configure(api=ONE_MODEL), CONTEXT)

    assert (haiku.status, haiku.detail, haiku.fix) == (
        WARN,
        "a legacy model: Bedrock will retire it",
        "move to its successor",
    )
    assert (titan.status, titan.detail) == (FAIL, "not available in this region")


def test_models_warn_per_model_when_a_call_is_denied(aws: Aws) -> None:
    aws.respond("bedrock", "list_foundation_models", OFFERED, {})
    expect_profile(aws, HAIKU)
    aws.error("bedrock", "get_foundation_model_availability", "AccessDeniedException", "not authorized")
    expect_availability(aws, TITAN)
    aws.error("bedrock", "get_use_case_for_model_access", "ResourceNotFoundException", "no use case")

    results = check_models(aws, configure(api=ONE_MODEL), CONTEXT)

    assert results == [
        Result(
            WARN,
            "model",
            HAIKU,
            "could not check: needs bedrock:GetFoundationModelAvailability",
            "allow bedrock:GetFoundationModelAvailability to check it",
        ),
        Result(PASS, "model", TITAN, "callable on demand"),
        Result(
            WARN,
            "model",
            "Anthropic use case",
            "no use-case form on record for this account",
            "submit it once (Bedrock console, Model catalog, any Anthropic model) unless your organization did",
        ),
    ]


def test_models_skip_the_use_case_without_anthropic_models(aws: Aws) -> None:
    nova_only = {"models": [{"model": NOVA, "name": "Nova Pro"}], "generation_model": NOVA}
    aws.respond("bedrock", "list_foundation_models", OFFERED, {})
    expect_profile(aws, NOVA)
    expect_availability(aws, NOVA)
    expect_availability(aws, TITAN)

    results = check_models(aws, configure(api=nova_only, agent={"model": NOVA}), CONTEXT)

    assert [r.subject for r in results] == [NOVA, TITAN]


# --- services ---


def expect_services(aws: Aws, *, vector_store: str = "s3vectors", agentcore: bool = True) -> None:
    one = {"maxResults": 1}
    aws.respond("bedrock-agent", "list_knowledge_bases", {"knowledgeBaseSummaries": []}, one)
    aws.respond("bedrock", "list_guardrails", {"guardrails": []}, one)
    if vector_store == "s3vectors":
        aws.respond("s3vectors", "list_vector_buckets", {"vectorBuckets": []}, one)
    else:
        aws.respond("opensearchserverless", "list_collections", {"collectionSummaries": []}, one)
    if agentcore:
        aws.respond("bedrock-agentcore-control", "list_harnesses", {"harnesses": []}, one)
        aws.respond("bedrock-agentcore-control", "list_gateways", {"items": []}, one)
        aws.respond("bedrock-agentcore-control", "list_memories", {"memories": []}, one)


def test_services_pass_when_the_region_offers_them(aws: Aws) -> None:
    expect_services(aws)

    results = check_services(aws, configure(), CONTEXT)

    labels = [
        "Knowledge bases",
        "Guardrails",
        "S3 Vectors",
        "AgentCore harness",
        "AgentCore gateway",
        "AgentCore memory",
    ]
    assert results == [Result(PASS, "service", label, "offered in us-east-1") for label in labels]


def test_services_probe_opensearch_when_it_is_the_vector_store(aws: Aws) -> None:
    expect_services(aws, vector_store="opensearch")

    results = check_services(aws, configure(knowledge_base={"vector_store": "opensearch"}), CONTEXT)

    assert results[2] == Result(PASS, "service", "OpenSearch Serverless", "offered in us-east-1")


def test_services_fail_where_the_region_has_no_endpoint(aws: Aws) -> None:
    """A service without an endpoint in the region cannot be connected to: a closed local port stands in for it."""
    expect_services(aws, agentcore=False)
    aws.clients["bedrock-agentcore-control"] = boto3.client(
        "bedrock-agentcore-control",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy credential for a request that cannot connect
        config=Config(retries={"total_max_attempts": 1}),
    )

    results = check_services(aws, configure(), CONTEXT)

    expected = Result(
        FAIL, "service", "AgentCore harness", "not offered in us-east-1", "deploy to a region that offers it"
    )
    assert results[3] == expected
    assert [r.status for r in results] == [PASS, PASS, PASS, FAIL, FAIL, FAIL]


def test_services_fail_on_not_supported_in_this_region_and_warn_when_denied(aws: Aws) -> None:
    one = {"maxResults": 1}
    unsupported = "Knowledge bases are not supported in this region"
    aws.error("bedrock-agent", "list_knowledge_bases", "ValidationException", unsupported, one)
    denied = "User is not authorized to perform bedrock:ListGuardrails in region us-east-1"
    aws.error("bedrock", "list_guardrails", "AccessDeniedException", denied, one)
    aws.respond("s3vectors", "list_vector_buckets", {"vectorBuckets": []}, one)
    aws.respond("bedrock-agentcore-control", "list_harnesses", {"harnesses": []}, one)
    aws.respond("bedrock-agentcore-control", "list_gateways", {"items": []}, one)
    aws.error("bedrock-agentcore-control", "list_memories", "ThrottlingException", "Rate\nexceeded", one)

    results = check_services(aws, configure(), CONTEXT)

    assert results[0] == Result(
        FAIL, "service", "Knowledge bases", "not offered in us-east-1", "deploy to a region that offers it"
    )
    assert results[1] == Result(
        WARN,
        "service",
        "Guardrails",
        "could not check: needs bedrock:ListGuardrails",
        "allow bedrock:ListGuardrails to check it",
    )
    assert results[5] == Result(
        WARN,
        "service",
        "AgentCore memory",
        "could not check: ListMemories failed: ThrottlingException: Rate exceeded",
        "run the doctor again",
    )


# --- Lambda concurrency ---


def expect_limits(aws: Aws, limit: int, unreserved: int) -> None:
    limits = {"ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": unreserved}
    aws.respond("lambda", "get_account_settings", {"AccountLimit": limits}, {})


RESERVED = {"Ingestion": 2, "Agent/Tools": 2, "Api": 10}


@pytest.fixture
def reserved(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The app's reservations stand as RESERVED: these tests are about the account, not about building the app."""
    monkeypatch.setattr(doctor, "reservations", lambda config: dict(RESERVED))
    return RESERVED


@pytest.mark.usefixtures("reserved")
def test_concurrency_passes_with_room_for_the_reservations(aws: Aws) -> None:
    expect_limits(aws, 1000, 1000)

    results = check_concurrency(aws, configure(), CONTEXT)

    detail = "14 reserved (Ingestion 2, Agent/Tools 2, Api 10) of 1000 unreserved"
    assert results == [Result(PASS, "concurrency", "reservations", detail)]


@pytest.mark.usefixtures("reserved")
def test_concurrency_fails_when_the_reservations_would_leave_fewer_than_100_unreserved(aws: Aws) -> None:
    expect_limits(aws, 1000, 110)  # other functions already reserve 890

    results = check_concurrency(aws, configure(), CONTEXT)

    assert len(results) == 1
    assert (results[0].status, results[0].detail) == (
        FAIL,
        "the functions reserve 14 (Ingestion 2, Agent/Tools 2, Api 10) of 110 unreserved; Lambda keeps 100 free",
    )
    assert "L-B99A9384" in results[0].fix
    assert "to at least 1004" in results[0].fix  # 100 free + 890 reserved elsewhere + 14


@pytest.mark.usefixtures("reserved")
def test_concurrency_fails_and_warns_on_a_new_accounts_limit(aws: Aws) -> None:
    expect_limits(aws, 10, 10)

    results = check_concurrency(aws, configure(), CONTEXT)

    assert [(r.status, r.subject) for r in results] == [(FAIL, "reservations"), (WARN, "account limit")]
    assert results[0].detail.endswith("of 10 unreserved; Lambda keeps 10 free")
    assert "to at least 114" in results[0].fix
    assert results[1].detail == "10 concurrent executions in us-east-1: calls beyond that are throttled"
    assert "L-B99A9384" in results[1].fix


def test_reservations_follow_the_configuration() -> None:
    found = reservations(configure(api={"reserved_concurrency": 7}))

    assert set(found) == {"Ingestion", "Agent/StatusTools", "Agent/KnowledgeTools", "Api", "Api/StreamFunction"}
    assert found["Api"] == found["Api/StreamFunction"] == 7


def test_concurrency_only_warns_about_a_small_limit_when_nothing_is_reserved(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor, "reservations", lambda config: {"Api": 0})
    expect_limits(aws, 10, 10)

    results = check_concurrency(aws, configure(), CONTEXT)

    assert [(r.status, r.subject, r.detail) for r in results] == [
        (PASS, "reservations", "0 reserved (none) of 10 unreserved"),
        (WARN, "account limit", "10 concurrent executions in us-east-1: calls beyond that are throttled"),
    ]


def test_concurrency_warns_when_the_app_cannot_be_built(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(config: AppConfig) -> dict[str, int]:
        raise PackagingError("could not install lambda/api/requirements.txt for Lambda (synth needs PyPI once): boom")

    monkeypatch.setattr(doctor, "reservations", offline)
    expect_limits(aws, 1000, 1000)

    [result] = check_concurrency(aws, configure(), CONTEXT)

    assert (result.status, result.subject) == (WARN, "reservations")
    assert result.detail.startswith("could not build the app to read them: could not install")
    assert "make synth" in result.fix


def test_reservations_are_the_ones_the_templates_make(assembly: Assembly) -> None:
    """Each function of the synthesized templates that reserves concurrency (perhaps none), by construct path."""
    templates = [assembly.template(stack)["Resources"].values() for stack in assembly.stacks]
    reserved = {
        resource["Metadata"]["aws:cdk:path"]: resource["Properties"]["ReservedConcurrentExecutions"]
        for resources in templates
        for resource in resources
        if resource["Type"] == "AWS::Lambda::Function" and "ReservedConcurrentExecutions" in resource["Properties"]
    }

    found = {name: count for name, count in reservations(configure()).items() if count}

    assert len(found) == len(reserved)
    for name, count in found.items():
        [path] = [path for path in reserved if path.partition("/")[2].startswith(f"{name}/")]
        assert reserved[path] == count, path


# --- network ---


def zone(name: str, state: str = "available") -> dict[str, Any]:
    return {"ZoneName": name, "State": state, "ZoneType": "availability-zone", "RegionName": REGION}


ZONES = {"AvailabilityZones": [zone("us-east-1c"), zone("us-east-1a"), zone("us-east-1b"), zone("us-east-1d")]}


def expect_zones(aws: Aws, default_subnets: list[str], zones: dict[str, Any] = ZONES) -> None:
    zone_filter = {"Filters": [{"Name": "zone-type", "Values": ["availability-zone"]}]}
    aws.respond("ec2", "describe_availability_zones", zones, zone_filter)
    subnets = [{"AvailabilityZone": name, "SubnetId": f"subnet-{name[-1]}"} for name in default_subnets]
    subnet_filter = {"Filters": [{"Name": "default-for-az", "Values": ["true"]}]}
    aws.respond("ec2", "describe_subnets", {"Subnets": subnets}, subnet_filter)


def expect_endpoint_service(aws: Aws, name: str, azs: list[str]) -> None:
    service = f"com.amazonaws.{REGION}.{name}"
    details = {"ServiceDetails": [{"ServiceName": service, "AvailabilityZones": azs}]}
    aws.respond("ec2", "describe_vpc_endpoint_services", details, {"ServiceNames": [service]})


ENDPOINTS = configure().network.interface_endpoints


def test_network_passes_when_every_endpoint_is_offered_in_the_first_az(aws: Aws) -> None:
    expect_zones(aws, default_subnets=[])
    for name in ENDPOINTS:
        expect_endpoint_service(aws, name, ["us-east-1a", "us-east-1b"])

    results = check_network(aws, configure(), CONTEXT)

    assert results == [
        Result(PASS, "network", "availability zones", "us-east-1a, us-east-1b"),
        *(Result(PASS, "network", name, "offered in us-east-1a") for name in ENDPOINTS),
    ]


def test_network_fails_when_an_endpoint_is_missing_from_an_az_it_goes_in(aws: Aws) -> None:
    expect_zones(aws, default_subnets=[])
    for name in ENDPOINTS:
        offered = ["us-east-1b", "us-east-1c"] if name == "bedrock-agentcore" else ["us-east-1a"]
        expect_endpoint_service(aws, name, offered)

    results = check_network(aws, configure(), CONTEXT)

    agent = results[1 + ENDPOINTS.index("bedrock-agentcore")]
    assert (agent.status, agent.subject) == (FAIL, "bedrock-agentcore")
    assert agent.detail == "not offered in us-east-1a, where the stack puts it (offered in: us-east-1b, us-east-1c)"
    assert agent.fix.startswith("drop bedrock-agentcore from network.interface_endpoints")


def test_network_places_endpoints_in_the_azs_with_a_default_subnet(aws: Aws) -> None:
    """Fn::GetAZs lists only the AZs with a default subnet when the account has any."""
    expect_zones(aws, default_subnets=["us-east-1d", "us-east-1c"])
    for name in ENDPOINTS:
        expect_endpoint_service(aws, name, ["us-east-1c"])

    results = check_network(aws, configure(), CONTEXT)

    assert results[0].detail == "us-east-1c, us-east-1d"
    assert {r.detail for r in results[1:]} == {"offered in us-east-1c"}


def test_network_checks_an_existing_vpcs_own_azs_without_asking_ec2_for_the_regions(aws: Aws) -> None:
    vpc = {
        "vpc_id": "vpc-0a1b2c3d4e5f67890",
        "cidr": "10.20.0.0/16",
        "availability_zones": ["us-east-1d", "us-east-1b"],
        "subnet_ids": ["subnet-0aa11bb22cc33dd44", "subnet-0ee55ff6600778899"],
        "route_table_ids": ["rtb-0aa11bb22cc33dd44", "rtb-0aa11bb22cc33dd44"],
    }
    config = configure(network={"existing_vpc": vpc, "interface_endpoints": ["bedrock-runtime"], "endpoint_azs": 2})
    expect_endpoint_service(aws, "bedrock-runtime", ["us-east-1b"])

    results = check_network(aws, config, CONTEXT)

    assert results == [
        Result(PASS, "network", "availability zones", "us-east-1d, us-east-1b (network.existing_vpc)"),
        Result(
            FAIL,
            "network",
            "bedrock-runtime",
            "not offered in us-east-1d, where the stack puts it (offered in: us-east-1b)",
            "drop bedrock-runtime from network.interface_endpoints (with network.egress=nat the functions reach it)",
        ),
    ]


def test_network_fails_when_fn_getazs_gives_too_few_azs(aws: Aws) -> None:
    expect_zones(aws, default_subnets=["us-east-1a", "us-east-1b"])

    results = check_network(aws, configure(profile="prod"), CONTEXT)

    assert results == [
        Result(
            FAIL,
            "network",
            "availability zones",
            "Fn::GetAZs gives 2 (us-east-1a, us-east-1b); network.max_azs is 3",
            "set network.max_azs to 2, or give every AZ a default subnet (aws ec2 create-default-subnet)",
        )
    ]


def test_network_skips_azs_that_are_not_available(aws: Aws) -> None:
    zones = {"AvailabilityZones": [zone("us-east-1a", state="impaired"), zone("us-east-1b"), zone("us-east-1c")]}
    expect_zones(aws, default_subnets=[], zones=zones)
    expect_endpoint_service(aws, "xray", ["us-east-1b"])

    results = check_network(aws, configure(network={"interface_endpoints": ["xray"]}), CONTEXT)

    assert [r.detail for r in results] == ["us-east-1b, us-east-1c", "offered in us-east-1b"]


def test_network_fails_when_the_region_has_no_such_endpoint_service(aws: Aws) -> None:
    expect_zones(aws, default_subnets=[])
    service = f"com.amazonaws.{REGION}.xray"
    message = f"The Vpc Endpoint Service '{service}' does not exist"
    aws.error("ec2", "describe_vpc_endpoint_services", "InvalidServiceName", message, {"ServiceNames": [service]})

    results = check_network(aws, configure(network={"interface_endpoints": ["xray"]}), CONTEXT)

    assert (results[1].status, results[1].detail) == (FAIL, f"no {service} endpoint service")


def test_interface_endpoints_go_in_the_first_azs_of_fn_getazs(assembly: Assembly) -> None:
    """What check_network assumes of the template: endpoint service names, and subnets in the first AZs."""
    config = configure()
    resources = assembly.template("Foundation")["Resources"]
    endpoints = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::EC2::VPCEndpoint"]
    interface = [e for e in endpoints if e.get("VpcEndpointType") == "Interface"]

    names = [e["ServiceName"]["Fn::Join"][1][-1].removeprefix(".") for e in interface]
    subnets = [resources[ref["Ref"]]["Properties"] for e in interface for ref in e["SubnetIds"]]
    azs = {subnet["AvailabilityZone"]["Fn::Select"][0] for subnet in subnets}
    assert sorted(names) == sorted(config.network.interface_endpoints)
    assert [e["ServiceName"]["Fn::Join"][1][0] for e in interface] == ["com.amazonaws."] * len(interface)
    assert azs == set(range(config.network.endpoint_azs))


# --- Cognito domain ---

DOMAIN = f"bedrockgenai-application-{ACCOUNT}"
POOL = "us-east-1_AbCdEf123"


def expect_domain(aws: Aws, description: dict[str, Any]) -> None:
    aws.respond("cognito-idp", "describe_user_pool_domain", {"DomainDescription": description}, {"Domain": DOMAIN})


def expect_pool_in_stack(aws: Aws, stack: str | None) -> None:
    params = {"PhysicalResourceId": POOL}
    if stack is None:
        message = f"Stack for {POOL} does not exist"
        aws.error("cloudformation", "describe_stack_resources", "ValidationError", message, params)
        return
    resource = {
        "StackName": stack,
        "LogicalResourceId": "ApiUsers",
        "PhysicalResourceId": POOL,
        "ResourceType": "AWS::Cognito::UserPool",
        "Timestamp": NOW,
        "ResourceStatus": "CREATE_COMPLETE",
    }
    aws.respond("cloudformation", "describe_stack_resources", {"StackResources": [resource]}, params)


def test_cognito_passes_when_the_domain_is_free(aws: Aws) -> None:
    expect_domain(aws, {})

    assert check_cognito(aws, configure(), CONTEXT) == [Result(PASS, "cognito", DOMAIN, "domain prefix is free")]


def test_cognito_passes_when_the_lookup_finds_no_domain(aws: Aws) -> None:
    aws.error("cognito-idp", "describe_user_pool_domain", "ResourceNotFoundException", "no domain", {"Domain": DOMAIN})

    assert check_cognito(aws, configure(), CONTEXT)[0].status == PASS


def test_cognito_passes_when_the_domain_is_this_stacks(aws: Aws) -> None:
    expect_domain(aws, {"UserPoolId": POOL, "AWSAccountId": ACCOUNT, "Domain": DOMAIN, "Status": "ACTIVE"})
    expect_pool_in_stack(aws, "BedrockGenAi-Application")

    results = check_cognito(aws, configure(), CONTEXT)

    assert results == [Result(PASS, "cognito", DOMAIN, "already the domain of BedrockGenAi-Application's user pool")]


@pytest.mark.parametrize(
    ("stack", "where"),
    [
        pytest.param("Other-Application", "stack Other-Application", id="another stack"),
        pytest.param(None, "no CloudFormation stack", id="no stack"),
    ],
)
def test_cognito_fails_when_another_user_pool_holds_the_domain(aws: Aws, stack: str | None, where: str) -> None:
    expect_domain(aws, {"UserPoolId": POOL, "AWSAccountId": ACCOUNT, "Domain": DOMAIN, "Status": "ACTIVE"})
    expect_pool_in_stack(aws, stack)

    results = check_cognito(aws, configure(), CONTEXT)

    fix = f"delete it (aws cognito-idp delete-user-pool-domain --domain {DOMAIN} --user-pool-id {POOL})"
    assert results == [
        Result(FAIL, "cognito", DOMAIN, f"taken by user pool {POOL} ({where})", f"{fix} or change stack_prefix")
    ]


def test_domain_prefix_is_the_one_the_template_asks_for(assembly: Assembly) -> None:
    domains = [
        resource["Properties"]["Domain"]
        for resource in assembly.template("Application")["Resources"].values()
        if resource["Type"] == "AWS::Cognito::UserPoolDomain"
    ]
    [(separator, [prefix, account])] = [domain["Fn::Join"] for domain in domains]

    assert account == {"Ref": "AWS::AccountId"}
    assert domain_prefix(configure(), ACCOUNT) == f"{prefix}{separator}{ACCOUNT}"
    assert domain_prefix(configure(stack_prefix="AcmeGenAi"), ACCOUNT) == f"acmegenai-application-{ACCOUNT}"


# --- runner, table, IAM actions ---


def test_run_checks_turns_a_denied_call_into_a_warning(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "CHECKS", (("concurrency", check_concurrency),))
    aws.error("lambda", "get_account_settings", "AccessDeniedException", "User is not authorized", {})

    results = run_checks(aws, configure(), CONTEXT)

    assert results == [
        Result(
            WARN,
            "concurrency",
            "GetAccountSettings",
            "could not check: needs lambda:GetAccountSettings",
            "allow lambda:GetAccountSettings to check it",
        )
    ]


def test_render_table_aligns_the_columns_and_puts_each_fix_under_its_line() -> None:
    results = [
        Result(PASS, "bootstrap", "CDKToolkit", "version 30"),
        Result(FAIL, "network", "bedrock-agent", "not offered in us-east-1a", "drop it"),
        Result(WARN, "concurrency", "account limit", "10 concurrent executions", "request more"),
    ]

    assert render_table(results) == (
        "PASS  bootstrap    CDKToolkit     version 30\n"
        "FAIL  network      bedrock-agent  not offered in us-east-1a\n"
        "      fix: drop it\n"
        "WARN  concurrency  account limit  10 concurrent executions\n"
        "      fix: request more\n"
        "1 passed, 1 warnings, 1 failed"
    )


def test_iam_actions_name_real_operations() -> None:
    services = {
        "sts": ["sts"],
        "cloudformation": ["cloudformation"],
        "ssm": ["ssm"],
        "bedrock": ["bedrock", "bedrock-agent"],
        "s3vectors": ["s3vectors"],
        "aoss": ["opensearchserverless"],
        "bedrock-agentcore": ["bedrock-agentcore-control"],
        "lambda": ["lambda"],
        "ec2": ["ec2"],
        "cognito-idp": ["cognito-idp"],
    }
    session = botocore.session.get_session()

    for operation, action in IAM_ACTIONS.items():
        prefix, _, name = action.partition(":")
        models = [session.get_service_model(service) for service in services[prefix]]
        assert name == operation
        assert any(operation in model.operation_names for model in models), action


# --- main ---


@dataclass
class FakeSession:
    """What main needs of a boto3 session: a default region and clients, here the stubbed ones."""

    aws: Aws
    region_name: str | None = REGION
    regions: set[str] = field(default_factory=set)

    def client(self, service: str, region_name: str) -> Any:
        self.regions.add(region_name)
        return self.aws(service)


def expect_account(aws: Aws, account: str = ACCOUNT) -> None:
    arn = f"arn:aws:sts::{account}:assumed-role/deployer/me"
    aws.respond("sts", "get_caller_identity", {"UserId": "AROA:me", "Account": account, "Arn": arn}, {})


ONE_MODEL_ARGS = ["-c", f"genai.api={json.dumps(ONE_MODEL)}"]
MAIN_CONFIG = configure(api=ONE_MODEL)  # what main reads: no settings in cdk.json (conftest), then ONE_MODEL_ARGS
# The findings of a run over MAIN_CONFIG: bootstrap, 3 models (Haiku, Titan, the Anthropic use case), 6 services,
# concurrency, the AZs and each interface endpoint, the Cognito domain.
FINDINGS = 1 + 3 + 6 + 1 + 1 + len(MAIN_CONFIG.network.interface_endpoints) + 1


def expect_healthy_account(aws: Aws, *, bootstrapped: bool = True) -> None:
    """Every call of a run over the dev configuration with ONE_MODEL, in a ready account."""
    expect_account(aws)
    if bootstrapped:
        expect_toolkit(aws, "30")
    else:
        aws.error("cloudformation", "describe_stacks", "ValidationError", "does not exist", {"StackName": "CDKToolkit"})
    expect_healthy_models(aws)
    expect_services(aws)
    expect_limits(aws, 1000, 1000)
    expect_zones(aws, default_subnets=[])
    for name in MAIN_CONFIG.network.interface_endpoints:
        expect_endpoint_service(aws, name, ["us-east-1a"])
    expect_domain(aws, {})


@pytest.fixture
def no_reservations(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's reservations without building it (the reservation tests build it): none, as by default."""
    monkeypatch.setattr(doctor, "reservations", lambda config: {"Api": 0})


@pytest.mark.usefixtures("no_reservations")
def test_main_exits_0_when_nothing_fails(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    expect_healthy_account(aws)

    code = main(ONE_MODEL_ARGS, session=FakeSession(aws))

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == f"doctor: BedrockGenAi (dev) in account {ACCOUNT}, region us-east-1"
    assert out[1].split() == ["PASS", "bootstrap", "CDKToolkit", "version", "30"]
    assert out[-1] == f"{FINDINGS} passed, 0 warnings, 0 failed"
    assert all(line.startswith("PASS ") for line in out[1:-1])


@pytest.mark.usefixtures("no_reservations")
def test_main_exits_1_on_a_failed_check(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    expect_healthy_account(aws, bootstrapped=False)

    code = main(ONE_MODEL_ARGS, session=FakeSession(aws))

    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  bootstrap" in out
    assert f"      fix: run `npx cdk bootstrap aws://{ACCOUNT}/us-east-1`\n" in out
    assert out.endswith(f"{FINDINGS - 1} passed, 0 warnings, 1 failed\n")


@pytest.mark.parametrize(
    ("argv", "session_region", "used"),
    [
        pytest.param(
            ["-c", "genai.region=eu-west-1", "-c", "genai.inference_profile=eu", "--region", "us-west-2"],
            "ap-south-1",
            "eu-west-1",
            id="config",
        ),
        pytest.param(["--region", "us-west-2"], "ap-south-1", "us-west-2", id="--region"),
        pytest.param([], "ap-south-1", "ap-south-1", id="session"),
    ],
)
def test_main_exits_2_for_another_account_after_resolving_the_region(
    aws: Aws, capsys: pytest.CaptureFixture[str], argv: list[str], session_region: str, used: str
) -> None:
    expect_account(aws, "999999999999")
    session = FakeSession(aws, region_name=session_region)

    code = main([*argv, "-c", f'genai.account="{ACCOUNT}"'], session=session)

    assert code == 2
    assert session.regions == {used}
    assert capsys.readouterr().err == (
        f"doctor: error: the credentials are for account 999999999999, the configuration's account is {ACCOUNT}\n"
    )


def test_main_exits_2_without_a_region(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([], session=FakeSession(aws, region_name=None))

    assert code == 2
    assert capsys.readouterr().err == (
        "doctor: error: no AWS region configured: pass --region, or set AWS_REGION or a profile's region\n"
    )


def test_main_exits_2_without_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remove_aws_environment(monkeypatch, tmp_path)

    code = main(["--region", "us-east-1"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == (
        "doctor: error: no AWS credentials found:"
        " configure them for the stack's account (AWS_PROFILE, aws sso login...)\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["-c", "genai.profile=staging"],
            'doctor: error: config error: profile="staging" is not one of: dev, prod',
            id="config",
        ),
        pytest.param(
            ["-c", "genai.profile"],
            "doctor.py: error: argument -c/--context: expected key=value, got 'genai.profile'",
            id="context pair",
        ),
        pytest.param(["--verbose"], "doctor.py: error: unrecognized arguments: --verbose", id="unknown option"),
    ],
)
def test_main_exits_2_on_bad_arguments(
    aws: Aws, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(argv, session=FakeSession(aws))

    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == message


def test_read_context_layers_the_pairs_over_cdk_json_as_strings() -> None:
    context = read_context([("genai.network.max_azs", "3"), ("genai", '{"profile": "prod"}')])

    assert context["genai"] == '{"profile": "prod"}'
    assert context["genai.network.max_azs"] == "3"
    assert context["@aws-cdk/core:checkSecretUsage"] is True
    assert load_config(context).network.max_azs == 3


def test_main_help_lists_the_iam_actions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: doctor.py [-h] [--region REGION] [--profile PROFILE] [-c KEY=VALUE]")
    assert "Exit codes:" in out
    assert all(action in out for action in IAM_ACTIONS.values())


def test_script_runs_as_a_program(tmp_path: Path) -> None:
    """`python scripts/doctor.py` from anywhere: --help works, a bad configuration exits 2 without a traceback."""
    help_run = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    error_run = subprocess.run(
        [sys.executable, str(SCRIPT), "-c", "genai.network.max_azs=9"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert help_run.returncode == 0
    assert "IAM actions it calls" in help_run.stdout
    assert (error_run.returncode, error_run.stdout) == (2, "")
    assert error_run.stderr == "doctor: error: config error: network.max_azs=9 is not an integer from 1 to 3\n"
