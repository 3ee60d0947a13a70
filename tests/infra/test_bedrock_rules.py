"""The project's Bedrock policy rules hold for every synthesized template, and each one can fire."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.bedrock_rules import (
    RULES,
    Rule,
    agents_have_a_published_guardrail_and_a_cmk,
    bedrock_roles_are_confused_deputy_safe,
    guardrails_detect_prompt_attacks_and_use_a_cmk,
    service_invocations_name_their_source,
)
from tests.synth import Assembly


@pytest.mark.parametrize("variant", ["assembly", "egress_assembly"])
@pytest.mark.parametrize("rule", RULES, ids=[rule.__name__ for rule in RULES])
def test_rule_holds_for_every_template(rule: Rule, variant: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(variant)

    violations = [v for stack in assembly.stacks for v in rule(assembly.template(stack))]

    assert not violations, "\n".join(violations)


def test_the_app_has_what_the_rules_look_at(assembly: Assembly) -> None:
    types = {r["Type"] for stack in assembly.stacks for r in assembly.template(stack)["Resources"].values()}

    assert {"AWS::Bedrock::Agent", "AWS::Bedrock::Guardrail", "AWS::Lambda::Permission"} <= types


def _template(type_: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {"Bad": {"Type": type_, "Properties": properties}}}


GOOD_GUARDRAIL = {"GuardrailIdentifier": "abc", "GuardrailVersion": "1"}
BEDROCK_TRUST = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "bedrock.amazonaws.com"}}


@pytest.mark.parametrize(
    ("rule", "template", "violation"),
    [
        (
            agents_have_a_published_guardrail_and_a_cmk,
            _template("AWS::Bedrock::Agent", {"CustomerEncryptionKeyArn": "arn:key"}),
            "Bad: agent without a guardrail",
        ),
        (
            agents_have_a_published_guardrail_and_a_cmk,
            _template(
                "AWS::Bedrock::Agent",
                {
                    "GuardrailConfiguration": {**GOOD_GUARDRAIL, "GuardrailVersion": "DRAFT"},
                    "CustomerEncryptionKeyArn": "k",
                },
            ),
            "Bad: agent uses the guardrail's DRAFT, not a published version",
        ),
        (
            agents_have_a_published_guardrail_and_a_cmk,
            _template("AWS::Bedrock::Agent", {"GuardrailConfiguration": GOOD_GUARDRAIL}),
            "Bad: agent without a customer-managed KMS key",
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
