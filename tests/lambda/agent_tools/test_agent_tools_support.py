"""The SupportTickets action group through the Lambda handler: exact function-schema responses."""

from __future__ import annotations

import json
import logging
import re
from types import ModuleType
from typing import Any

import boto3
import pytest
from agent_tools.support_tickets import DECLINED
from agent_tools.tickets import TicketStore
from botocore.stub import Stubber

from .agent_tools_fakes import (
    REGION,
    REQUEST_ID,
    SESSION_ID,
    TABLE,
    TICKET_ID_PATTERN,
    Clock,
    FakeContext,
    IdSequence,
    function_answer,
    function_event,
    stored_ticket,
)

CREATED_AT = "2025-03-14T15:09:26.535897Z"
PRINTER = {"subject": "Printer jams", "description": "Paper jams on every page."}
FAILED = f"The tool failed unexpectedly (request id {REQUEST_ID}); nothing more is known. Try again later."


def call(module: ModuleType, function: str, parameters: dict[str, str] | None = None, **extra: Any) -> Any:
    return module.handler(function_event(function, parameters, **extra), FakeContext())


def body_of(response: dict[str, Any]) -> str:
    body = response["response"]["functionResponse"]["responseBody"]["TEXT"]["body"]
    assert isinstance(body, str)
    return body


def ticket_json(**fields: str) -> str:
    return json.dumps(fields, separators=(",", ":"))


def test_create_ticket(tool: ModuleType, table: Any) -> None:
    response = call(tool, "create_ticket", {**PRINTER, "priority": "high"})

    expected_body = ticket_json(
        ticket_id="TCK-000001",
        subject="Printer jams",
        description="Paper jams on every page.",
        priority="high",
        status="open",
        created_at=CREATED_AT,
        updated_at=CREATED_AT,
    )
    assert response == function_answer("create_ticket", expected_body)
    assert table.get_item(Key={"ticket_id": "TCK-000001"})["Item"]["session_id"] == SESSION_ID


def test_create_ticket_defaults_to_normal_priority(tool: ModuleType) -> None:
    assert json.loads(body_of(call(tool, "create_ticket", PRINTER)))["priority"] == "normal"


def test_create_ticket_keeps_non_ascii_text_readable(tool: ModuleType) -> None:
    body = body_of(call(tool, "create_ticket", {"subject": "Imprimante bloquée", "description": "Ça coince."}))

    assert '"subject":"Imprimante bloquée"' in body


def test_create_ticket_with_the_real_store_draws_a_random_id(handler_module: ModuleType, table: Any) -> None:
    ticket = json.loads(body_of(call(handler_module, "create_ticket", PRINTER)))

    assert re.fullmatch(TICKET_ID_PATTERN, ticket["ticket_id"])
    assert table.get_item(Key={"ticket_id": ticket["ticket_id"]})["Item"]["subject"] == "Printer jams"


def test_create_ticket_retries_a_taken_id(
    handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch, table: Any
) -> None:
    table.put_item(Item=stored_ticket("TCK-TAKEN1", "2024-01-01T00:00:00.000000Z"))
    ids = IdSequence(first=["TCK-TAKEN1", "TCK-FRESH1"])
    monkeypatch.setattr(handler_module, "open_ticket_store", lambda: TicketStore(table, new_id=ids, now=Clock()))

    assert json.loads(body_of(call(handler_module, "create_ticket", PRINTER)))["ticket_id"] == "TCK-FRESH1"


def test_get_ticket(tool: ModuleType, table: Any) -> None:
    table.put_item(Item=stored_ticket("TCK-ABC123", CREATED_AT))

    response = call(tool, "get_ticket", {"ticket_id": "TCK-ABC123"})

    expected_body = ticket_json(
        ticket_id="TCK-ABC123",
        subject="Subject of TCK-ABC123",
        description="Description of TCK-ABC123",
        priority="normal",
        status="open",
        created_at=CREATED_AT,
        updated_at=CREATED_AT,
    )
    assert response == function_answer("get_ticket", expected_body)


def test_get_a_missing_ticket_is_a_normal_answer(tool: ModuleType) -> None:
    assert call(tool, "get_ticket", {"ticket_id": "TCK-ZZZZZZ"}) == function_answer(
        "get_ticket", "No ticket TCK-ZZZZZZ."
    )


def test_get_with_a_malformed_id_reprompts(tool: ModuleType) -> None:
    assert call(tool, "get_ticket", {"ticket_id": "tck-abc123"}) == function_answer(
        "get_ticket",
        'Invalid parameter ticket_id: "tck-abc123" does not match the format ^TCK-[A-Z0-9]{6}$.',
        "REPROMPT",
    )


