"""scripts/guardrail_summary.py: docs/guardrail.md shows the synthesized guardrail, one line per setting."""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts.guardrail_summary import COMMAND, OUTPUT, main, read_templates, render, text
from tests.synth import Assembly

Properties = dict[str, Any]


def guardrail() -> dict[str, Any]:
    """A guardrail resource shaped as the Guardrail construct synthesizes it."""
    properties: Properties = {
        "Name": "P-Application-guardrail",
        "BlockedInputMessaging": "Sorry, I can't help with that request.",
        "BlockedOutputsMessaging": "Sorry, I can't share that answer.",
        "KmsKeyArn": {"Fn::GetAtt": ["Key", "Arn"]},
        "ContentPolicyConfig": {
            "ContentFiltersTierConfig": {"TierName": "CLASSIC"},
            "FiltersConfig": [
                {"Type": "HATE", "InputStrength": "HIGH", "OutputStrength": "HIGH", "InputModalities": ["TEXT"]},
                {"Type": "VIOLENCE", "InputStrength": "HIGH", "OutputStrength": "HIGH"},
                {"Type": "PROMPT_ATTACK", "InputStrength": "HIGH", "OutputStrength": "NONE"},
            ],
        },
        "TopicPolicyConfig": {
            "TopicsTierConfig": {"TierName": "CLASSIC"},
            "TopicsConfig": [
                {
                    "Name": "Investment advice",
                    "Definition": "Recommendations about buying specific stocks.",
                    "Examples": ["Should I buy Amazon shares?", "Which coin goes up?"],
                    "Type": "DENY",
                }
            ],
        },
        "WordPolicyConfig": {
            "ManagedWordListsConfig": [{"Type": "PROFANITY"}],
            "WordsConfig": [{"Text": "ignore all previous instructions"}, {"Text": "DAN mode"}],
        },
        "SensitiveInformationPolicyConfig": {
            "PiiEntitiesConfig": [{"Type": "NAME", "Action": "ANONYMIZE"}, {"Type": "EMAIL", "Action": "ANONYMIZE"}],
            "RegexesConfig": [
                {"Name": "Ticket id", "Pattern": "TCK-[0-9]{6}|TK[0-9]+", "Action": "ANONYMIZE", "Description": "Ours"}
            ],
        },
        "ContextualGroundingPolicyConfig": {
            "FiltersConfig": [{"Type": "GROUNDING", "Threshold": 0.75}, {"Type": "RELEVANCE", "Threshold": 0.75}]
        },
    }
    return {
        "Type": "AWS::Bedrock::Guardrail",
        "Properties": properties,
        "Metadata": {"aws:cdk:path": "Application/Guardrail/Resource"},
    }


def templates(resource: dict[str, Any], **others: dict[str, Any]) -> dict[str, dict[str, Any]]:
    version = {"Type": "AWS::Bedrock::GuardrailVersion", "Properties": {"Description": "Configuration 0123456789"}}
    return {
        "Application": {"Resources": {"Guardrail91D61981": resource, "Version0123": version, **others}},
        "Foundation": {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {}}}},
    }


def changed_lines(change: Callable[[Properties], None]) -> tuple[list[str], list[str]]:
    """The lines of the page that a change to the guardrail's properties removes and adds."""
    before = guardrail()
    after = copy.deepcopy(before)
    change(after["Properties"])
    diff = list(difflib.ndiff(render(templates(before)).splitlines(), render(templates(after)).splitlines()))
    return [line[2:] for line in diff if line.startswith("- ")], [line[2:] for line in diff if line.startswith("+ ")]


def filters(properties: Properties) -> list[dict[str, Any]]:
    return list(properties["ContentPolicyConfig"]["FiltersConfig"])


def topic(properties: Properties) -> dict[str, Any]:
    return dict(properties["TopicPolicyConfig"]["TopicsConfig"][0])


def pii(properties: Properties) -> list[dict[str, Any]]:
    return list(properties["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"])


ONE_LINE_CHANGES: dict[str, tuple[Callable[[Properties], None], str, str]] = {
    "content filter": (
        lambda p: filters(p)[1].update(OutputStrength="MEDIUM"),
        "| VIOLENCE | HIGH | HIGH | - | - |",
        "| VIOLENCE | HIGH | MEDIUM | - | - |",
    ),
    "prompt attack": (
        lambda p: filters(p)[2].update(InputStrength="LOW"),
        "| PROMPT_ATTACK | HIGH | NONE | - | - |",
        "| PROMPT_ATTACK | LOW | NONE | - | - |",
    ),
    "topic definition": (
        lambda p: p["TopicPolicyConfig"]["TopicsConfig"][0].update(Definition="Advice on specific stocks."),
        "- **Investment advice** (DENY): Recommendations about buying specific stocks.",
        "- **Investment advice** (DENY): Advice on specific stocks.",
    ),
    "topic example": (
        lambda p: topic(p)["Examples"].__setitem__(1, "Which token goes up?"),
        "  - example: Which coin goes up?",
        "  - example: Which token goes up?",
    ),
    "blocked word": (
        lambda p: p["WordPolicyConfig"]["WordsConfig"].__setitem__(1, {"Text": "DUDE mode"}),
        "- `DAN mode`",
        "- `DUDE mode`",
    ),
    "PII action": (lambda p: pii(p)[0].update(Action="BLOCK"), "| NAME | ANONYMIZE |", "| NAME | BLOCK |"),
    "custom pattern": (
        lambda p: p["SensitiveInformationPolicyConfig"]["RegexesConfig"][0].update(Action="BLOCK"),
        "| Ticket id | ANONYMIZE | `TCK-[0-9]{6}\\|TK[0-9]+` | Ours |",
        "| Ticket id | BLOCK | `TCK-[0-9]{6}\\|TK[0-9]+` | Ours |",
    ),
    "grounding threshold": (
        lambda p: p["ContextualGroundingPolicyConfig"]["FiltersConfig"][0].update(Threshold=0.8),
        "| GROUNDING | 0.75 |",
        "| GROUNDING | 0.8 |",
    ),
    "blocked message": (
        lambda p: p.update(BlockedInputMessaging="No."),
        "| Blocked prompt message | Sorry, I can't help with that request. |",
        "| Blocked prompt message | No. |",
    ),
}


