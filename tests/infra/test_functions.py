"""What every function of the project has in common: arm64 in the VPC, traced, encrypted, able to use its key."""

from __future__ import annotations

import json

import pytest

from tests.synth import Assembly

PACKAGES = {"ingestion", "agent_tools", "api"}


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
            assert "VpcConfig" in properties
            assert "DeadLetterConfig" in properties
    assert seen == PACKAGES
