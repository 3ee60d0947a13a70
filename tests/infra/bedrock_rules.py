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


def _published(guardrail: Mapping[str, Any]) -> str | None:
    """Why a guardrail reference is not a published version, or None."""
    if not guardrail.get("guardrailIdentifier"):
        return "without a guardrail"
    if guardrail.get("guardrailVersion") in (None, "DRAFT"):
        return "uses the guardrail's DRAFT, not a published version"
    return None


# What AllowedTools must never hold: every tool, the built-in shell and file tools, or all built-ins.
UNSAFE_TOOLS = {"*", "@builtin", "shell", "file_operations", "@builtin/shell", "@builtin/file_operations"}


def harnesses_guard_their_model_and_limit_their_tools(template: Template) -> list[str]:
    """Every harness passes a published guardrail to its model and lists its tools, without the built-ins."""
    violations = []
    for logical_id, properties in _resources(template, "AWS::BedrockAgentCore::Harness"):
        model = (properties.get("Model") or {}).get("BedrockModelConfig") or {}
        problem = _published((model.get("AdditionalParams") or {}).get("guardrailConfig") or {})
        if problem:
            violations.append(f"{logical_id}: harness model {problem}")
        allowed = properties.get("AllowedTools")
        if not allowed:
            violations.append(f"{logical_id}: harness without AllowedTools (the built-in shell and file tools are on)")
        elif UNSAFE_TOOLS & set(allowed):
            violations.append(f"{logical_id}: harness allows {', '.join(sorted(UNSAFE_TOOLS & set(allowed)))}")
        memory = properties.get("Memory") or {}
        if not memory or (
            "ManagedMemoryConfiguration" in memory and not memory["ManagedMemoryConfiguration"].get("EncryptionKeyArn")
        ):
            violations.append(f"{logical_id}: harness with a memory not on a customer-managed key")
    return violations


def memories_and_gateways_use_a_cmk(template: Template) -> list[str]:
    """Every AgentCore memory and gateway is encrypted with a customer-managed key; gateways take IAM auth."""
    violations = []
    for logical_id, properties in _resources(template, "AWS::BedrockAgentCore::Memory"):
        if not properties.get("EncryptionKeyArn"):
            violations.append(f"{logical_id}: memory without a customer-managed KMS key")
    for logical_id, properties in _resources(template, "AWS::BedrockAgentCore::Gateway"):
        if not properties.get("KmsKeyArn"):
            violations.append(f"{logical_id}: gateway without a customer-managed KMS key")
        if properties.get("AuthorizerType") != "AWS_IAM":
            violations.append(f"{logical_id}: gateway authorizes with {properties.get('AuthorizerType')}, not AWS_IAM")
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


BEDROCK_SERVICES = {"bedrock.amazonaws.com", "bedrock-agentcore.amazonaws.com"}


def bedrock_roles_are_confused_deputy_safe(template: Template) -> list[str]:
    """Every role Bedrock or AgentCore may assume names the source account and resources (confused deputy)."""
    violations = []
    for logical_id, properties in _resources(template, "AWS::IAM::Role"):
        for statement in (properties.get("AssumeRolePolicyDocument") or {}).get("Statement", []):
            services = (statement.get("Principal") or {}).get("Service", [])
            if not BEDROCK_SERVICES & set([services] if isinstance(services, str) else services):
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
    harnesses_guard_their_model_and_limit_their_tools,
    memories_and_gateways_use_a_cmk,
    guardrails_detect_prompt_attacks_and_use_a_cmk,
    bedrock_roles_are_confused_deputy_safe,
    service_invocations_name_their_source,
)