@pytest.fixture
def three_tickets(table: Any) -> None:
    """TCK-00000n created at minute n; ticket 2 closed."""
    for n in range(1, 4):
        status = "closed" if n == 2 else "open"
        table.put_item(Item=stored_ticket(f"TCK-00000{n}", f"2025-03-14T15:0{n}:00.000000Z", status=status))


def listed(response: dict[str, Any]) -> list[str]:
    return [ticket["ticket_id"] for ticket in json.loads(body_of(response))["tickets"]]


@pytest.mark.usefixtures("three_tickets")
@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({}, ["TCK-000003", "TCK-000002", "TCK-000001"]),
        ({"status": "open"}, ["TCK-000003", "TCK-000001"]),
        ({"status": "closed"}, ["TCK-000002"]),
        ({"limit": "1"}, ["TCK-000003"]),
        ({"limit": "20"}, ["TCK-000003", "TCK-000002", "TCK-000001"]),
        ({"status": "open", "limit": "1"}, ["TCK-000003"]),
    ],
)
def test_list_tickets_newest_first(tool: ModuleType, parameters: dict[str, str], expected: list[str]) -> None:
    assert listed(call(tool, "list_tickets", parameters)) == expected


def test_list_tickets_answers_compact_json(tool: ModuleType, table: Any) -> None:
    table.put_item(Item=stored_ticket("TCK-ABC123", CREATED_AT, status="closed", resolution="Fixed."))

    response = call(tool, "list_tickets")

    expected_body = (
        '{"tickets":[{"ticket_id":"TCK-ABC123","subject":"Subject of TCK-ABC123",'
        '"description":"Description of TCK-ABC123","priority":"normal","status":"closed",'
        f'"created_at":"{CREATED_AT}","updated_at":"{CREATED_AT}","resolution":"Fixed."}}]}}'
    )
    assert response == function_answer("list_tickets", expected_body)


def test_list_tickets_of_an_empty_table(tool: ModuleType) -> None:
    assert call(tool, "list_tickets", {"status": "open"}) == function_answer("list_tickets", '{"tickets":[]}')


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "Invalid parameter limit: 0 is less than the minimum 1."),
        ("21", "Invalid parameter limit: 21 is more than the maximum 20."),
        ("ten", 'Invalid parameter limit: "ten" is not a whole number.'),
        ("2.5", 'Invalid parameter limit: "2.5" is not a whole number.'),
    ],
)
def test_list_tickets_limit_bounds(tool: ModuleType, limit: str, message: str) -> None:
    assert call(tool, "list_tickets", {"limit": limit}) == function_answer("list_tickets", message, "REPROMPT")


def test_close_ticket(tool: ModuleType) -> None:
    call(tool, "create_ticket", PRINTER)

    response = call(tool, "close_ticket", {"ticket_id": "TCK-000001", "resolution": "Cleaned the rollers."})

    expected_body = ticket_json(
        ticket_id="TCK-000001",
        subject="Printer jams",
        description="Paper jams on every page.",
        priority="normal",
        status="closed",
        created_at=CREATED_AT,
        updated_at="2025-03-14T15:09:27.535897Z",
        resolution="Cleaned the rollers.",
    )
    assert response == function_answer("close_ticket", expected_body)


def test_close_an_already_closed_ticket(tool: ModuleType, table: Any) -> None:
    table.put_item(Item=stored_ticket("TCK-ABC123", CREATED_AT, status="closed"))

    assert call(tool, "close_ticket", {"ticket_id": "TCK-ABC123"}) == function_answer(
        "close_ticket", "Ticket TCK-ABC123 is already closed; nothing was changed."
    )


def test_close_a_missing_ticket(tool: ModuleType, table: Any) -> None:
    assert call(tool, "close_ticket", {"ticket_id": "TCK-ZZZZZZ"}) == function_answer(
        "close_ticket", "No ticket TCK-ZZZZZZ."
    )
    assert "Item" not in table.get_item(Key={"ticket_id": "TCK-ZZZZZZ"})


def test_a_declined_create_stores_nothing(tool: ModuleType, table: Any) -> None:
    response = call(tool, "create_ticket", PRINTER, confirmationState="DENY")

    assert response == function_answer("create_ticket", DECLINED)
    assert DECLINED == "The user declined; nothing was changed."
    assert table.scan()["Count"] == 0


def test_a_declined_close_leaves_the_ticket_open(tool: ModuleType, table: Any) -> None:
    table.put_item(Item=stored_ticket("TCK-ABC123", CREATED_AT))

    response = call(tool, "close_ticket", {"ticket_id": "TCK-ABC123"}, confirmationState="DENY")

    assert response == function_answer("close_ticket", DECLINED)
    assert table.get_item(Key={"ticket_id": "TCK-ABC123"})["Item"]["status"] == "open"


