"""What every project function has in common, and why only those that handle no customer data leave the VPC."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from stacks.constructs.common import Baseline
from stacks.constructs.function import VpcFunction
from tests.synth import Assembly

PACKAGES = {"ingestion", "agent_tools", "api"}
# The functions that handle no customer data and run outside the VPC, by handler; every other one runs inside it.
OUTSIDE_VPC = {"ingestion.handler.handler", "agent_tools.handler.status_tools"}
PACKS = ("NIST.800.53.R5", "HIPAA.Security")


def project_functions(assembly: Assembly) -> Iterator[tuple[str, dict[str, Any], set[str]]]:
    """(construct path, properties, every IAM action its role allows) of each function of lambda/."""
    for stack in assembly.stacks:
        resources = assembly.template(stack)["Resources"]
        policies = [r for r in resources.values() if r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")]
        for function in (r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"):
            properties = function["Properties"]
            if properties.get("Handler", "").split(".")[0] not in PACKAGES:
                continue
            role = {"Ref": properties["Role"]["Fn::GetAtt"][0]}
            actions = {
                action
                for policy in policies
                if role in policy["Properties"].get("Roles", [])
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]
                if statement["Effect"] == "Allow"
                for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
            }
            yield function["Metadata"]["aws:cdk:path"].removesuffix("/Resource"), properties, actions


@pytest.mark.parametrize("variant", ["assembly", "flipped_assembly"])
def test_every_project_function_can_decrypt_its_environment_and_dead_letter(
    variant: str, request: pytest.FixtureRequest
) -> None:
    assembly: Assembly = request.getfixturevalue(variant)
    seen = set()
    for stack in assembly.stacks:
        resources = assembly.template(stack)["Resources"]
        policies = [r for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
        for function in (r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"):
            properties = function["Properties"]
            package = properties.get("Handler", "").split(".")[0]
            if package not in PACKAGES:
                continue
            seen.add(package)
            role = properties["Role"]["Fn::GetAtt"][0]
            (policy,) = [p for p in policies if {"Ref": role} in p["Properties"]["Roles"]]
            key_statements = [
                s
                for s in policy["Properties"]["PolicyDocument"]["Statement"]
                if {"kms:Decrypt", "kms:GenerateDataKey"} <= set(s["Action"])
            ]
            assert key_statements, f"{package}: its role cannot use the key of its environment and dead-letter queue"
            assert json.dumps(key_statements[0]["Resource"]) == json.dumps(properties["KmsKeyArn"])
            assert properties["Architectures"] == ["arm64"]
            assert properties["TracingConfig"] == {"Mode": "Active"}
            assert "DeadLetterConfig" in properties
    assert seen == PACKAGES


@pytest.mark.parametrize("variant", ["assembly", "flipped_assembly"])
def test_only_the_functions_that_handle_no_customer_data_run_outside_the_vpc(
    variant: str, request: pytest.FixtureRequest
) -> None:
    assembly: Assembly = request.getfixturevalue(variant)
    placement = {
        properties["Handler"]: ("VpcConfig" in properties, any(a.startswith("ec2:") for a in actions))
        for _, properties, actions in project_functions(assembly)
    }

    assert set(placement) > OUTSIDE_VPC
    for handler, (in_vpc, manages_network_interfaces) in placement.items():
        assert in_vpc is (handler not in OUTSIDE_VPC), handler
        assert manages_network_interfaces is in_vpc, handler  # no ENI permissions outside the VPC


def test_each_function_outside_the_vpc_acknowledges_lambda_inside_vpc_with_its_reason(assembly: Assembly) -> None:
    outside = {path for path, properties, _ in project_functions(assembly) if "VpcConfig" not in properties}
    reports = {report["pluginName"]: report for report in assembly.validation_report["pluginReports"]}

    for pack in PACKS:
        assert not reports[pack]["violations"]
        acknowledged = {
            construct["constructPath"].removesuffix("/Resource"): finding["reason"]
            for finding in reports[pack]["suppressedViolations"]
            if finding["ruleName"] == f"{pack}-LambdaInsideVPC"
            for construct in finding["violatingConstructs"]
        }
        assert set(acknowledged) == outside, pack
        for reason in acknowledged.values():
            assert reason.startswith("This function runs outside the VPC because it handles no customer data")
            assert "\n" not in reason


@pytest.mark.parametrize("variant", ["assembly", "flipped_assembly"])
def test_no_function_in_the_vpc_may_call_the_bedrock_agent_control_plane(
    variant: str, request: pytest.FixtureRequest
) -> None:
    assembly: Assembly = request.getfixturevalue(variant)
    model = botocore.session.get_session().get_service_model("bedrock-agent")
    control_plane = {f"bedrock:{operation}" for operation in model.operation_names}
    callers = {
        properties["Handler"]: "VpcConfig" in properties
        for _, properties, actions in project_functions(assembly)
        if actions & control_plane
    }

    # Ingestion starts and lists jobs, the status tools read the latest one: both from outside the VPC.
    assert callers == {"ingestion.handler.handler": False, "agent_tools.handler.status_tools": False}


@pytest.mark.parametrize("reason", ["", "  ", "first line\nsecond line"])
def test_running_outside_the_vpc_takes_a_one_line_reason(reason: str) -> None:
    stack = cdk.Stack(cdk.App())
    baseline = Baseline(
        vpc=ec2.Vpc(stack, "Vpc"),
        subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        key=kms.Key(stack, "Key"),
        log_retention=logs.RetentionDays.ONE_DAY,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )

    with pytest.raises(ValueError, match="outside_vpc must be a one-line reason"):
        VpcFunction(
            stack,
            "Function",
            package="ingestion",
            description="d",
            baseline=baseline,
            environment={},
            timeout=cdk.Duration.seconds(10),
            concurrency_bound="b",
            outside_vpc=reason,
        )
