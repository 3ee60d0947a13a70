"""scripts/stack_outputs.py: which stack the scripts call, from cdk.json as the app reads it, and its outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from scripts import stack_outputs
from scripts.stack_outputs import StackError, locate, read_outputs, require
from tests.synth import Assembly

from .conftest import Settings

ACME = {"stack_prefix": "Acme", "region": "eu-west-1", "inference_profile": "eu"}


@pytest.mark.parametrize(
    ("given", "located"),
    [
        pytest.param((None, None), ("Acme-Application", "eu-west-1"), id="configured"),
        pytest.param(("Mine", None), ("Mine", "eu-west-1"), id="--stack-name"),
        pytest.param((None, "us-west-2"), ("Acme-Application", "us-west-2"), id="--region"),
    ],
)
def test_locate_fills_in_what_was_not_given_from_the_configuration(
    cdk_json: Settings, given: tuple[str | None, str | None], located: tuple[str, str]
) -> None:
    cdk_json(ACME)

    assert locate(*given) == located


def test_locate_leaves_the_region_to_the_sdk_when_none_is_configured(cdk_json: Settings) -> None:
    cdk_json({"stack_prefix": "Acme"})

    assert locate(None, None) == ("Acme-Application", None)


def test_locate_needs_no_configuration_when_both_are_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(stack_outputs, "CDK_JSON", tmp_path / "missing.json")

    assert locate("Mine", "us-west-2") == ("Mine", "us-west-2")


def test_locate_says_what_is_wrong_with_the_configuration(cdk_json: Settings) -> None:
    cdk_json({"profile": "staging"})

    with pytest.raises(StackError) as raised:
        locate(None, None)

    assert str(raised.value) == (
        'config error in cdk.json: profile="staging" is not one of: dev, prod (or pass --stack-name and --region)'
    )


def test_the_default_stack_is_the_one_the_app_synthesizes(assembly: Assembly) -> None:
    names = {
        artifact["properties"].get("stackName", name)
        for name, artifact in assembly.manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }

    stack_name, _ = locate(None, "us-east-1")

    assert stack_name in names
    assert stack_name.endswith("-Application")


def test_read_outputs_names_a_missing_stack(cloudformation: Any, cloudformation_stub: Stubber) -> None:
    message = "Stack with id Gone-Application does not exist"
    cloudformation_stub.add_client_error("describe_stacks", "ValidationError", message, 400)

    with pytest.raises(StackError) as raised:
        read_outputs(cloudformation, "Gone-Application")

    assert str(raised.value) == (
        "stack 'Gone-Application' not found in us-east-1"
        " (deploy it with `make deploy`, or pass --stack-name or --region)"
    )


def test_require_returns_the_values_in_order_or_names_every_missing_one() -> None:
    outputs = {"ApiUrl": "https://api", "TokenUrl": "", "UserPoolId": "pool"}

    assert require(outputs, "S", ["UserPoolId", "ApiUrl"], "hint") == ["pool", "https://api"]
    with pytest.raises(StackError) as raised:
        require(outputs, "S", ["TokenUrl", "ApiUrl", "MachineClientId"], "is the API deployed?")
    assert str(raised.value) == (
        "stack 'S' has no output TokenUrl or MachineClientId (its outputs: ApiUrl, TokenUrl, UserPoolId);"
        " is the API deployed?"
    )
