"""Every log group the stacks create has the project key and the configured retention, and every function logs to one.

A function without a log group of its stack still logs: Lambda creates `/aws/lambda/<function>` on its first run,
unencrypted and kept forever. CDK's own functions (custom resource providers) are the usual offenders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tests.synth import MATRIX, Assembly

# What each profile's log_retention_days defaults to (docs/configuration.md).
RETENTION_DAYS = {"dev": 30, "prod": 365}
# Resources that create log groups outside the template (CDK's LogRetention function does).
OUT_OF_TEMPLATE = {"Custom::LogRetention"}


def _resources(template: Mapping[str, Any], type_: str) -> dict[str, Mapping[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == type_}


Templates = Mapping[str, Mapping[str, Any]]


def templates_of(assembly: Assembly) -> dict[str, dict[str, Any]]:
    return {stack: assembly.template(stack) for stack in assembly.stacks}


def _is_project_key(templates: Templates, value: Any) -> bool:
    """Whether a KmsKeyId is the foundation's key: its ARN there, the output that publishes it elsewhere."""
    foundation = templates["Foundation"]
    (key_id,) = _resources(foundation, "AWS::KMS::Key")
    key_arn = {"Fn::GetAtt": [key_id, "Arn"]}
    if value == key_arn:
        return True
    output = value.get("Fn::GetStackOutput", {}).get("OutputName") if isinstance(value, dict) else None
    return bool(output) and foundation.get("Outputs", {}).get(output, {}).get("Value") == key_arn


def log_group_findings(templates: Templates, retention_days: int) -> list[str]:
    """Log groups without the project key or the configured retention, and resources that make groups elsewhere."""
    findings = []
    for stack, template in templates.items():
        for logical_id, group in _resources(template, "AWS::Logs::LogGroup").items():
            properties = group.get("Properties", {})
            if not _is_project_key(templates, properties.get("KmsKeyId")):
                findings.append(f"{stack}/{logical_id}: not encrypted with the project key")
            if properties.get("RetentionInDays") != retention_days:
                findings.append(f"{stack}/{logical_id}: kept {properties.get('RetentionInDays')} days")
        findings += [
            f"{stack}/{logical_id}: {resource['Type']} creates a log group outside the template"
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] in OUT_OF_TEMPLATE
        ]
    return findings


def function_findings(templates: Templates) -> list[str]:
    """Functions that log to no log group of their stack."""
    findings = []
    for stack, template in templates.items():
        groups = _resources(template, "AWS::Logs::LogGroup")
        names = [group.get("Properties", {}).get("LogGroupName") for group in groups.values()]
        for logical_id, function in _resources(template, "AWS::Lambda::Function").items():
            target = function.get("Properties", {}).get("LoggingConfig", {}).get("LogGroup")
            default_name = {"Fn::Join": ["", ["/aws/lambda/", {"Ref": logical_id}]]}
            if not ((isinstance(target, dict) and target.get("Ref") in groups) or default_name in names):
                findings.append(f"{stack}/{logical_id}: logs to {target or 'a group Lambda creates'}")
    return findings


def logged_functions(assembly: Assembly) -> set[str]:
    """The construct paths of the functions the walk checked."""
    return {
        function["Metadata"]["aws:cdk:path"]
        for stack in assembly.stacks
        for function in _resources(assembly.template(stack), "AWS::Lambda::Function").values()
    }


VARIANTS = {"assembly": "dev", "prod_assembly": "prod", "flipped_assembly": "prod"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_log_group_has_the_project_key_and_retention(variant: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(variant)

    findings = log_group_findings(templates_of(assembly), RETENTION_DAYS[VARIANTS[variant]])

    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_function_logs_to_a_group_of_its_stack(variant: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(variant)

    findings = function_findings(templates_of(assembly))

    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_logs_hold_for_any_profile_environment_or_geography(name: str, matrix: dict[str, Assembly]) -> None:
    assembly = matrix[name]

    templates = templates_of(assembly)
    findings = log_group_findings(templates, RETENTION_DAYS[MATRIX[name]["profile"]]) + function_findings(templates)

    assert not findings, "\n".join(findings)


def test_cdk_provider_functions_are_among_those_checked(assembly: Assembly, flipped_assembly: Assembly) -> None:
    assert "Foundation/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler" in logged_functions(assembly)
    assert "Foundation/Custom::S3AutoDeleteObjectsCustomResourceProvider/Handler" in logged_functions(flipped_assembly)


def test_cdk_provider_logs_to_its_own_encrypted_group(flipped_assembly: Assembly) -> None:
    template = flipped_assembly.template("Foundation")
    (handler,) = [
        function
        for function in _resources(template, "AWS::Lambda::Function").values()
        if function["Metadata"]["aws:cdk:path"]
        == "Foundation/Custom::S3AutoDeleteObjectsCustomResourceProvider/Handler"
    ]
    group_id = handler["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    group = template["Resources"][group_id]

    assert (
        group["Metadata"]["aws:cdk:path"]
        == "Foundation/Custom::S3AutoDeleteObjectsCustomResourceProvider/Logs/Resource"
    )
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "Delete"  # the flipped configuration does not retain data


KEY = {"Type": "AWS::KMS::Key", "Properties": {}}
KEY_ARN = {"Fn::GetAtt": ["Key", "Arn"]}


def test_the_checks_catch_an_unencrypted_group_a_wrong_retention_and_a_log_retention_function() -> None:
    templates = {
        "Foundation": {
            "Resources": {
                "Key": KEY,
                "Good": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": KEY_ARN, "RetentionInDays": 30}},
                "Plain": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
                "Long": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": KEY_ARN, "RetentionInDays": 731}},
                "Retention": {"Type": "Custom::LogRetention", "Properties": {}},
            }
        }
    }

    assert log_group_findings(templates, 30) == [
        "Foundation/Plain: not encrypted with the project key",
        "Foundation/Long: kept 731 days",
        "Foundation/Retention: Custom::LogRetention creates a log group outside the template",
    ]


def test_the_checks_catch_a_function_without_a_group_of_its_stack() -> None:
    group = {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": KEY_ARN, "RetentionInDays": 30}}
    named = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Named"}]]}},
    }
    templates = {
        "Foundation": {
            "Resources": {
                "Key": KEY,
                "Group": group,
                "NamedGroup": named,
                "Configured": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {"LoggingConfig": {"LogGroup": {"Ref": "Group"}}},
                },
                "Named": {"Type": "AWS::Lambda::Function", "Properties": {}},
                "Bare": {"Type": "AWS::Lambda::Function", "Properties": {}},
                "Elsewhere": {"Type": "AWS::Lambda::Function", "Properties": {"LoggingConfig": {"LogGroup": "shared"}}},
            }
        }
    }

    assert function_findings(templates) == [
        "Foundation/Bare: logs to a group Lambda creates",
        "Foundation/Elsewhere: logs to shared",
    ]
