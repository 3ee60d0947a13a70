"""Project policy rules for Bedrock that no cdk-nag pack has; each returns the violations in a template."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

Template = Mapping[str, Any]
Rule = Callable[[Template], list[str]]


def _resources(template: Template, type_: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == type_:
            yield logical_id, resource.get("Properties", {})


def agents_have_a_published_guardrail_and_a_cmk(template: Template) -> list[str]:
    """Every agent applies a guardrail at a published version and is encrypted with a customer-managed key."""
    violations = []
    for logical_id, properties in _resources(template, "AWS::Bedrock::Agent"):
        guardrail = properties.get("GuardrailConfiguration") or {}
        if not guardrail.get("GuardrailIdentifier"):
            violations.append(f"{logical_id}: agent without a guardrail")
        elif guardrail.get("GuardrailVersion") in (None, "DRAFT"):
            violations.append(f"{logical_id}: agent uses the guardrail's DRAFT, not a published version")
        if not properties.get("CustomerEncryptionKeyArn"):
            violations.append(f"{logical_id}: agent without a customer-managed KMS key")
    return violations


def guardrails_detect_prompt_attacks_and_use_a_cmk(template: Template) -> list[str]:
    """Every guardrail filters prompt attacks on input and is encrypted with a customer-managed key."""
    violations = []
    for logical_id, properties in _resources(template, "AWS::Bedrock::Guardrail"):
        filters = (properties.get("ContentPolicyConfig") or {}).get("FiltersConfig") or []
        attack = [
            f for f in filters if f.get("Type") == "PROMPT_ATTACK" and f.get("InputStrength") not in (None, "NONE")
        ]
        if not attack:
            violations.append(f"{logical_id}: guardrail without an input PROMPT_ATTACK filter")
        if not properties.get("KmsKeyArn"):
            violations.append(f"{logical_id}: guardrail without a customer-managed KMS key")
    return violations


def bedrock_roles_are_confused_deputy_safe(template: Template) -> list[str]:
    """Every role Bedrock may assume names the source account and resources (confused-deputy conditions)."""
    violations = []
    for logical_id, properties in _resources(template, "AWS::IAM::Role"):
        for statement in (properties.get("AssumeRolePolicyDocument") or {}).get("Statement", []):
            services = (statement.get("Principal") or {}).get("Service", [])
            if "bedrock.amazonaws.com" not in ([services] if isinstance(services, str) else services):
                continue
            keys = {key for condition in (statement.get("Condition") or {}).values() for key in condition}
            missing = {"aws:SourceAccount", "aws:SourceArn"} - keys
            if missing:
                violations.append(f"{logical_id}: role trusted by Bedrock without {', '.join(sorted(missing))}")
    return violations


def service_invocations_name_their_source(template: Template) -> list[str]:
    """Every Lambda permission for an AWS service names the source resource and account."""
    violations = []
    for logical_id, properties in _resources(template, "AWS::Lambda::Permission"):
        principal = properties.get("Principal")
        if not (isinstance(principal, str) and principal.endswith(".amazonaws.com")):
            continue
        missing = [key for key in ("SourceArn", "SourceAccount") if not properties.get(key)]
        if missing:
            violations.append(f"{logical_id}: {principal} may invoke without {' and '.join(missing)}")
    return violations


RULES: tuple[Rule, ...] = (
    agents_have_a_published_guardrail_and_a_cmk,
    guardrails_detect_prompt_attacks_and_use_a_cmk,
    bedrock_roles_are_confused_deputy_safe,
    service_invocations_name_their_source,
)
