"""Model cost by project: an application inference profile per allow-listed model, tagged with the project tags,
copied from the configured system inference profile (or the model itself), and every API model call through it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from stacks.config import parse_settings
from tests.synth import CONFIGURATIONS, MATRIX, Assembly, resources_at

FUNCTIONS = ("Application/Api/Function/", "Application/Api/StreamFunction/")
INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
# CloudFormation's patterns for a profile's name and description (AWS::Bedrock::ApplicationInferenceProfile).
NAME = re.compile(r"([0-9a-zA-Z][ _-]?)+")
DESCRIPTION = re.compile(r"([0-9a-zA-Z:.][ _-]?)+")
AGNOSTIC = "arn:<AWS::Partition>:bedrock:<AWS::Region>"
# Each configuration checked, and what its profiles copy: the system profile of a geography, or the model here.
SOURCES = {
    "default": f"{AGNOSTIC}:<AWS::AccountId>:inference-profile/us.{{model}}",
    "dev-pinned-eu": "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.{model}",
    "dev-agnostic-none": f"{AGNOSTIC}::foundation-model/{{model}}",
    "dev-pinned-none": "arn:aws:bedrock:us-east-1::foundation-model/{model}",
}
# Where each configuration's profiles may route a call: any region of the geography, or this one.
ROUTES = {
    "default": "arn:<AWS::Partition>:bedrock:*::foundation-model/{model}",
    "dev-pinned-eu": "arn:aws:bedrock:*::foundation-model/{model}",
    "dev-agnostic-none": f"{AGNOSTIC}::foundation-model/{{model}}",
    "dev-pinned-none": "arn:aws:bedrock:us-east-1::foundation-model/{model}",
}


def _text(value: Any) -> str:
    """A template value as text: references as <Name>, attributes as <LogicalId.Attribute>."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    separator, parts = value["Fn::Join"]
    return str(separator).join(_text(part) for part in parts)


def _settings(name: str) -> dict[str, Any]:
    return CONFIGURATIONS["default"] if name == "default" else MATRIX[name]


@pytest.fixture(scope="module")
def assemblies(assembly: Assembly, matrix: dict[str, Assembly]) -> dict[str, Assembly]:
    return {"default": assembly, **{name: matrix[name] for name in SOURCES if name != "default"}}


def _model(source: str) -> str:
    """The model a profile's source names: a system profile's id less its geography, or a foundation model's id."""
    kind, _, name = source.partition("/")
    return name.split(".", 1)[1] if kind.endswith(":inference-profile") else name


def _profiles(assembly: Assembly) -> dict[str, dict[str, Any]]:
    """The application inference profiles (their logical id and properties) by the model their source names."""
    found = resources_at(assembly.assertions("Application"), "AWS::Bedrock::ApplicationInferenceProfile", "")
    return {
        _model(_text(resource["Properties"]["ModelSource"]["CopyFrom"])): {"id": logical_id, **resource["Properties"]}
        for logical_id, resource in found.items()
    }


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_one_tagged_profile_per_allow_listed_model_copies_the_configured_source(
    name: str, assemblies: dict[str, Assembly]
) -> None:
    config = parse_settings(_settings(name))
    models = [choice.model for choice in config.api.models]
    profiles = _profiles(assemblies[name])

    assert sorted(profiles) == sorted(models)
    for model in models:
        properties = profiles[model]
        assert _text(properties["ModelSource"]["CopyFrom"]) == SOURCES[name].format(model=model)
        assert properties["Tags"] == [{"Key": "profile", "Value": "dev"}, {"Key": "project", "Value": "BedrockGenAi"}]
        assert NAME.fullmatch(properties["InferenceProfileName"])
        assert len(properties["InferenceProfileName"]) <= 64
        assert properties["InferenceProfileName"].startswith("BedrockGenAi-Application-")
        assert DESCRIPTION.fullmatch(properties["Description"])
    names = [properties["InferenceProfileName"] for properties in profiles.values()]
    assert len(set(names)) == len(names)


def test_a_new_source_gets_a_new_name(assemblies: dict[str, Assembly]) -> None:
    # Name and source are replaced together: CloudFormation creates the new profile before it deletes the old one.
    through_us = {m: p["InferenceProfileName"] for m, p in _profiles(assemblies["default"]).items()}
    directly = {m: p["InferenceProfileName"] for m, p in _profiles(assemblies["dev-agnostic-none"]).items()}

    assert through_us.keys() == directly.keys()
    assert not set(through_us.values()) & set(directly.values())


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_functions_invoke_each_model_through_its_profile_only(
    name: str, function: str, assemblies: dict[str, Assembly]
) -> None:
    profiles = _profiles(assemblies[name])
    (policy,) = resources_at(assemblies[name].assertions("Application"), "AWS::IAM::ManagedPolicy", function).values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    invoke = [s for s in statements if "bedrock:InvokeModel" in json.dumps(s["Action"])]
    arns = {model: f"<{profile['id']}.InferenceProfileArn>" for model, profile in profiles.items()}

    # The Bedrock user guide's shape: the profile, and the model where the profile routes, only through it.
    expected = [
        {"Action": INVOKE, "Resource": sorted(arns.values())},
        *(
            {
                "Action": INVOKE,
                "Resource": ROUTES[name].format(model=model),
                "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": arn}},
            }
            for model, arn in sorted(arns.items())
        ),
    ]
    rendered = [
        {
            "Action": s["Action"],
            "Resource": sorted(map(_text, s["Resource"])) if isinstance(s["Resource"], list) else _text(s["Resource"]),
            **(
                {"Condition": {op: {k: _text(v) for k, v in c.items()} for op, c in s["Condition"].items()}}
                if "Condition" in s
                else {}
            ),
        }
        for s in invoke
    ]
    assert all(s["Effect"] == "Allow" for s in invoke)
    assert sorted(rendered, key=json.dumps) == sorted(expected, key=json.dumps)


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_functions_list_each_model_by_its_id_and_call_it_by_its_profile(
    name: str, function: str, assemblies: dict[str, Assembly]
) -> None:
    config = parse_settings(_settings(name))
    profiles = _profiles(assemblies[name])
    (resource,) = resources_at(assemblies[name].assertions("Application"), "AWS::Lambda::Function", function).values()
    environment = resource["Properties"]["Environment"]["Variables"]

    models = json.loads(_text(environment["MODELS"]))
    assert models == [
        {"id": choice.id, "name": choice.name, "arn": f"<{profiles[choice.model]['id']}.InferenceProfileArn>"}
        for choice in config.api.models
    ]
    generation = profiles[config.api.generation_model]["id"]
    assert _text(environment["GENERATION_MODEL_ARN"]) == f"<{generation}.InferenceProfileArn>"


def test_the_agent_harness_keeps_calling_the_system_profile(assembly: Assembly) -> None:
    # AgentCore documents no application inference profile for a harness model: it stays on the system profile.
    (harness,) = resources_at(assembly.assertions("Application"), "AWS::BedrockAgentCore::Harness", "").values()

    model = harness["Properties"]["Model"]["BedrockModelConfig"]["ModelId"]
    assert model == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
