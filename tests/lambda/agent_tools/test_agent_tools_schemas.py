"""functions.json and openapi.json: valid for Bedrock agents, and in step with the code that serves them."""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
import pytest
from agent_tools.schemas import FUNCTIONS_FILE, OPENAPI_FILE, OPERATIONS, ParameterSpec, load_functions
from agent_tools.status import OPERATION_HANDLERS
from agent_tools.support_tickets import ACTIONS
from agent_tools.validation import check_value
from botocore.validate import ParamValidator

NAME = re.compile(r"^([0-9a-zA-Z][_-]?){1,100}$")
PARAMETER_TYPES = {"string", "number", "integer", "boolean", "array"}
ACTION_GROUP_DESCRIPTION_MAX = 200
FUNCTION_DESCRIPTION_MAX = 1200
PARAMETER_DESCRIPTION_MAX = 500
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:agent-tools"


@pytest.fixture(scope="module")
def functions_document() -> dict[str, Any]:
    document = json.loads(FUNCTIONS_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def openapi_document() -> dict[str, Any]:
    document = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def service_model() -> Any:
    return botocore.session.get_session().get_service_model("bedrock-agent")


def all_parameters(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (function["name"], name, parameter)
        for function in document["functions"]
        for name, parameter in function["parameters"].items()
    ]


def test_the_limits_are_those_of_the_service_model(service_model: Any) -> None:
    function = service_model.shape_for("Function")
    parameter = service_model.shape_for("ParameterDetail")
    request = service_model.operation_model("CreateAgentActionGroup").input_shape

    assert f"^{function.members['name'].metadata['pattern']}$" == NAME.pattern
    assert function.members["description"].metadata["max"] == FUNCTION_DESCRIPTION_MAX
    assert parameter.members["description"].metadata["max"] == PARAMETER_DESCRIPTION_MAX
    assert set(parameter.members["type"].enum) == PARAMETER_TYPES
    assert request.members["description"].metadata["max"] == ACTION_GROUP_DESCRIPTION_MAX


def test_the_action_group_is_named_and_described(functions_document: dict[str, Any]) -> None:
    assert functions_document["actionGroup"] == "SupportTickets"
    assert NAME.match(functions_document["actionGroup"])
    assert 1 <= len(functions_document["description"]) <= ACTION_GROUP_DESCRIPTION_MAX


def test_functions_have_valid_names_and_descriptions(functions_document: dict[str, Any]) -> None:
    names = [function["name"] for function in functions_document["functions"]]

    assert names == ["create_ticket", "get_ticket", "list_tickets", "close_ticket"]
    for function in functions_document["functions"]:
        assert NAME.match(function["name"]), function["name"]
        assert 1 <= len(function["description"]) <= FUNCTION_DESCRIPTION_MAX, function["name"]
        assert isinstance(function["requireConfirmation"], bool), function["name"]


def test_only_the_changing_functions_require_confirmation(functions_document: dict[str, Any]) -> None:
    confirmed = {function["name"] for function in functions_document["functions"] if function["requireConfirmation"]}

    assert confirmed == {"create_ticket", "close_ticket"}


def test_parameters_have_valid_names_types_and_descriptions(functions_document: dict[str, Any]) -> None:
    for function, name, parameter in all_parameters(functions_document):
        where = f"{function}.{name}"
        assert NAME.match(name), where
        assert parameter["type"] in PARAMETER_TYPES, where
        assert isinstance(parameter["required"], bool), where
        assert 1 <= len(parameter["description"]) <= PARAMETER_DESCRIPTION_MAX, where


def test_descriptions_state_the_allowed_values(functions_document: dict[str, Any]) -> None:
    # Bedrock enforces none of these constraints, so the model only learns them from the description.
    for function, name, parameter in all_parameters(functions_document):
        description = parameter["description"]
        for allowed in parameter.get("enum", []):
            assert str(allowed) in description, f"{function}.{name}: {allowed}"
        for bound in ("maxLength", "minimum", "maximum"):
            if bound in parameter:
                assert str(parameter[bound]) in description, f"{function}.{name}: {bound}"
        if "default" in parameter:
            assert f"default {parameter['default']}" in description, f"{function}.{name}"


def test_defaults_and_patterns_are_consistent(functions_document: dict[str, Any]) -> None:
    for function, name, parameter in all_parameters(functions_document):
        spec = ParameterSpec.from_schema(name, parameter, required=parameter["required"])
        if "pattern" in parameter:
            re.compile(parameter["pattern"])
        if "default" in parameter:
            assert not parameter["required"], f"{function}.{name}"
            check_value(spec, parameter["default"])


def test_the_cloudformation_function_schema_is_valid(functions_document: dict[str, Any], service_model: Any) -> None:
    # What the CDK app builds: only these keys survive, requireConfirmation as ENABLED or DISABLED.
    functions = [
        {
            "name": function["name"],
            "description": function["description"],
            "requireConfirmation": "ENABLED" if function["requireConfirmation"] else "DISABLED",
            "parameters": {
                name: {key: parameter[key] for key in ("type", "description", "required")}
                for name, parameter in function["parameters"].items()
            },
        }
        for function in functions_document["functions"]
    ]
    request = {
        "agentId": "AGENT00001",
        "agentVersion": "DRAFT",
        "actionGroupName": functions_document["actionGroup"],
        "description": functions_document["description"],
        "actionGroupExecutor": {"lambda": LAMBDA_ARN},
        "functionSchema": {"functions": functions},
    }
    shape = service_model.operation_model("CreateAgentActionGroup").input_shape

    report = ParamValidator().validate(request, shape)

    assert not report.has_errors(), report.generate_report()


def test_every_function_has_an_action() -> None:
    assert set(load_functions()) == set(ACTIONS)


def test_openapi_version_and_info(openapi_document: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.0\.\d+", openapi_document["openapi"])
    assert openapi_document["info"]["title"]
    assert openapi_document["info"]["version"]
    assert openapi_document["info"]["description"]


def test_every_operation_is_described_for_the_agent(openapi_document: dict[str, Any]) -> None:
    operation_ids: list[str] = []
    for path, item in openapi_document["paths"].items():
        assert path.startswith("/")
        for method, operation in item.items():
            where = f"{method} {path}"
            assert method in {"get", "post", "put", "delete", "patch"}, where
            assert NAME.match(operation["operationId"]), where
            assert 1 <= len(operation["description"]) <= FUNCTION_DESCRIPTION_MAX, where
            schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert schema["type"] == "object", where
            operation_ids.append(operation["operationId"])

    assert len(operation_ids) == len(set(operation_ids))
    assert sorted(operation_ids) == ["getCurrentTime", "getKnowledgeBaseStatus"]


def test_openapi_parameters_are_described_query_parameters(openapi_document: dict[str, Any]) -> None:
    parameters = [
        parameter
        for item in openapi_document["paths"].values()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
    ]

    assert [parameter["name"] for parameter in parameters] == ["timezone"]
    for parameter in parameters:
        assert NAME.match(parameter["name"])
        assert parameter["in"] == "query"
        assert isinstance(parameter["required"], bool)
        assert 1 <= len(parameter["description"]) <= PARAMETER_DESCRIPTION_MAX
        assert parameter["schema"]["type"] in PARAMETER_TYPES


def test_every_operation_has_a_handler() -> None:
    assert {operation.operation_id for operation in OPERATIONS.values()} == set(OPERATION_HANDLERS)
    assert set(OPERATIONS) == {("GET", "/time"), ("GET", "/knowledge-base/status")}
