"""The tool group files, the runners and the gateway's targets agree, and every name fits the gateway."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import pytest

from common.schema import check_schema
from stacks.constructs.agent import GATEWAY_GROUPS

from .agent_tools_fakes import group_files

# AgentCore Gateway: CreateGatewayTarget `name` and ToolDefinition `name`.
TARGET_NAME = re.compile(r"([0-9a-zA-Z][-]?){1,100}")
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
TARGET_DESCRIPTION_LIMIT = 200

TOOLS = [(group, tool) for group, document in group_files().items() for tool in document["tools"]]
IDS = [f"{group}.{tool['name']}" for group, tool in TOOLS]


def test_there_are_tool_groups() -> None:
    assert {"status", "knowledge"} <= set(group_files())


def test_every_group_file_is_a_handler_group_and_a_gateway_target(tools: ModuleType) -> None:
    assert set(tools.TOOL_GROUPS) == set(group_files())
    assert set(GATEWAY_GROUPS) == set(group_files())


@pytest.mark.parametrize("group", sorted(group_files()))
def test_every_tool_has_a_runner_and_every_runner_a_tool(tools: ModuleType, group: str) -> None:
    written = [tool["name"] for tool in group_files()[group]["tools"]]

    assert len(written) == len(set(written)), "a tool name is repeated"
    assert set(tools.TOOL_GROUPS[group]) == set(written)


def test_the_handler_knows_every_tool_with_its_schema(tools: ModuleType) -> None:
    assert {key: spec.input_schema for key, spec in tools.TOOLS.items()} == {
        (group, tool["name"]): tool["inputSchema"] for group, tool in TOOLS
    }


@pytest.mark.parametrize("group", sorted(group_files()))
def test_group_names_fit_the_gateway_target_name(group: str) -> None:
    assert TARGET_NAME.fullmatch(group)
    # The gateway joins target and tool with three underscores; a target name cannot contain one.
    assert "_" not in group


@pytest.mark.parametrize("group", sorted(group_files()))
def test_group_descriptions_fit_the_gateway_target(group: str) -> None:
    description = group_files()[group]["description"]

    assert 0 < len(description) <= TARGET_DESCRIPTION_LIMIT


@pytest.mark.parametrize(("group", "tool"), TOOLS, ids=IDS)
def test_tool_names_fit_the_gateway(group: str, tool: dict[str, Any]) -> None:
    assert TOOL_NAME.fullmatch(tool["name"])


@pytest.mark.parametrize(("group", "tool"), TOOLS, ids=IDS)
def test_input_schemas_use_only_what_the_validator_checks(group: str, tool: dict[str, Any]) -> None:
    check_schema(tool["inputSchema"])


@pytest.mark.parametrize(("group", "tool"), TOOLS, ids=IDS)
def test_input_schemas_are_closed_objects_with_described_fields(group: str, tool: dict[str, Any]) -> None:
    schema = tool["inputSchema"]

    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema.get("required", [])) <= set(schema["properties"])
    assert all(field.get("description") for field in schema["properties"].values())
    assert tool["description"]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"}}},
        {"type": "object", "properties": {"n": {"type": "integer", "exclusiveMinimum": 0}}},
        {"type": "tuple"},
    ],
)
def test_check_schema_rejects_what_the_validator_would_ignore(schema: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        check_schema(schema)
