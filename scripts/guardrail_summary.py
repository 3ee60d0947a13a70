"""Write docs/guardrail.md, what the synthesized guardrail enforces, one line per setting: `make guardrail-summary`.

Read from the template, not from the configuration, so the page shows what Bedrock receives; one line per filter,
topic example, word, entity, pattern and threshold makes a policy change one readable line in review. `make
guardrail-summary` synthesizes the default configuration for it, whatever cdk.json says.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/guardrail_summary.py`, the project's packages are one level up
    sys.path.insert(0, str(ROOT))

from scripts.generated import cell, code, write_or_check  # noqa: E402

OUTPUT = ROOT / "docs" / "guardrail.md"
COMMAND = "make guardrail-summary"
GUARDRAIL = "AWS::Bedrock::Guardrail"
ENFORCEMENT = "AWS::Bedrock::EnforcedGuardrailConfiguration"
INTRO = f"""\
# Guardrail

<!-- Generated from the synthesized templates by `{COMMAND}`: edit stacks/config.py or prompts/guardrail/. -->

What the guardrail of the default configuration (the `dev` profile) enforces on every model call, as the
synthesized template declares it; a test fails when this page is stale. Settings under `genai.guardrail` and the
files in `prompts/guardrail/` change it (see the README's "Tuning the guardrail").
"""


INTRINSICS = {
    "Ref": lambda argument: f"${{{argument}}}",
    "Fn::GetAtt": lambda argument: "${" + (".".join(argument) if isinstance(argument, list) else str(argument)) + "}",
    "Fn::Join": lambda argument: str(argument[0]).join(text(part) for part in argument[1]),
    "Fn::GetStackOutput": lambda argument: f"${{{argument['StackName']}.{argument['OutputName']}}}",
}


def text(value: Any) -> str:
    """A template value as text: intrinsics as ${...} placeholders, lists joined with commas."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(text(item) for item in value)
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in INTRINSICS:
        function, argument = next(iter(value.items()))
        return str(INTRINSICS[function](argument))
    return json.dumps(value, sort_keys=True)


def _get(value: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = value.get(key) or {}
    return value


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return "None."
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def _optional(item: Mapping[str, Any], key: str) -> str:
    return text(item[key]) if key in item else "-"


def settings(properties: Mapping[str, Any], enforcement: Sequence[Mapping[str, Any]]) -> str:
    enforced = "no"
    if enforcement:
        models = _get(enforcement[0].get("Properties", {}), "ModelEnforcement")
        enforced = f"yes, on {text(models.get('IncludedModels', []))}"
        if models.get("ExcludedModels"):
            enforced += f"; not on {text(models['ExcludedModels'])}"
    profile = _get(properties, "CrossRegionConfig").get("GuardrailProfileArn")
    content_tier = _get(properties, "ContentPolicyConfig", "ContentFiltersTierConfig").get("TierName", "-")
    topic_tier = _get(properties, "TopicPolicyConfig", "TopicsTierConfig").get("TierName", "-")
    rows = [
        ("Name", code(text(properties.get("Name", "")))),
        ("Content filter tier", text(content_tier)),
        ("Denied topic tier", text(topic_tier)),
        ("Cross-region guardrail profile", code(text(profile)) if profile else "none"),
        ("Encryption key", code(text(properties["KmsKeyArn"])) if "KmsKeyArn" in properties else "AWS owned"),
        ("Enforced account-wide", cell(enforced)),
        ("Blocked prompt message", cell(text(properties.get("BlockedInputMessaging", "")))),
        ("Blocked answer message", cell(text(properties.get("BlockedOutputsMessaging", "")))),
    ]  # fmt: skip
    return _table(("Setting", "Value"), rows)


def content_filters(properties: Mapping[str, Any]) -> str:
    filters = _get(properties, "ContentPolicyConfig").get("FiltersConfig", [])
    rows = [
        (
            text(item["Type"]),
            _optional(item, "InputStrength"),
            _optional(item, "OutputStrength"),
            _optional(item, "InputModalities"),
            _optional(item, "OutputModalities"),
        )
        for item in filters
    ]
    return _table(("Filter", "Prompts", "Answers", "Prompt modalities", "Answer modalities"), rows)


def denied_topics(properties: Mapping[str, Any]) -> str:
    topics = _get(properties, "TopicPolicyConfig").get("TopicsConfig", [])
    lines = []
    for topic in topics:
        name, definition = cell(text(topic["Name"])), cell(text(topic["Definition"]))
        lines.append(f"- **{name}** ({text(topic.get('Type', 'DENY'))}): {definition}")
        lines += [f"  - example: {cell(text(example))}" for example in topic.get("Examples", [])]
    return "\n".join(lines) or "None."


def word_filters(properties: Mapping[str, Any]) -> str:
    policy = _get(properties, "WordPolicyConfig")
    managed = [text(item["Type"]) for item in policy.get("ManagedWordListsConfig", [])]
    words = [f"- {code(text(item['Text']))}" for item in policy.get("WordsConfig", [])]
    return "\n".join(
        [
            f"Managed word lists: {', '.join(managed) or 'none'}.",
            "",
            "Blocked words and phrases:",
            "",
            *(words or ["None."]),
        ]
    )


def sensitive_information(properties: Mapping[str, Any]) -> Iterator[str]:
    policy = _get(properties, "SensitiveInformationPolicyConfig")
    entities = sorted(policy.get("PiiEntitiesConfig", []), key=lambda item: str(item["Type"]))
    yield _table(("Entity", "Action"), [(text(item["Type"]), text(item["Action"])) for item in entities])
    yield "Custom patterns:"
    regexes = [
        (
            cell(text(item["Name"])),
            text(item["Action"]),
            code(text(item["Pattern"])),
            cell(text(item.get("Description", ""))),
        )
        for item in policy.get("RegexesConfig", [])
    ]
    yield _table(("Name", "Action", "Pattern", "Description"), regexes)


def contextual_grounding(properties: Mapping[str, Any]) -> str:
    filters = _get(properties, "ContextualGroundingPolicyConfig").get("FiltersConfig", [])
    return _table(("Check", "Threshold"), [(text(item["Type"]), text(item["Threshold"])) for item in filters])


def guardrail_sections(resource: Mapping[str, Any], enforcement: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    properties = resource.get("Properties", {})
    yield settings(properties, enforcement)
    yield "### Content filters and prompt attacks\n\nThe strength of each filter on prompts and on answers."
    yield content_filters(properties)
    yield "### Denied topics"
    yield denied_topics(properties)
    yield "### Words"
    yield word_filters(properties)
    yield "### Personal information"
    yield from sensitive_information(properties)
    yield "### Contextual grounding\n\nAn answer scoring below a threshold is blocked."
    yield contextual_grounding(properties)


def render(templates: Mapping[str, Mapping[str, Any]]) -> str:
    """The whole page, for every guardrail of the given templates (stack name -> template)."""
    blocks = [INTRO.rstrip("\n")]
    for stack, template in sorted(templates.items()):
        resources = template.get("Resources", {})
        enforcement = [r for r in resources.values() if r.get("Type") == ENFORCEMENT]
        for logical_id, resource in sorted(resources.items()):
            if resource.get("Type") == GUARDRAIL:
                path = resource.get("Metadata", {}).get("aws:cdk:path", f"{stack}/{logical_id}")
                blocks += [f"## {code(path)}", *guardrail_sections(resource, enforcement)]
    return "\n\n".join(blocks) + "\n"


def read_templates(assembly: Path) -> dict[str, dict[str, Any]]:
    """The templates of a synthesized cloud assembly, by stack."""
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(assembly.glob("*.template.json"))
    }


def main(argv: Sequence[str] | None = None, *, output: Path = OUTPUT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assembly", type=Path, default=ROOT / "cdk.out", help="a synthesized cloud assembly")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is not what the assembly gives")
    args = parser.parse_args(argv)
    templates = read_templates(args.assembly)
    if not any(r.get("Type") == GUARDRAIL for t in templates.values() for r in t.get("Resources", {}).values()):
        print(f"no guardrail in {args.assembly}: synthesize first ({COMMAND} does)", file=sys.stderr)
        return 2
    stale = f"{output} is out of date with {args.assembly}; run {COMMAND}"
    return write_or_check(output, render(templates), check=args.check, stale=stale)


if __name__ == "__main__":
    sys.exit(main())
