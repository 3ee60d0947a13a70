"""The project and profile tags reach every resource that takes tags, in the templates themselves."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from stacks.config import parse_settings
from tests.synth import CONFIGURATIONS, Assembly

# cfn-lint's copy of the CloudFormation resource schemas.
SCHEMAS = Path(str(importlib.util.find_spec("cfnlint").origin)).parent / "data" / "schemas"  # type: ignore[union-attr]
CONFIG_OF = {"assembly": "default", "prod_assembly": "prod", "flipped_assembly": "flipped"}


@cache
def _taggable(type_: str) -> bool:
    index = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    if type_ not in index:  # custom resources and CDK's metadata
        return False
    schema = json.loads((SCHEMAS / "resources" / f"{index[type_]}.json").read_text())
    return "Tags" in schema["properties"]


def _tags(properties: dict[str, Any]) -> dict[str, Any]:
    tags = properties.get("Tags", {})
    return {tag["Key"]: tag["Value"] for tag in tags} if isinstance(tags, list) else dict(tags)


# CDK writes its custom-resource providers as plain CfnResources, which Tags.of does not reach; CloudFormation still
# gives them the stack's tags when it creates them.
UNTAGGED_BY_CDK = ("CustomResourceProvider/Role", "CustomResourceProvider/Handler")


@pytest.mark.parametrize("variant", ["assembly", "prod_assembly", "flipped_assembly"])
def test_every_taggable_resource_carries_the_project_and_profile_tags(
    variant: str, request: pytest.FixtureRequest
) -> None:
    assembly: Assembly = request.getfixturevalue(variant)
    config = parse_settings(CONFIGURATIONS[CONFIG_OF[variant]])
    expected = {"project": config.stack_prefix, "profile": config.profile}
    checked = 0

    for stack in assembly.stacks:
        for logical_id, resource in assembly.template(stack)["Resources"].items():
            if not _taggable(resource["Type"]):
                continue
            if any(part in resource["Metadata"]["aws:cdk:path"] for part in UNTAGGED_BY_CDK):
                assert "Tags" not in resource["Properties"]  # else the exception is stale
                continue
            checked += 1
            tags = _tags(resource["Properties"])
            assert {key: tags.get(key) for key in expected} == expected, (stack, logical_id)

    assert checked > 50
