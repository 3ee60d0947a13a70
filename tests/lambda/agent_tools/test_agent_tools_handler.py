"""The Lambda entry point: configuration, and telling the two action groups' events apart."""

from __future__ import annotations

import importlib
import json
import logging
from types import ModuleType
from typing import Any

import pytest

from .agent_tools_fakes import (
    DS_ID,
    KB_ID,
    REQUEST_ID,
    TABLE,
    FakeContext,
    api_answer,
    api_event,
    function_answer,
    function_event,
    stored_ticket,
)

FAILED = f"The tool failed unexpectedly (request id {REQUEST_ID}); nothing more is known. Try again later."
UNSUPPORTED = "Unsupported request: expected a function or API call from a Bedrock agent."


@pytest.mark.parametrize("client", ["bedrock_agent", "dynamodb"])
def test_configuration_is_read_at_load(handler_module: ModuleType, client: str) -> None:
    module = importlib.reload(handler_module)
    config = (
        getattr(module, client).meta.config if client == "bedrock_agent" else module.dynamodb.meta.client.meta.config
    )

    assert (module.TICKETS_TABLE, module.KNOWLEDGE_BASE_ID, module.DATA_SOURCE_ID) == (TABLE, KB_ID, DS_ID)
    # botocore reads the legacy max_attempts as retries, so max_attempts=3 allows 4 attempts in all.
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert (config.connect_timeout, config.read_timeout) == (5, 10)


def test_the_ticket_store_uses_the_configured_table(handler_module: ModuleType, table: Any) -> None:
    table.put_item(Item=stored_ticket("TCK-ABC123", "2025-03-14T15:09:26.535897Z"))

    ticket = handler_module.open_ticket_store().get("TCK-ABC123")

    assert ticket is not None
    assert ticket["ticket_id"] == "TCK-ABC123"


def test_the_ticket_store_needs_its_table(handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TICKETS_TABLE")
    module = importlib.reload(handler_module)

    with pytest.raises(RuntimeError, match="TICKETS_TABLE"):
        module.open_ticket_store()


def test_function_events_go_to_the_function_schema_group(tool: ModuleType) -> None:
    response = tool.handler(function_event("list_tickets"), FakeContext())

    assert response == function_answer("list_tickets", '{"tickets":[]}')


def test_api_events_go_to_the_openapi_group(tool: ModuleType) -> None:
    response = tool.handler(api_event("/time"), FakeContext())

    assert response["response"]["httpStatusCode"] == 200
    assert set(response["response"]) == {"actionGroup", "apiPath", "httpMethod", "httpStatusCode", "responseBody"}


def test_other_events_fail_in_the_function_shape(tool: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    response = tool.handler({"actionGroup": "SupportTickets", "inputText": "hi"}, FakeContext())

    assert response == {
        "messageVersion": "1.0",
        "response": {
            "actionGroup": "SupportTickets",
            "function": "",
            "functionResponse": {"responseState": "FAILURE", "responseBody": {"TEXT": {"body": UNSUPPORTED}}},
        },
        "sessionAttributes": {},
        "promptSessionAttributes": {},
    }
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert [json.loads(error) for error in errors] == [
        {"message": "Event is neither a function nor an API call", "keys": ["actionGroup", "inputText"]}
    ]


@pytest.mark.parametrize("event", [None, "function", ["apiPath"], 42])
def test_events_that_are_not_objects_fail_without_raising(tool: ModuleType, event: Any) -> None:
    response = tool.handler(event, FakeContext())

    assert response["response"]["functionResponse"] == {
        "responseState": "FAILURE",
        "responseBody": {"TEXT": {"body": UNSUPPORTED}},
    }


def raise_error(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("boom")


def test_an_error_escaping_the_function_group_fails(
    tool: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tool, "handle_function_call", raise_error)

    assert tool.handler(function_event("list_tickets"), FakeContext()) == function_answer(
        "list_tickets", FAILED, "FAILURE"
    )
    assert [record.exc_info is not None for record in caplog.records if record.levelno == logging.ERROR] == [True]


def test_an_error_escaping_the_api_group_is_a_500(tool: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tool, "handle_api_call", raise_error)

    assert tool.handler(api_event("/time"), FakeContext()) == api_answer(
        "/time", 500, json.dumps({"error": FAILED}, separators=(",", ":"))
    )
