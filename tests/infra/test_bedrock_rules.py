"""The project's Bedrock policy rules hold for every synthesized template, and each one can fire."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.bedrock_rules import (
    RULES,
    Rule,
    bedrock_roles_are_confused_deputy_safe,
    guardrails_detect_prompt_attacks_and_use_a_cmk,
    harnesses_guard_their_model_and_limit_their_tools,
    memories_and_gateways_use_a_cmk,
    service_invocations_name_their_source,
)
from tests.synth import Assembly


@pytest.mark.parametrize("variant", ["assembly", "flipped_assembly"])
@pytest.mark.parametrize("rule", RULES, ids=[rule.__name__ for rule in RULES])
def test_rule_holds_for_every_template(rule: Rule, variant: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(variant)

    violations = [v for stack in assembly.stacks for v in rule(assembly.template(stack))]

    assert not violations, "\n".join(violations)


def test_the_app_has_what_the_rules_look_at(assembly: Assembly) -> None:
    types = {r["Type"] for stack in assembly.stacks for r in assembly.template(stack)["Resources"].values()}

    assert {
        "AWS::BedrockAgentCore::Harness",
        "AWS::BedrockAgentCore::Memory",
        "AWS::BedrockAgentCore::Gateway",
        "AWS::Bedrock::Guardrail",
        "AWS::Lambda::Permission",
    } <= types


def _template(type_: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {"Bad": {"Type": type_, "Properties": properties}}}


def _model(version: str) -> dict[str, Any]:
    guardrail = {"guardrailIdentifier": "abc", "guardrailVersion": version}
    return {"BedrockModelConfig": {"ModelId": "m", "AdditionalParams": {"guardrailConfig": guardrail}}}


GOOD_HARNESS = {"Model": _model("1"), "AllowedTools": ["@tools"], "Memory": {"Disabled": {}}}
BEDROCK_TRUST = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "bedrock.amazonaws.com"}}
AGENTCORE_TRUST = {**BEDROCK_TRUST, "Principal": {"Service": "bedrock-agentcore.amazonaws.com"}}


@pytest.mark.parametrize(
    ("rule", "template", "violation"),
    [
        (
            harnesses_guard_their_model_and_limit_their_tools,
            _template("AWS::BedrockAgentCore::Harness", {**GOOD_HARNESS, "Model": {"BedrockModelConfig": {}}}),
            "Bad: harness model without a guardrail",
        ),
        (
            harnesses_guard_their_model_and_limit_their_tools,
            _template("AWS::BedrockAgentCore::Harness", {**GOOD_HARNESS, "Model": _model("DRAFT")}),
            "Bad: harness model uses the guardrail's DRAFT, not a published version",
        ),
        (
            harnesses_guard_their_model_and_limit_their_tools,
            _template("AWS::BedrockAgentCore::Harness", {**GOOD_HARNESS, "AllowedTools": []}),
            "Bad: harness without AllowedTools (the built-in shell and file tools are on)",
        ),
        (
            harnesses_guard_their_model_and_limit_their_tools,
            _template("AWS::BedrockAgentCore::Harness", {**GOOD_HARNESS, "AllowedTools": ["@tools", "@builtin"]}),
            "Bad: harness allows @builtin",
        ),
        (
            harnesses_guard_their_model_and_limit_their_tools,
            _template("AWS::BedrockAgentCore::Harness", {**GOOD_HARNESS, "Memory": {"ManagedMemoryConfiguration": {}}}),
            "Bad: harness with a memory not on a customer-managed key",
        ),
        (
            memories_and_gateways_use_a_cmk,
            _template("AWS::BedrockAgentCore::Memory", {"Name": "m", "EventExpiryDuration": 30}),
            "Bad: memory without a customer-managed KMS key",
        ),
        (
            memories_and_gateways_use_a_cmk,
            _template("AWS::BedrockAgentCore::Gateway", {"AuthorizerType": "AWS_IAM"}),
            "Bad: gateway without a customer-managed KMS key",
        ),
        (
            memories_and_gateways_use_a_cmk,
            _template("AWS::BedrockAgentCore::Gateway", {"AuthorizerType": "NONE", "KmsKeyArn": "k"}),
            "Bad: gateway authorizes with NONE, not AWS_IAM",
        ),
        (
            bedrock_roles_are_confused_deputy_safe,
            _template("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [AGENTCORE_TRUST]}}),
            "Bad: role trusted by Bedrock without aws:SourceAccount, aws:SourceArn",
        ),
        (
            guardrails_detect_prompt_attacks_and_use_a_cmk,
            _template(
                "AWS::Bedrock::Guardrail",
                {
                    "KmsKeyArn": "arn:key",
                    "ContentPolicyConfig": {
                        "FiltersConfig": [{"Type": "PROMPT_ATTACK", "InputStrength": "NONE", "OutputStrength": "NONE"}]
                    },
                },
            ),
            "Bad: guardrail without an input PROMPT_ATTACK filter",
        ),
        (
            guardrails_detect_prompt_attacks_and_use_a_cmk,
            _template(
                "AWS::Bedrock::Guardrail",
                {"ContentPolicyConfig": {"FiltersConfig": [{"Type": "PROMPT_ATTACK", "InputStrength": "HIGH"}]}},
            ),
            "Bad: guardrail without a customer-managed KMS key",
        ),
        (
            bedrock_roles_are_confused_deputy_safe,
            _template("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [BEDROCK_TRUST]}}),
            "Bad: role trusted by Bedrock without aws:SourceAccount, aws:SourceArn",
        ),
        (
            bedrock_roles_are_confused_deputy_safe,
            _template(
                "AWS::IAM::Role",
                {
                    "AssumeRolePolicyDocument": {
                        "Statement": [{**BEDROCK_TRUST, "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}}]
                    }
                },
            ),
            "Bad: role trusted by Bedrock without aws:SourceArn",
        ),
        (
            service_invocations_name_their_source,
            _template(
                "AWS::Lambda::Permission",
                {"Principal": "bedrock.amazonaws.com", "Action": "lambda:InvokeFunction", "SourceAccount": "1"},
            ),
            "Bad: bedrock.amazonaws.com may invoke without SourceArn",
        ),
        (
            service_invocations_name_their_source,
            _template("AWS::Lambda::Permission", {"Principal": "s3.amazonaws.com", "Action": "lambda:InvokeFunction"}),
            "Bad: s3.amazonaws.com may invoke without SourceArn and SourceAccount",
        ),
    ],
)
def test_rule_fires_on_a_bad_template(rule: Rule, template: dict[str, Any], violation: str) -> None:
    assert rule(template) == [violation]


def test_a_good_harness_passes() -> None:
    assert (
        harnesses_guard_their_model_and_limit_their_tools(_template("AWS::BedrockAgentCore::Harness", GOOD_HARNESS))
        == []
    )