@pytest.mark.parametrize("name", sorted(ONE_LINE_CHANGES))
def test_a_policy_change_is_one_line_of_the_page(name: str) -> None:
    change, old, new = ONE_LINE_CHANGES[name]

    assert changed_lines(change) == ([old], [new])


def test_the_committed_page_is_what_the_default_assembly_gives(assembly: Assembly) -> None:
    assert render(read_templates(assembly.outdir)) == OUTPUT.read_text(encoding="utf-8"), f"stale: run {COMMAND}"


def test_the_page_shows_the_default_guardrail(assembly: Assembly) -> None:
    page = OUTPUT.read_text(encoding="utf-8")
    (resource,) = assembly.assertions("Application").find_resources("AWS::Bedrock::Guardrail").values()
    properties = resource["Properties"]

    for item in properties["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]:
        assert f"| {item['Type']} | {item['Action']} |" in page
    for item in properties["TopicPolicyConfig"]["TopicsConfig"]:
        assert f"- **{item['Name']}** (DENY): " in page
    for item in properties["ContextualGroundingPolicyConfig"]["FiltersConfig"]:
        assert f"| {item['Type']} | {item['Threshold']} |" in page
    assert "Configuration " not in page, "the version's digest would churn on every change"


def test_settings_show_the_profile_and_the_enforcement() -> None:
    resource = guardrail()
    resource["Properties"]["CrossRegionConfig"] = {
        "GuardrailProfileArn": {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:eu-west-1:1:guardrail-profile/eu.guardrail.v1:0"],
            ]
        }
    }
    enforcement = {
        "Type": "AWS::Bedrock::EnforcedGuardrailConfiguration",
        "Properties": {"ModelEnforcement": {"IncludedModels": ["m1", "m2"], "ExcludedModels": ["e1"]}},
    }

    page = render(templates(resource, Enforcement=enforcement))

    profile = "arn:${AWS::Partition}:bedrock:eu-west-1:1:guardrail-profile/eu.guardrail.v1:0"
    assert f"| Cross-region guardrail profile | `{profile}` |" in page
    assert "| Enforced account-wide | yes, on m1, m2; not on e1 |" in page
    assert "| Encryption key | `${Key.Arn}` |" in page
    assert "| Enforced account-wide | no |" in render(templates(guardrail()))


def test_policies_left_out_say_none() -> None:
    resource = guardrail()
    for key in ("TopicPolicyConfig", "WordPolicyConfig", "SensitiveInformationPolicyConfig"):
        del resource["Properties"][key]

    page = render(templates(resource))

    assert "### Denied topics\n\nNone.\n" in page
    assert "Managed word lists: none.\n\nBlocked words and phrases:\n\nNone.\n" in page
    assert "### Personal information\n\nNone.\n\nCustom patterns:\n\nNone.\n" in page


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({"Ref": "Key"}, "${Key}"),
        ({"Fn::GetAtt": "Key.Arn"}, "${Key.Arn}"),
        (
            {"Fn::GetStackOutput": {"StackName": "P-Foundation", "OutputName": "KeyArn", "Region": "x"}},
            "${P-Foundation.KeyArn}",
        ),
        ({"Fn::If": ["C", "a", "b"]}, '{"Fn::If": ["C", "a", "b"]}'),
        (True, "yes"),
        (["TEXT", "IMAGE"], "TEXT, IMAGE"),
    ],
)
def test_template_values_are_shown_as_text(value: Any, shown: str) -> None:
    assert text(value) == shown


def test_main_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for stack, template in templates(guardrail()).items():
        (tmp_path / f"{stack}.template.json").write_text(json.dumps(template))
    output = tmp_path / "docs" / "guardrail.md"
    args = ["--assembly", str(tmp_path)]

    assert main([*args, "--check"], output=output) == 1
    assert main(args, output=output) == 0
    assert main([*args, "--check"], output=output) == 0
    output.write_text(output.read_text().replace("| NAME | ANONYMIZE |", "| NAME | BLOCK |"))
    assert main([*args, "--check"], output=output) == 1
    assert main(["--assembly", str(tmp_path / "empty")], output=output) == 2

    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"{output} is out of date with {tmp_path}; run {COMMAND}",
        f"{output} is out of date with {tmp_path}; run {COMMAND}",
        f"no guardrail in {tmp_path / 'empty'}: synthesize first ({COMMAND} does)",
    ]