def test_a_confirmed_call_runs(tool: ModuleType, table: Any) -> None:
    call(tool, "create_ticket", PRINTER, confirmationState="CONFIRM")

    assert table.scan()["Count"] == 1


@pytest.mark.parametrize(
    ("function", "parameters", "message"),
    [
        (
            "create_ticket",
            {**PRINTER, "owner": "me"},
            "Unknown parameter owner for create_ticket; it accepts subject, description, priority.",
        ),
        ("create_ticket", {"subject": "Printer jams"}, "Missing required parameter description for create_ticket."),
        (
            "create_ticket",
            {**PRINTER, "priority": "urgent"},
            'Invalid parameter priority: "urgent" is not one of low, normal, high.',
        ),
        (
            "create_ticket",
            {**PRINTER, "subject": "x" * 121},
            "Invalid parameter subject: must be at most 120 characters long, got 121.",
        ),
        (
            "create_ticket",
            {**PRINTER, "description": "x" * 2001},
            "Invalid parameter description: must be at most 2000 characters long, got 2001.",
        ),
        (
            "create_ticket",
            {**PRINTER, "subject": ""},
            "Invalid parameter subject: must be at least 1 character(s) long.",
        ),
        (
            "close_ticket",
            {"ticket_id": "TCK-ABC123", "resolution": "x" * 501},
            "Invalid parameter resolution: must be at most 500 characters long, got 501.",
        ),
        ("close_ticket", {}, "Missing required parameter ticket_id for close_ticket."),
        (
            "close_ticket",
            {"ticket_id": "TCK-ABC1234"},
            'Invalid parameter ticket_id: "TCK-ABC1234" does not match the format ^TCK-[A-Z0-9]{6}$.',
        ),
        ("list_tickets", {"status": "pending"}, 'Invalid parameter status: "pending" is not one of open, closed.'),
        ("get_ticket", {"id": "TCK-ABC123"}, "Unknown parameter id for get_ticket; it accepts ticket_id."),
    ],
)
def test_invalid_parameters_reprompt(
    tool: ModuleType, table: Any, function: str, parameters: dict[str, str], message: str
) -> None:
    assert call(tool, function, parameters) == function_answer(function, message, "REPROMPT")
    assert table.scan()["Count"] == 0


def test_unknown_function_reprompts(tool: ModuleType) -> None:
    assert call(tool, "delete_ticket", {"ticket_id": "TCK-ABC123"}) == function_answer(
        "delete_ticket",
        'Unknown function "delete_ticket"; the functions are create_ticket, get_ticket, list_tickets, close_ticket.',
        "REPROMPT",
    )


def test_a_dynamodb_error_fails_without_details(
    handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stubbed_table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    monkeypatch.setattr(handler_module, "open_ticket_store", lambda: TicketStore(stubbed_table))
    with Stubber(stubbed_table.meta.client) as stubber:
        stubber.add_client_error("put_item", "InternalServerError", "Internal server error", 500)

        response = call(handler_module, "create_ticket", PRINTER)

    assert response == function_answer("create_ticket", FAILED, "FAILURE")
    assert "Traceback" not in body_of(response)
    failures = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert json.loads(failures[0].getMessage()) == {
        "message": "Function call failed",
        "function": "create_ticket",
        "request_id": REQUEST_ID,
    }


def test_a_missing_table_fails(handler_module: ModuleType, dynamodb: Any) -> None:
    dynamodb.Table(TABLE).delete()

    assert call(handler_module, "get_ticket", {"ticket_id": "TCK-ABC123"}) == function_answer(
        "get_ticket", FAILED, "FAILURE"
    )


def test_without_tickets_table_the_tool_fails(handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler_module, "TICKETS_TABLE", "")

    assert call(handler_module, "get_ticket", {"ticket_id": "TCK-ABC123"}) == function_answer(
        "get_ticket", FAILED, "FAILURE"
    )


def test_without_a_request_id_the_failure_says_so_plainly(
    handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler_module, "TICKETS_TABLE", "")

    response = handler_module.handler(function_event("get_ticket", {"ticket_id": "TCK-ABC123"}), None)

    assert body_of(response) == "The tool failed unexpectedly; nothing more is known. Try again later."


def test_session_attributes_default_to_empty(tool: ModuleType) -> None:
    event = function_event("list_tickets")
    del event["sessionAttributes"], event["promptSessionAttributes"]

    response = tool.handler(event, FakeContext())

    assert (response["sessionAttributes"], response["promptSessionAttributes"]) == ({}, {})
