"""The guardrail: every policy family from config and prompts/, a CMK, and a version that follows the config."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from typing import Any

import aws_cdk as cdk
from aws_cdk import assertions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from stacks.config import ROOT, GuardrailConfig, RegexFilter, parse_settings
from stacks.constructs.guardrail import Guardrail
from stacks.constructs.roles import ManagedPolicyRole
from tests.synth import Assembly, resources_at


def _guardrail(template: assertions.Template) -> dict[str, Any]:
    ((_, guardrail),) = template.find_resources("AWS::Bedrock::Guardrail").items()
    return dict(guardrail["Properties"])


def _default_config() -> GuardrailConfig:
    return parse_settings({}).guardrail


def _synth_guardrail(config: GuardrailConfig) -> tuple[assertions.Template, Guardrail, cdk.Stack]:
    """The construct alone in a small stack: cheap enough to build several times in one test."""
    stack = cdk.Stack(cdk.App(), "Test", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    guardrail = Guardrail(stack, "Guardrail", config=config, key=kms.Key(stack, "Key"))
    return assertions.Template.from_stack(stack), guardrail, stack


def test_all_five_content_filters_at_high_on_text_and_images(application: assertions.Template) -> None:
    filters = _guardrail(application)["ContentPolicyConfig"]["FiltersConfig"]
    content = [f for f in filters if f["Type"] != "PROMPT_ATTACK"]

    assert sorted(f["Type"] for f in content) == ["HATE", "INSULTS", "MISCONDUCT", "SEXUAL", "VIOLENCE"]
    for entry in content:
        assert (entry["InputStrength"], entry["OutputStrength"]) == ("HIGH", "HIGH")
        assert entry["InputModalities"] == entry["OutputModalities"] == ["TEXT", "IMAGE"]


def test_prompt_attack_filter_guards_input_at_high(application: assertions.Template) -> None:
    filters = _guardrail(application)["ContentPolicyConfig"]["FiltersConfig"]

    assert {"Type": "PROMPT_ATTACK", "InputStrength": "HIGH", "OutputStrength": "NONE"} in filters


def test_denied_topics_are_the_reviewed_file(application: assertions.Template) -> None:
    reviewed = tomllib.loads((ROOT / "prompts/guardrail/denied_topics.toml").read_text())["topic"]
    topics = _guardrail(application)["TopicPolicyConfig"]["TopicsConfig"]

    assert topics == [
        {"Name": t["name"], "Definition": t["definition"], "Examples": t["examples"], "Type": "DENY"} for t in reviewed
    ]
    assert len(topics) >= 1


def test_word_filters_are_profanity_and_the_reviewed_words(application: assertions.Template) -> None:
    lines = (ROOT / "prompts/guardrail/blocked_words.txt").read_text().splitlines()
    reviewed = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    words = _guardrail(application)["WordPolicyConfig"]

    assert words["ManagedWordListsConfig"] == [{"Type": "PROFANITY"}]
    assert words["WordsConfig"] == [{"Text": word} for word in reviewed]


def test_pii_blocks_secrets_and_payment_data_and_masks_contact_details(application: assertions.Template) -> None:
    entities = _guardrail(application)["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]
    actions = {entity["Type"]: entity["Action"] for entity in entities}

    for blocked in (
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "PASSWORD",
        "CREDIT_DEBIT_CARD_NUMBER",
        "CREDIT_DEBIT_CARD_CVV",
    ):
        assert actions[blocked] == "BLOCK"
    for masked in ("EMAIL", "PHONE", "NAME"):
        assert actions[masked] == "ANONYMIZE"


def test_contextual_grounding_and_relevance_thresholds(application: assertions.Template) -> None:
    grounding = _guardrail(application)["ContextualGroundingPolicyConfig"]["FiltersConfig"]

    assert grounding == [{"Type": "GROUNDING", "Threshold": 0.75}, {"Type": "RELEVANCE", "Threshold": 0.75}]


def test_guardrail_is_encrypted_with_the_foundation_key(application: assertions.Template) -> None:
    key = _guardrail(application)["KmsKeyArn"]

    assert key["Fn::GetStackOutput"]["StackName"] == "BedrockGenAi-Foundation"
    assert "EncryptionKey" in key["Fn::GetStackOutput"]["OutputName"]


def test_consumers_get_a_published_version_never_the_draft(application: assertions.Template) -> None:
    ((version_id, version),) = application.find_resources("AWS::Bedrock::GuardrailVersion").items()
    ((guardrail_id, _),) = application.find_resources("AWS::Bedrock::Guardrail").items()
    outputs = application.find_outputs("*")

    assert version["Properties"]["GuardrailIdentifier"] == {"Fn::GetAtt": [guardrail_id, "GuardrailId"]}
    assert outputs["GuardrailVersion"]["Value"] == {"Fn::GetAtt": [version_id, "Version"]}
    assert outputs["GuardrailId"]["Value"] == {"Fn::GetAtt": [guardrail_id, "GuardrailId"]}


def test_an_unchanged_config_keeps_the_version_and_a_change_publishes_a_new_one() -> None:
    config = _default_config()
    first, _, _ = _synth_guardrail(config)
    again, _, _ = _synth_guardrail(config)
    changed, _, _ = _synth_guardrail(replace(config, grounding_threshold=0.8))

    versions = [t.find_resources("AWS::Bedrock::GuardrailVersion") for t in (first, again, changed)]
    assert versions[0] == versions[1]
    assert set(versions[0]).isdisjoint(versions[2])
    assert first.find_resources("AWS::Bedrock::Guardrail") == again.find_resources("AWS::Bedrock::Guardrail")


def test_standard_tier_uses_the_cross_region_profile() -> None:
    config = replace(_default_config(), tier="standard", guardrail_profile="eu.guardrail.v1:0")

    template, _, _ = _synth_guardrail(config)
    properties = _guardrail(template)

    assert properties["CrossRegionConfig"] == {
        "GuardrailProfileArn": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":bedrock:eu-west-1:123456789012:guardrail-profile/eu.guardrail.v1:0",
                ],
            ]
        }
    }
    assert properties["ContentPolicyConfig"]["ContentFiltersTierConfig"] == {"TierName": "STANDARD"}
    assert properties["TopicPolicyConfig"]["TopicsTierConfig"] == {"TierName": "STANDARD"}


def test_custom_regexes_and_disabled_entities() -> None:
    regex = RegexFilter(name="ticket", pattern=r"TCK-\d{6}", action="anonymize", description="Support ticket ids")
    config = replace(_default_config(), regexes=(regex,), pii={"EMAIL": "none", "PHONE": "block"})

    template, _, _ = _synth_guardrail(config)
    policy = _guardrail(template)["SensitiveInformationPolicyConfig"]

    assert policy["PiiEntitiesConfig"] == [{"Type": "PHONE", "Action": "BLOCK"}]
    assert policy["RegexesConfig"] == [
        {"Name": "ticket", "Pattern": r"TCK-\d{6}", "Action": "ANONYMIZE", "Description": "Support ticket ids"}
    ]


def test_grant_apply_allows_this_guardrail_and_decrypting_its_key() -> None:
    stack = cdk.Stack(cdk.App(), "Grant")
    key = kms.Key(stack, "Key")
    guardrail = Guardrail(stack, "Guardrail", config=_default_config(), key=key)
    role = ManagedPolicyRole(
        stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description="A caller"
    )

    guardrail.grant_apply(role)

    template = assertions.Template.from_stack(stack)
    ((_, policy),) = template.find_resources("AWS::IAM::ManagedPolicy").items()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    guardrail_id = stack.get_logical_id(guardrail.guardrail)
    key_id = stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    assert {
        "Action": "bedrock:ApplyGuardrail",
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [guardrail_id, "GuardrailArn"]},
    } in statements
    assert {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": {"Fn::GetAtt": [key_id, "Arn"]}} in statements
    assert len(statements) == 2


def test_the_account_wide_enforcement_is_off_by_default(application: assertions.Template) -> None:
    assert not application.find_resources("AWS::Bedrock::EnforcedGuardrailConfiguration")


def test_enforcement_covers_the_generation_models_and_spares_the_embedding_model(flipped_assembly: Assembly) -> None:
    application = flipped_assembly.assertions("Application")
    ((_, enforcement),) = application.find_resources("AWS::Bedrock::EnforcedGuardrailConfiguration").items()
    ((guardrail_id, _),) = application.find_resources("AWS::Bedrock::Guardrail").items()
    ((version_id, _),) = application.find_resources("AWS::Bedrock::GuardrailVersion").items()
    properties = enforcement["Properties"]

    assert properties["GuardrailIdentifier"] == {"Fn::GetAtt": [guardrail_id, "GuardrailId"]}
    assert properties["GuardrailVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    included = properties["ModelEnforcement"]["IncludedModels"]
    # Foundation-model ids, not inference-profile ids: enforcement matches the model a call reaches.
    assert "anthropic.claude-haiku-4-5-20251001-v1:0" in included
    assert all(not model.startswith(("us.", "eu.", "apac.", "global.")) for model in included)
    assert properties["ModelEnforcement"]["ExcludedModels"] == ["cohere.embed-multilingual-v3"]


def test_the_standard_tier_lets_callers_apply_the_guardrail_profile_in_every_region(flipped_assembly: Assembly) -> None:
    application = flipped_assembly.assertions("Application")
    profile = "arn:aws:bedrock:*:123456789012:guardrail-profile/eu.guardrail.v1:0"
    roles = ("Application/Api/Function/Role/", "Application/Agent/Role/")

    for role in roles:
        ((_, policy),) = resources_at(application, "AWS::IAM::ManagedPolicy", role).items()
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        applies = [s for s in statements if s["Action"] == "bedrock:ApplyGuardrail"]
        resources = [
            r for s in applies for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        ]
        assert profile in resources, role


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
