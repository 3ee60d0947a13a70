"""Every validation rule of stacks/config.py, with the exact one-line message a deployer sees."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stacks.config import (
    DEFAULT_INTERFACE_ENDPOINTS,
    LOG_RETENTION_DAYS,
    PII_ENTITIES,
    PROFILES,
    ConfigError,
    load_config,
    parse_settings,
)


def test_defaults_are_the_dev_profile_with_data_retained() -> None:
    config = load_config({})

    assert config.profile == "dev"
    assert config.retain_data
    assert config.account is None
    assert config.region is None
    assert config.termination_protection is False
    assert config.log_retention_days == 30
    assert config.network.egress == "none"
    assert not config.network.has_egress
    assert config.network.max_azs == 2
    assert config.network.endpoint_azs == 1
    assert config.network.interface_endpoints == DEFAULT_INTERFACE_ENDPOINTS


def test_prod_profile_hardens_the_defaults_and_still_retains_data() -> None:
    config = parse_settings({"profile": "prod"})

    assert config.termination_protection is True
    assert config.log_retention_days == 365
    assert config.network.max_azs == 3
    assert config.network.endpoint_azs == 2
    assert config.retain_data


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_retains_stateful_resources(profile: str) -> None:
    assert parse_settings({"profile": profile}).removal_policy == "retain"


def test_explicit_settings_win_over_the_profile() -> None:
    config = parse_settings({"profile": "prod", "log_retention_days": 90, "network": {"max_azs": 2}})

    assert config.log_retention_days == 90
    assert config.network.max_azs == 2
    assert config.network.endpoint_azs == 2  # from the profile, still within max_azs


def test_context_object_from_cdk_json_and_dotted_overrides_from_the_command_line() -> None:
    context = {
        "genai": {"profile": "dev", "network": {"egress": "nat"}},
        "genai.network.max_azs": "3",  # -c values arrive as strings
        "genai.removal_policy": "destroy",
        "genai.network.interface_endpoints": '["bedrock-runtime"]',
        "unrelated": "ignored",
    }

    config = load_config(context)

    assert config.network.egress == "nat"
    assert config.network.max_azs == 3
    assert config.removal_policy == "destroy"
    assert config.network.interface_endpoints == ("bedrock-runtime",)


def test_whole_object_given_as_json_text_with_dash_c() -> None:
    config = load_config({"genai": json.dumps({"profile": "prod", "account": "123456789012"})})

    assert config.profile == "prod"
    assert config.account == "123456789012"


def test_account_and_region_given_with_dash_c_as_the_cli_passes_them() -> None:
    context = {"genai.account": "123456789012", "genai.region": "eu-west-1", "genai.inference_profile": "eu"}
    config = load_config(context)

    assert (config.account, config.region) == ("123456789012", "eu-west-1")


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"genai.region": "eu-west-1"},
            'inference_profile="us" is not available in eu-west-1; use one of: eu, global, none',
        ),
        (
            {"genai.region": "us-west-1"},
            'region="us-west-1" is not a Region with',
        ),
        (
            {"genai.region": "ap-southeast-1", "genai.inference_profile": "apac"},
            'agent.model="anthropic.claude-haiku-4-5-20251001-v1:0" is not offered in ap-southeast-1 through the '
            "apac profile",
        ),
        (
            {
                "genai.region": "ap-southeast-1",
                "genai.inference_profile": "global",
                "genai.api.models": '[{"model": "anthropic.claude-haiku-4-5-20251001-v1:0", "name": "Haiku"}]',
            },
            'knowledge_base.embedding_model="amazon.titan-embed-text-v2:0" is not',
        ),
    ],
    ids=["the us profile in Europe", "no AgentCore in us-west-1", "no Haiku through apac", "no Titan v2 in Singapore"],
)
def test_a_pinned_region_that_cannot_run_the_config_stops_synth(context: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(context)

    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_an_environment_agnostic_config_is_not_checked_against_a_region() -> None:
    assert load_config({"genai.inference_profile": "jp"}).region is None


@pytest.mark.parametrize(
    ("context", "account"),
    [
        ({"genai": {"account": 123456789012}}, "123456789012"),  # a JSON number in cdk.json
        ({"genai": '{"account": 123456789012}'}, "123456789012"),
        ({"genai.account": "012345678901"}, "012345678901"),  # not JSON (leading zero): stays text
        ({"genai.account": "null"}, None),
    ],
)
def test_account_may_be_a_twelve_digit_number(context: dict[str, Any], account: str | None) -> None:
    assert load_config(context).account == account


def test_overrides_do_not_change_the_context_they_were_read_from() -> None:
    context: dict[str, Any] = {"genai": {"network": {"max_azs": 1}}, "genai.network.max_azs": "2"}

    load_config(context)

    assert context["genai"] == {"network": {"max_azs": 1}}


TOP_LEVEL_KEYS = (
    "account, agent, api, guardrail, inference_profile, knowledge_base, log_retention_days, network, "
    "observability, profile, region, removal_policy, stack_prefix, termination_protection"
)
TITAN = "amazon.titan-embed-text-v2:0"

BAD_SETTINGS = [
    ({"profile": "staging"}, 'profile="staging" is not one of: dev, prod'),
    (
        {"bogus": 1},
        "bogus=1 is not a known setting; known: " + TOP_LEVEL_KEYS,
    ),
    (
        {"network": {"max_az": 2}},
        "network.max_az=2 is not a known setting; known: cidr, egress, endpoint_azs, existing_vpc, flow_logs, "
        "interface_endpoints, max_azs, nat_gateways",
    ),
    ({"network": "big"}, 'network="big" is not an object'),
    ({"stack_prefix": "my-stack"}, 'stack_prefix="my-stack" is not a letter then up to 31 letters or digits'),
    ({"stack_prefix": "A" * 33}, f'stack_prefix="{"A" * 33}" is not a letter then up to 31 letters or digits'),
    ({"account": "1234"}, 'account="1234" is not a 12-digit AWS account id or null'),
    ({"account": 12345678901}, "account=12345678901 is not a 12-digit AWS account id or null"),
    ({"account": 1234567890123}, "account=1234567890123 is not a 12-digit AWS account id or null"),
    ({"account": True}, "account=true is not a 12-digit AWS account id or null"),
    ({"region": "Europe"}, 'region="Europe" is not an AWS region name like eu-west-1 or null'),
    ({"removal_policy": "snapshot"}, 'removal_policy="snapshot" is not one of: retain, destroy'),
    (
        {"log_retention_days": 31},
        "log_retention_days=31 is not one of: " + ", ".join(str(d) for d in LOG_RETENTION_DAYS),
    ),
    (
        {"log_retention_days": True},
        "log_retention_days=true is not one of: " + ", ".join(str(d) for d in LOG_RETENTION_DAYS),
    ),
    ({"termination_protection": "yes"}, 'termination_protection="yes" is not one of: true, false'),
    (
        {"network": {"cidr": "10.0.0.0/8"}},
        'network.cidr="10.0.0.0/8" is not a private IPv4 CIDR block with a prefix length from /16 to /24',
    ),
    (
        {"network": {"cidr": "8.8.0.0/16"}},
        'network.cidr="8.8.0.0/16" is not a private IPv4 CIDR block with a prefix length from /16 to /24',
    ),
    (
        {"network": {"cidr": "10.0.0.1/16"}},
        'network.cidr="10.0.0.1/16" is not a private IPv4 CIDR block with a prefix length from /16 to /24',
    ),
    (
        {"network": {"cidr": 10}},
        "network.cidr=10 is not a private IPv4 CIDR block with a prefix length from /16 to /24",
    ),
    ({"network": {"max_azs": 4}}, "network.max_azs=4 is not an integer from 1 to 3"),
    ({"network": {"max_azs": 0}}, "network.max_azs=0 is not an integer from 1 to 3"),
    ({"network": {"max_azs": "two"}}, 'network.max_azs="two" is not an integer from 1 to 3'),
    ({"network": {"max_azs": 2.0}}, "network.max_azs=2.0 is not an integer from 1 to 3"),
    ({"network": {"egress": "igw"}}, 'network.egress="igw" is not one of: none, nat'),
    (
        {"network": {"max_azs": 2, "nat_gateways": 3}},
        "network.nat_gateways=3 is not an integer from 1 to 2 (network.max_azs)",
    ),
    (
        {"network": {"max_azs": 1, "endpoint_azs": 2}},
        "network.endpoint_azs=2 is not an integer from 1 to 1 (network.max_azs)",
    ),
    (
        {"network": {"interface_endpoints": ["bedrock"]}},
        'network.interface_endpoints=["bedrock"] is not a list '
        "of distinct values from: bedrock-runtime, bedrock-agent-runtime, bedrock-agent, bedrock-agentcore, xray",
    ),
    (
        {"network": {"interface_endpoints": ["xray", "xray"]}},
        'network.interface_endpoints=["xray", "xray"] is not a list of distinct values from: '
        "bedrock-runtime, bedrock-agent-runtime, bedrock-agent, bedrock-agentcore, xray",
    ),
    (
        {"network": {"interface_endpoints": "xray"}},
        'network.interface_endpoints="xray" is not a list of distinct '
        "values from: bedrock-runtime, bedrock-agent-runtime, bedrock-agent, bedrock-agentcore, xray",
    ),
    (
        {"knowledge_base": {"vector_store": "pinecone"}},
        'knowledge_base.vector_store="pinecone" is not one of: s3vectors, opensearch',
    ),
    (
        {"knowledge_base": {"embedding_model": "amazon.titan-embed-text-v1"}},
        'knowledge_base.embedding_model="amazon.titan-embed-text-v1" is not one of: amazon.titan-embed-text-v2:0, '
        "cohere.embed-multilingual-v3, cohere.embed-english-v3",
    ),
    (
        {"knowledge_base": {"embedding_dimensions": 768}},
        f"knowledge_base.embedding_dimensions=768 is not one of: 256, 512, 1024 (for {TITAN})",
    ),
    (
        {"knowledge_base": {"embedding_model": "cohere.embed-multilingual-v3", "embedding_dimensions": 512}},
        "knowledge_base.embedding_dimensions=512 is not one of: 1024 (for cohere.embed-multilingual-v3)",
    ),
    (
        {"knowledge_base": {"data_deletion_policy": "archive"}},
        'knowledge_base.data_deletion_policy="archive" is not one of: delete, retain',
    ),
    (
        {"knowledge_base": {"ingestion_batch_window_seconds": 301}},
        "knowledge_base.ingestion_batch_window_seconds=301 is not an integer from 1 to 300",
    ),
    (
        # The queue delivers batches of up to 1000 changes: Lambda needs a window of at least 1 s for over 10.
        {"knowledge_base": {"ingestion_batch_window_seconds": 0}},
        "knowledge_base.ingestion_batch_window_seconds=0 is not an integer from 1 to 300",
    ),
    (
        {"knowledge_base": {"ingestion_max_receives": 0}},
        "knowledge_base.ingestion_max_receives=0 is not an integer from 1 to 100",
    ),
    (
        {"knowledge_base": {"sample_documents": "no"}},
        'knowledge_base.sample_documents="no" is not one of: true, false',
    ),
    (
        {"knowledge_base": {"opensearch_standby_replicas": 1}},
        "knowledge_base.opensearch_standby_replicas=1 is not one of: true, false",
    ),
    (
        {"knowledge_base": {"chunk": {}}},
        "knowledge_base.chunk={} is not a known setting; known: chunking, data_deletion_policy, embedding_dimensions, "
        "embedding_model, ingestion_batch_window_seconds, ingestion_max_receives, opensearch_standby_replicas, "
        "sample_documents, vector_store",
    ),
    (
        {"knowledge_base": {"chunking": {"strategy": "sentence"}}},
        'knowledge_base.chunking.strategy="sentence" is not one of: fixed, hierarchical, semantic, none',
    ),
    (
        {"knowledge_base": {"chunking": {"size": 3}}},
        "knowledge_base.chunking.size=3 is not a known setting; known: breakpoint_percentile, buffer_size, "
        "child_max_tokens, max_tokens, overlap_percentage, overlap_tokens, parent_max_tokens, strategy",
    ),
    (
        {"knowledge_base": {"chunking": {"max_tokens": 9000}}},
        f"knowledge_base.chunking.max_tokens=9000 is not an integer from 1 to 8192 ({TITAN} input limit)",
    ),
    (
        {"knowledge_base": {"embedding_model": "cohere.embed-english-v3", "chunking": {"max_tokens": 600}}},
        "knowledge_base.chunking.max_tokens=600 is not an integer from 1 to 512 (cohere.embed-english-v3 input limit)",
    ),
    (
        {"knowledge_base": {"chunking": {"overlap_percentage": 100}}},
        "knowledge_base.chunking.overlap_percentage=100 is not an integer from 1 to 99",
    ),
    (
        {"knowledge_base": {"chunking": {"parent_max_tokens": 0}}},
        "knowledge_base.chunking.parent_max_tokens=0 is not an integer from 1 to 8192",
    ),
    (
        {"knowledge_base": {"chunking": {"parent_max_tokens": 500, "child_max_tokens": 600}}},
        "knowledge_base.chunking.child_max_tokens=600 is not an integer from 1 to 500 "
        f"(knowledge_base.chunking.parent_max_tokens and the {TITAN} input limit)",
    ),
    (
        {"knowledge_base": {"chunking": {"overlap_tokens": 0}}},
        "knowledge_base.chunking.overlap_tokens=0 is not an integer from 1 to 1000",
    ),
    (
        {"knowledge_base": {"chunking": {"breakpoint_percentile": 40}}},
        "knowledge_base.chunking.breakpoint_percentile=40 is not an integer from 50 to 99",
    ),
    (
        {"knowledge_base": {"chunking": {"buffer_size": 2}}},
        "knowledge_base.chunking.buffer_size=2 is not an integer from 0 to 1",
    ),
    ({"guardrail": {"tier": "premium"}}, 'guardrail.tier="premium" is not one of: classic, standard'),
    (
        {"guardrail": {"tier": "standard"}},
        "guardrail.guardrail_profile=null is not set: the standard tier needs a cross-region guardrail profile",
    ),
    (
        {"guardrail": {"guardrail_profile": "us-guardrail"}},
        'guardrail.guardrail_profile="us-guardrail" is not like us.guardrail.v1:0 or null',
    ),
    (
        {"guardrail": {"content_filters": {"hate": {"input": "extreme", "output": "high"}}}},
        'guardrail.content_filters.hate.input="extreme" is not one of: none, low, medium, high',
    ),
    (
        {"guardrail": {"content_filters": {"hate": {"output": "max"}}}},
        'guardrail.content_filters.hate.output="max" is not one of: none, low, medium, high',
    ),
    (
        {"guardrail": {"content_filters": {"spam": {"input": "high", "output": "high"}}}},
        'guardrail.content_filters.spam={"input": "high", "output": "high"} is not a known setting; known: hate, '
        "insults, misconduct, sexual, violence",
    ),
    ({"guardrail": {"prompt_attack": "none"}}, 'guardrail.prompt_attack="none" is not one of: low, medium, high'),
    ({"guardrail": {"profanity": "yes"}}, 'guardrail.profanity="yes" is not one of: true, false'),
    ({"guardrail": {"image_filters": 0}}, "guardrail.image_filters=0 is not one of: true, false"),
    ({"guardrail": {"grounding_threshold": 1}}, "guardrail.grounding_threshold=1 is not a number from 0 to 0.99"),
    ({"guardrail": {"relevance_threshold": -0.1}}, "guardrail.relevance_threshold=-0.1 is not a number from 0 to 0.99"),
    (
        {"guardrail": {"relevance_threshold": "high"}},
        'guardrail.relevance_threshold="high" is not a number from 0 to 0.99',
    ),
    (
        {"guardrail": {"pii": {"SSN": "block"}}},
        'guardrail.pii.SSN="block" is not a known setting; known: ' + ", ".join(sorted(PII_ENTITIES)),
    ),
    (
        {"guardrail": {"pii": {"EMAIL": "mask"}}},
        'guardrail.pii.EMAIL="mask" is not one of: block, anonymize, none',
    ),
    (
        {"guardrail": {"regexes": [{"name": "ticket", "pattern": "TCK-(\\d", "action": "block"}]}},
        'guardrail.regexes[0].pattern="TCK-(\\\\d" is not a valid regular expression (missing ), unterminated '
        "subpattern at position 4)",
    ),
    (
        {"guardrail": {"regexes": [{"name": "ticket", "pattern": "TCK", "action": "hide"}]}},
        'guardrail.regexes[0].action="hide" is not one of: block, anonymize',
    ),
    (
        {"guardrail": {"regexes": [{"name": "", "pattern": "TCK", "action": "block"}]}},
        'guardrail.regexes[0].name="" is not a non-empty string of at most 100 characters',
    ),
    (
        {"guardrail": {"regexes": {"name": "x"}}},
        'guardrail.regexes={"name": "x"} is not a list of at most 30 objects with name, pattern, action and '
        "description",
    ),
    (
        {"guardrail": {"blocked_input_message": "x" * 501}},
        f'guardrail.blocked_input_message="{"x" * 501}" is not a non-empty string of at most 500 characters',
    ),
    (
        {"guardrail": {"blocked_output_message": " "}},
        'guardrail.blocked_output_message=" " is not a non-empty string of at most 500 characters',
    ),
    (
        {"agent": {"model": "Claude 4"}},
        'agent.model="Claude 4" is not a Bedrock model id like amazon.nova-pro-v1:0',
    ),
    ({"inference_profile": "emea"}, 'inference_profile="emea" is not one of: us, eu, apac, jp, au, global, none'),
    ({"agent": {"max_iterations": 0}}, "agent.max_iterations=0 is not an integer from 1 to 50"),
    ({"agent": {"max_tokens": 100}}, "agent.max_tokens=100 is not an integer from 256 to 8192"),
    ({"agent": {"max_turn_tokens": 999}}, "agent.max_turn_tokens=999 is not an integer from 1000 to 200000"),
    ({"agent": {"timeout_seconds": 901}}, "agent.timeout_seconds=901 is not an integer from 10 to 900"),
    ({"agent": {"idle_timeout_seconds": 30}}, "agent.idle_timeout_seconds=30 is not an integer from 60 to 28800"),
    ({"agent": {"max_lifetime_seconds": 30}}, "agent.max_lifetime_seconds=30 is not an integer from 60 to 28800"),
    ({"agent": {"memory": "on"}}, 'agent.memory="on" is not one of: true, false'),
    # CloudFormation accepts an AgentCore Memory event expiry of 3 to 365 days.
    ({"agent": {"memory_days": 2}}, "agent.memory_days=2 is not an integer from 3 to 365"),
    ({"agent": {"memory_days": 366}}, "agent.memory_days=366 is not an integer from 3 to 365"),
    ({"agent": {"memory_messages": 0}}, "agent.memory_messages=0 is not an integer from 1 to 100"),
    (
        {"agent": {"instruction": "Be nice."}},
        'agent.instruction="Be nice." is not a known setting; known: idle_timeout_seconds, instruction_file, '
        "max_iterations, max_lifetime_seconds, max_tokens, max_turn_tokens, memory, memory_days, memory_messages, "
        "model, timeout_seconds",
    ),
    ({"api": {"waf": "on"}}, 'api.waf="on" is not one of: true, false'),
    ({"api": {"mfa": "sms"}}, 'api.mfa="sms" is not one of: off, optional, required'),
    ({"api": {"throttle_rate": 0}}, "api.throttle_rate=0 is not an integer from 1 to 10000"),
    ({"api": {"throttle_burst": 5001}}, "api.throttle_burst=5001 is not an integer from 1 to 5000"),
    ({"api": {"waf_rate_limit": 5}}, "api.waf_rate_limit=5 is not an integer from 10 to 2000000000"),
    ({"api": {"memory_mb": 64}}, "api.memory_mb=64 is not an integer from 128 to 10240"),
    ({"api": {"reserved_concurrency": 0}}, "api.reserved_concurrency=0 is not an integer from 1 to 1000 or null"),
    ({"api": {"deletion_protection": "no"}}, 'api.deletion_protection="no" is not one of: true, false'),
    (
        {"api": {"cors_origins": ["*"]}},
        'api.cors_origins=["*"] is not a list of origins like https://app.example.com (no paths, no *)',
    ),
    (
        {"api": {"cors_origins": ["https://app.example.com/path"]}},
        'api.cors_origins=["https://app.example.com/path"] is not a list of origins like https://app.example.com '
        "(no paths, no *)",
    ),
    ({"api": {"models": []}}, "api.models=[] is not a list of 1 to 10 objects with model and name"),
    (
        {"api": {"models": [{"model": "GPT", "name": "x"}]}},
        'api.models[0].model="GPT" is not a Bedrock model id',
    ),
    (
        {"api": {"models": [{"model": "amazon.nova-lite-v1:0", "name": ""}]}},
        'api.models[0].name="" is not a non-empty string of at most 60 characters',
    ),
    (
        {"api": {"models": [{"model": "amazon.nova-lite-v1:0", "name": "a", "region": "x"}]}},
        'api.models[0].region="x" is not a known setting; known: model, name',
    ),
    (
        {"api": {"generation_model": "amazon.titan-text-express-v1"}},
        'api.generation_model="amazon.titan-text-express-v1" is not one of the models in api.models',
    ),
    (
        {"guardrail": {"denied_topics_file": "prompts/missing.toml"}},
        'guardrail.denied_topics_file="prompts/missing.toml" is not a readable file, relative to the project root',
    ),
]


@pytest.mark.parametrize(("settings", "message"), BAD_SETTINGS, ids=[message for _, message in BAD_SETTINGS])
def test_bad_value_stops_with_one_line_naming_key_value_and_allowed(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings(settings)

    assert str(error.value) == message
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"genai": "prod"}, 'genai="prod" is not an object'),
        ({"genai": {"network": 3}, "genai.network.max_azs": "2"}, "network=3 is not an object"),
        (
            {"genai.netwrk.max_azs": "2"},
            'netwrk={"max_azs": 2} is not a known setting; known: ' + TOP_LEVEL_KEYS,
        ),
    ],
)
def test_bad_context_stops_with_one_line(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
        load_config(context)


def test_profile_per_az_counts_shrink_with_fewer_azs() -> None:
    config = parse_settings({"profile": "prod", "network": {"max_azs": 1, "egress": "nat"}})

    assert config.network.endpoint_azs == 1
    assert config.network.nat_gateways == 1


VPC = {
    "vpc_id": "vpc-0a1b2c3d4e5f67890",
    "cidr": "100.64.0.0/20",
    "availability_zones": ["eu-west-1a", "eu-west-1b"],
    "subnet_ids": ["subnet-0aa11bb2", "subnet-0ee55ff6600778899"],
    "route_table_ids": ["rtb-0aa11bb2", "rtb-0aa11bb2"],
}


def test_a_created_vpc_keeps_its_flow_logs_by_default() -> None:
    config = load_config({})

    assert config.network.existing_vpc is None
    assert config.network.flow_logs is True
    assert parse_settings({"network": {"flow_logs": False}}).network.flow_logs is False


def test_an_existing_vpc_is_taken_as_given_and_stands_in_for_the_created_vpcs_shape() -> None:
    network = parse_settings({"profile": "prod", "network": {"existing_vpc": VPC, "egress": "none"}}).network

    assert network.existing_vpc is not None
    assert network.existing_vpc.vpc_id == "vpc-0a1b2c3d4e5f67890"
    assert network.existing_vpc.availability_zones == ("eu-west-1a", "eu-west-1b")
    assert network.existing_vpc.subnet_ids == ("subnet-0aa11bb2", "subnet-0ee55ff6600778899")
    assert network.existing_vpc.route_table_ids == ("rtb-0aa11bb2", "rtb-0aa11bb2")  # subnets may share one
    assert network.existing_vpc.gateway_endpoints == ()  # a VPC may have them already: added only when asked
    assert (network.cidr, network.max_azs) == ("100.64.0.0/20", 2)  # its own, not the profile's
    assert network.endpoint_azs == 2  # prod's 2, within its 2 AZs
    assert network.flow_logs is True
    assert network.interface_endpoints == DEFAULT_INTERFACE_ENDPOINTS


def test_an_existing_vpc_shrinks_the_profiles_endpoint_azs_and_may_be_given_with_dash_c() -> None:
    one_az = {**VPC, "availability_zones": ["eu-west-1a"], "subnet_ids": ["subnet-0aa11bb2"]}
    context = {
        "genai.profile": "prod",
        "genai.network.existing_vpc": json.dumps({**one_az, "route_table_ids": ["rtb-0aa11bb2"]}),
        "genai.network.existing_vpc.gateway_endpoints": '["s3", "dynamodb"]',
        "genai.network.interface_endpoints": "[]",
    }

    network = load_config(context).network

    assert network.endpoint_azs == 1
    assert network.interface_endpoints == ()
    assert network.existing_vpc is not None
    assert network.existing_vpc.gateway_endpoints == ("s3", "dynamodb")


def test_an_existing_vpcs_azs_must_be_in_the_pinned_region() -> None:
    pinned = {"account": "123456789012", "region": "eu-west-1", "inference_profile": "eu"}
    assert parse_settings({**pinned, "network": {"existing_vpc": VPC}}).network.max_azs == 2

    with pytest.raises(ConfigError) as error:
        parse_settings({**pinned, "region": "eu-west-3", "network": {"existing_vpc": VPC}})
    assert str(error.value) == (
        'network.existing_vpc.availability_zones=["eu-west-1a", "eu-west-1b"] is not a list of AZs of eu-west-3'
    )


EXISTING_VPC_ALLOWED = (
    "null, or an object with vpc_id, cidr, availability_zones, subnet_ids, route_table_ids and optionally "
    "gateway_endpoints (from: s3, dynamodb)"
)
BAD_EXISTING_VPC = [
    (
        {"existing_vpc": "vpc-0a1b2c3d4e5f67890"},
        f'network.existing_vpc="vpc-0a1b2c3d4e5f67890" is not {EXISTING_VPC_ALLOWED}',
    ),
    ({"existing_vpc": [VPC]}, f"network.existing_vpc=[{json.dumps(VPC)}] is not {EXISTING_VPC_ALLOWED}"),
    (
        {"existing_vpc": {**VPC, "vpc": "vpc-0a1b2c3d4e5f67890"}},
        'network.existing_vpc.vpc="vpc-0a1b2c3d4e5f67890" is not a known setting; known: availability_zones, cidr, '
        "gateway_endpoints, route_table_ids, subnet_ids, vpc_id",
    ),
    (
        {"existing_vpc": {key: value for key, value in VPC.items() if key != "vpc_id"}},
        "network.existing_vpc.vpc_id=null is not a VPC id like vpc-0123456789abcdef0",
    ),
    (
        {"existing_vpc": {**VPC, "vpc_id": "vpc-0A1B2C3D"}},
        'network.existing_vpc.vpc_id="vpc-0A1B2C3D" is not a VPC id like vpc-0123456789abcdef0',
    ),
    (
        {"existing_vpc": {**VPC, "vpc_id": "vpc-0a1b2c3"}},
        'network.existing_vpc.vpc_id="vpc-0a1b2c3" is not a VPC id like vpc-0123456789abcdef0',
    ),
    (
        {"existing_vpc": {**VPC, "cidr": "10.0.0.1/16"}},
        'network.existing_vpc.cidr="10.0.0.1/16" is not an IPv4 CIDR block with a prefix length from /16 to /28',
    ),
    (
        {"existing_vpc": {**VPC, "cidr": "10.0.0.0/29"}},
        'network.existing_vpc.cidr="10.0.0.0/29" is not an IPv4 CIDR block with a prefix length from /16 to /28',
    ),
    (
        {"existing_vpc": {**VPC, "cidr": "10.0.0.0/15"}},
        'network.existing_vpc.cidr="10.0.0.0/15" is not an IPv4 CIDR block with a prefix length from /16 to /28',
    ),
    (
        {"existing_vpc": {**VPC, "availability_zones": ["euw1-az1", "euw1-az2"]}},
        'network.existing_vpc.availability_zones=["euw1-az1", "euw1-az2"] is not a list of 1 to 6 distinct AZ names '
        "like eu-west-1a",
    ),
    (
        {"existing_vpc": {**VPC, "availability_zones": []}},
        "network.existing_vpc.availability_zones=[] is not a list of 1 to 6 distinct AZ names like eu-west-1a",
    ),
    (
        {"existing_vpc": {**VPC, "availability_zones": ["eu-west-1a", "eu-west-1a"]}},
        'network.existing_vpc.availability_zones=["eu-west-1a", "eu-west-1a"] is not a list of 1 to 6 distinct AZ '
        "names like eu-west-1a",
    ),
    (
        {"existing_vpc": {**VPC, "subnet_ids": ["subnet-0aa11bb2", "sg-0ee55ff6600778899"]}},
        'network.existing_vpc.subnet_ids=["subnet-0aa11bb2", "sg-0ee55ff6600778899"] is not a list of 1 to 6 '
        "distinct subnet ids like subnet-0123456789abcdef0",
    ),
    (
        {"existing_vpc": {**VPC, "subnet_ids": ["subnet-0aa11bb2", "subnet-0aa11bb2"]}},
        'network.existing_vpc.subnet_ids=["subnet-0aa11bb2", "subnet-0aa11bb2"] is not a list of 1 to 6 '
        "distinct subnet ids like subnet-0123456789abcdef0",
    ),
    (
        {"existing_vpc": {**VPC, "subnet_ids": ["subnet-0aa11bb2"]}},
        'network.existing_vpc.subnet_ids=["subnet-0aa11bb2"] is not a list of one subnet per AZ '
        "(2 in network.existing_vpc.availability_zones)",
    ),
    (
        {"existing_vpc": {**VPC, "route_table_ids": ["rtb-0aa11bb2"]}},
        'network.existing_vpc.route_table_ids=["rtb-0aa11bb2"] is not a list of one route table per subnet '
        "(2 in network.existing_vpc.subnet_ids)",
    ),
    (
        {"existing_vpc": {**VPC, "route_table_ids": ["rtb-0aa11bb2", "subnet-0aa11bb2"]}},
        'network.existing_vpc.route_table_ids=["rtb-0aa11bb2", "subnet-0aa11bb2"] is not a list of 1 to 6 route '
        "table ids like rtb-0123456789abcdef0",
    ),
    (
        {"existing_vpc": {**VPC, "gateway_endpoints": ["s3", "ec2"]}},
        'network.existing_vpc.gateway_endpoints=["s3", "ec2"] is not a list of distinct values from: s3, dynamodb',
    ),
    (
        {"existing_vpc": VPC, "cidr": "10.1.0.0/16"},
        'network.cidr="10.1.0.0/16" is not allowed with network.existing_vpc '
        "(give its CIDR as network.existing_vpc.cidr)",
    ),
    (
        {"existing_vpc": VPC, "max_azs": 2},
        "network.max_azs=2 is not allowed with network.existing_vpc "
        "(its AZs are network.existing_vpc.availability_zones)",
    ),
    (
        {"existing_vpc": VPC, "nat_gateways": 1},
        "network.nat_gateways=1 is not allowed with network.existing_vpc (no NAT gateway is made in it)",
    ),
    (
        {"existing_vpc": VPC, "egress": "nat"},
        'network.egress="nat" is not allowed with network.existing_vpc '
        "(no NAT gateway is made in it: its own routes decide egress)",
    ),
    ({"existing_vpc": VPC, "egress": "igw"}, 'network.egress="igw" is not one of: none, nat'),
    (
        {"existing_vpc": VPC, "endpoint_azs": 3},
        "network.endpoint_azs=3 is not an integer from 1 to 2 (network.existing_vpc.availability_zones)",
    ),
    ({"flow_logs": "yes"}, 'network.flow_logs="yes" is not one of: true, false'),
]


@pytest.mark.parametrize(("network", "message"), BAD_EXISTING_VPC, ids=[message for _, message in BAD_EXISTING_VPC])
def test_bad_network_settings_stop_with_one_line(network: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings({"network": network})
    assert str(error.value) == message


def test_knowledge_base_defaults_are_s3_vectors_titan_v2_and_fixed_chunks() -> None:
    kb = load_config({}).knowledge_base

    assert kb.vector_store == "s3vectors"
    assert kb.embedding_model == TITAN
    assert kb.embedding_dimensions == 1024
    assert kb.chunking.strategy == "fixed"
    assert (kb.chunking.max_tokens, kb.chunking.overlap_percentage) == (300, 20)
    assert kb.sample_documents is True
    assert kb.opensearch_standby_replicas is False


def test_prod_turns_sample_documents_off_and_standby_replicas_on() -> None:
    kb = parse_settings({"profile": "prod"}).knowledge_base

    assert kb.sample_documents is False
    assert kb.opensearch_standby_replicas is True


def _topics_file(tmp_path: Path, body: str) -> dict[str, Any]:
    path = tmp_path / "topics.toml"
    path.write_text(body)
    return {"guardrail": {"denied_topics_file": str(path)}}


TOPIC = 'name = "Loans"\ndefinition = "Advice on taking out a loan."\n'


LONG_DEFINITION = "x" * 201
BAD_TOPIC_FILES = [
    (
        "[[topic]]\n" + TOPIC.replace("Loans", "Loans/Debt"),
        'topics.toml topic 1: name="Loans/Debt" is not 1 to 100 letters, digits, spaces or - _ ! ? .',
    ),
    (
        "[[topic]]\n" + TOPIC.replace("Advice on taking out a loan.", LONG_DEFINITION),
        f'topics.toml topic 1: definition="{LONG_DEFINITION}" is not a non-empty string of at most 200 characters',
    ),
    (
        "[[topic]]\n" + TOPIC + 'examples = ["a", "b", "c", "d", "e", "f"]\n',
        'topics.toml topic 1: examples=["a", "b", "c", "d", "e", "f"] is not a list of at most 5 strings of 1 to '
        "100 characters",
    ),
    (
        "[[topic]]\n" + TOPIC + 'colour = "red"\n',
        'topics.toml topic 1: colour="red" is not a known setting; known: definition, examples, name',
    ),
    ("[[topic]]\n" + TOPIC + "[[topic]]\n" + TOPIC, "{path}: topic names must be unique, got ['Loans', 'Loans']"),
    ("", "{path}: has 0 [[topic]] entries; allowed: 1 to 30"),
    (
        "[[topic]\n",
        "{path}: not valid TOML (Expected ']]' at the end of an array declaration (at line 1, column 8))",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_TOPIC_FILES)
def test_bad_denied_topics_file_stops_with_one_line(tmp_path: Path, body: str, message: str) -> None:
    settings = _topics_file(tmp_path, body)

    with pytest.raises(ConfigError) as error:
        parse_settings(settings)

    assert str(error.value) == message.format(path=tmp_path / "topics.toml")


def test_standard_tier_allows_longer_topic_definitions(tmp_path: Path) -> None:
    settings = _topics_file(tmp_path, "[[topic]]\n" + TOPIC.replace("Advice on taking out a loan.", "x" * 900))
    settings["guardrail"] |= {"tier": "standard", "guardrail_profile": "us.guardrail.v1:0"}

    assert parse_settings(settings).guardrail.denied_topics[0].definition == "x" * 900


def test_blocked_words_file_skips_comments_and_rejects_duplicates(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("# comment\nalpha\n\n  beta  \n")
    assert parse_settings({"guardrail": {"blocked_words_file": str(words)}}).guardrail.blocked_words == (
        "alpha",
        "beta",
    )

    words.write_text("alpha\nALPHA\n")
    with pytest.raises(ConfigError, match=r"words.txt: needs at most 10000 distinct words, got 2$"):
        parse_settings({"guardrail": {"blocked_words_file": str(words)}})

    words.write_text("w" * 101 + "\n")
    with pytest.raises(ConfigError, match=r'^words.txt word 1="w{101}" is not at most 100 characters$'):
        parse_settings({"guardrail": {"blocked_words_file": str(words)}})


def test_guardrail_defaults_enable_every_policy_family() -> None:
    guardrail = load_config({}).guardrail

    assert set(guardrail.content_filters) == {"sexual", "violence", "hate", "insults", "misconduct"}
    assert guardrail.prompt_attack == "high"
    assert guardrail.profanity
    assert guardrail.denied_topics
    assert guardrail.blocked_words
    assert guardrail.pii["CREDIT_DEBIT_CARD_NUMBER"] == "block"
    assert guardrail.pii["EMAIL"] == "anonymize"
    assert (guardrail.grounding_threshold, guardrail.relevance_threshold) == (0.75, 0.75)


def test_agent_instruction_file_must_hold_a_usable_instruction(tmp_path: Path) -> None:
    instruction = tmp_path / "instruction.md"
    instruction.write_text("Too short.")

    with pytest.raises(ConfigError) as error:
        parse_settings({"agent": {"instruction_file": str(instruction)}})

    assert str(error.value) == f'agent.instruction_file="{instruction}" is not a file of 40 to 20,000 characters'


def test_agent_calls_the_profile_of_its_geography_or_the_model_itself() -> None:
    assert load_config({}).agent.model_identifier == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert parse_settings({"inference_profile": "none"}).agent.model_identifier == (
        "anthropic.claude-haiku-4-5-20251001-v1:0"
    )


@pytest.mark.parametrize("geography", ["us", "eu", "apac", "jp", "au", "global"])
def test_every_geography_calls_its_inference_profile(geography: str) -> None:
    config = load_config({"genai.inference_profile": geography})

    assert config.agent.model_identifier == f"{geography}.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert config.api.models[0].id == f"{geography}.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_distinct_models_only() -> None:
    model = {"model": "amazon.nova-lite-v1:0", "name": "Lite"}

    with pytest.raises(ConfigError, match=r"^api.models=.* is not a list of distinct models$"):
        parse_settings({"api": {"models": [model, model], "generation_model": "amazon.nova-lite-v1:0"}})


def test_api_defaults_follow_the_profile() -> None:
    dev, prod = load_config({}).api, parse_settings({"profile": "prod"}).api

    assert (dev.waf, dev.mfa, dev.deletion_protection) == (False, "optional", False)
    assert (prod.waf, prod.mfa, prod.deletion_protection) == (True, "required", True)
    assert dev.models[0].id == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert dev.generation_model == dev.models[0].model


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"observability": {"alarm_emails": ["ops@example.com", "not an address"]}},
            'observability.alarm_emails=["ops@example.com", "not an address"] is not a list of up to 10 distinct '
            "email addresses",
        ),
        (
            {"observability": {"budget_alerts": ["80"]}},
            'observability.budget_alerts=["80"] is not a list of 1 to 5 distinct whole percentages from 1 to 1000',
        ),
        (
            {"observability": {"budget_alerts": [80, 80]}},
            "observability.budget_alerts=[80, 80] is not a list of 1 to 5 distinct whole percentages from 1 to 1000",
        ),
        (
            {"observability": {"monthly_budget_usd": 0}},
            "observability.monthly_budget_usd=0 is not an integer from 1 to 1000000 or null",
        ),
    ],
)
def test_bad_observability_settings_stop_with_one_line(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(settings)

    assert str(raised.value) == message


def test_the_budget_follows_the_profile_and_can_be_turned_off() -> None:
    assert parse_settings({}).observability.monthly_budget_usd == 100
    assert parse_settings({"profile": "prod"}).observability.monthly_budget_usd == 500
    assert parse_settings({"observability": {"monthly_budget_usd": None}}).observability.monthly_budget_usd is None
    assert parse_settings({}).observability.invocation_logging is False
