"""The tickets tool group run through the Toolbox as the verified caller: inputs checked, owners kept apart."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from api.identity import Caller
from api.tickets import TicketStore
from api.toolbox import Toolbox, ToolResult
from api.tools import Invocation, ToolUse, tickets

from .tickets_fakes import (
    ALICE,
    BOB,
    MACHINE,
    Clock,
    FailingWrites,
    all_items,
    check_params,
    minute,
    stored_ticket,
    tool_result_statuses,
)

TICKETS_JSON = Path(__file__).resolve().parents[3] / "lambda" / "api" / "tools" / "tickets.json"
TOOLS: dict[str, dict[str, Any]] = {
    entry["name"]: entry for entry in json.loads(TICKETS_JSON.read_text(encoding="utf-8"))["tools"]
}
SESSION = "d3b07384-d9a0-4c9b-8f3e-1a2b3c4d5e6f-session"
HARNESS_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:harness/support-harness-AbCdEf1234"
PRINTER = {"subject": "Printer", "description": "It jams."}
ALICES_TICKET = "TCK-ALICE00001"
MISSING_TICKET = "TCK-ZZZZZZZZZZ"


@pytest.fixture
def toolbox(tickets_table: Any, clock: Clock) -> Toolbox:
    return Toolbox({"tickets": tickets.runners(TicketStore(tickets_table, now=clock))})


@pytest.fixture
def alices_ticket(tickets_table: Any) -> dict[str, str]:
    """One open ticket of Alice's, as stored."""
    stored = stored_ticket(ALICES_TICKET, ALICE.id, minute(1))
    tickets_table.put_item(Item=stored)
    return stored


def run(
    toolbox: Toolbox,
    caller: Caller,
    name: str,
    arguments: Mapping[str, Any],
    *,
    use_id: str = "tooluse_0001",
    session: str = SESSION,
) -> ToolResult:
    return toolbox.run(Invocation(caller, session, ToolUse(use_id, name, arguments)))


def public(stored: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in stored.items() if name not in ("owner", "idempotency_key", "status_created")}


# Owned by the verified caller


def test_create_makes_a_ticket_owned_by_the_caller(toolbox: Toolbox, tickets_table: Any) -> None:
    result = run(toolbox, ALICE, "create_ticket", PRINTER)

    assert result.status == "success"
    assert result.tool_use_id == "tooluse_0001"
    [stored] = all_items(tickets_table)
    assert stored["owner"] == ALICE.id
    # tickets.json documents the default priority as normal.
    assert stored["priority"] == "normal"
    assert result.content == public(stored)


def test_a_retried_confirmation_makes_one_ticket(toolbox: Toolbox, tickets_table: Any) -> None:
    first = run(toolbox, ALICE, "create_ticket", PRINTER)
    again = run(toolbox, ALICE, "create_ticket", PRINTER)

    assert again == first
    assert len(all_items(tickets_table)) == 1


def test_another_call_or_another_conversation_makes_another_ticket(toolbox: Toolbox, tickets_table: Any) -> None:
    first = run(toolbox, ALICE, "create_ticket", PRINTER)
    other_call = run(toolbox, ALICE, "create_ticket", PRINTER, use_id="tooluse_0002")
    other_session = run(toolbox, ALICE, "create_ticket", PRINTER, session=SESSION.replace("d3b0", "e4c1"))

    made = {result.content["ticket_id"] for result in (first, other_call, other_session)}
    assert len(made) == 3
    assert {stored["ticket_id"] for stored in all_items(tickets_table)} == made


@pytest.mark.parametrize("other", [BOB, MACHINE], ids=["another user", "a client with Alice's subject"])
def test_another_caller_cannot_see_or_close_a_ticket(
    toolbox: Toolbox, tickets_table: Any, alices_ticket: dict[str, str], other: Caller
) -> None:
    listed = run(toolbox, other, "list_tickets", {})
    foreign = run(toolbox, other, "get_ticket", {"ticket_id": ALICES_TICKET})
    missing = run(toolbox, other, "get_ticket", {"ticket_id": MISSING_TICKET})
    foreign_close = run(toolbox, other, "close_ticket", {"ticket_id": ALICES_TICKET, "resolution": "Not mine."})
    missing_close = run(toolbox, other, "close_ticket", {"ticket_id": MISSING_TICKET})

    assert listed.content == {"tickets": []}
    for result, asked in ((foreign, ALICES_TICKET), (foreign_close, ALICES_TICKET)):
        assert f"You have no ticket {asked}" in result.content["error"]
    # Nothing tells the other caller that Alice's ticket exists: the answers differ from a missing id's only by the id.
    assert (foreign.status, foreign.content["error"].replace(ALICES_TICKET, "<id>")) == (
        missing.status,
        missing.content["error"].replace(MISSING_TICKET, "<id>"),
    )
    assert (foreign_close.status, foreign_close.content["error"].replace(ALICES_TICKET, "<id>")) == (
        missing_close.status,
        missing_close.content["error"].replace(MISSING_TICKET, "<id>"),
    )
    assert all_items(tickets_table) == [alices_ticket]
    assert run(toolbox, ALICE, "get_ticket", {"ticket_id": ALICES_TICKET}).content == public(alices_ticket)


def test_close_through_the_toolbox(toolbox: Toolbox, tickets_table: Any, alices_ticket: dict[str, str]) -> None:
    closed = run(toolbox, ALICE, "close_ticket", {"ticket_id": ALICES_TICKET, "resolution": "Replaced the drum."})
    after_close = all_items(tickets_table)
    again = run(toolbox, ALICE, "close_ticket", {"ticket_id": ALICES_TICKET, "resolution": "Again."})

    assert closed.status == "success"
    assert closed.content == {
        **public(alices_ticket),
        "status": "closed",
        "updated_at": "2025-03-14T15:09:26.535897Z",
        "resolution": "Replaced the drum.",
    }
    assert "already closed" in again.content["error"]
    assert all_items(tickets_table) == after_close


def test_list_defaults_to_ten_newest_of_the_callers_own(toolbox: Toolbox, tickets_table: Any) -> None:
    for n in range(12):
        tickets_table.put_item(Item=stored_ticket(f"TCK-ALICE000{n:02d}", ALICE.id, minute(n)))
        tickets_table.put_item(Item=stored_ticket(f"TCK-BOB00000{n:02d}", BOB.id, minute(n)))

    listed = run(toolbox, ALICE, "list_tickets", {})
    open_three = run(toolbox, ALICE, "list_tickets", {"status": "open", "limit": 3})

    # tickets.json documents the default limit as 10.
    assert [ticket["ticket_id"] for ticket in listed.content["tickets"]] == [
        f"TCK-ALICE000{n:02d}" for n in range(11, 1, -1)
    ]
    assert [ticket["ticket_id"] for ticket in open_three.content["tickets"]] == [
        "TCK-ALICE00011",
        "TCK-ALICE00010",
        "TCK-ALICE00009",
    ]
    assert all("owner" not in ticket for ticket in listed.content["tickets"])


# Inputs checked against tickets.json before anything runs


def _too_long(tool: str, field: str) -> str:
    return "x" * (int(TOOLS[tool]["inputSchema"]["properties"][field]["maxLength"]) + 1)


INVALID_CALLS = [
    ("get_ticket", {"ticket_id": "TCK-alice00001"}),
    ("get_ticket", {"ticket_id": ALICES_TICKET + "\n"}),
    ("get_ticket", {}),
    ("create_ticket", {**PRINTER, "owner": BOB.id}),
    ("create_ticket", {**PRINTER, "subject": _too_long("create_ticket", "subject")}),
    ("create_ticket", {**PRINTER, "priority": "urgent"}),
    ("create_ticket", {"subject": "Printer"}),
    ("create_ticket", {**PRINTER, "subject": ""}),
    ("close_ticket", {"ticket_id": ALICES_TICKET, "status": "open"}),
    ("close_ticket", {"ticket_id": ALICES_TICKET, "resolution": _too_long("close_ticket", "resolution")}),
    ("close_ticket", {"ticket_id": "TCK-ALICE0000"}),
    ("list_tickets", {"limit": 0}),
    ("list_tickets", {"limit": 21}),
    ("list_tickets", {"limit": "5"}),
    ("list_tickets", {"status": "pending"}),
    ("list_tickets", {"owner": BOB.id}),
    ("get_ticket", {"ticket_id": ALICES_TICKET, "owner": ALICE.id}),
]


@pytest.mark.parametrize(("name", "arguments"), INVALID_CALLS)
def test_invalid_input_is_an_error_result_and_writes_nothing(
    toolbox: Toolbox, tickets_table: Any, alices_ticket: dict[str, str], name: str, arguments: dict[str, Any]
) -> None:
    result = run(toolbox, ALICE, name, arguments)

    assert result.status == "error"
    assert result.tool_use_id == "tooluse_0001"
    assert list(result.content) == ["error"]
    assert all_items(tickets_table) == [alices_ticket]


def test_the_longest_subject_allowed_is_accepted(toolbox: Toolbox, tickets_table: Any) -> None:
    longest = "x" * TOOLS["create_ticket"]["inputSchema"]["properties"]["subject"]["maxLength"]

    result = run(toolbox, ALICE, "create_ticket", {**PRINTER, "subject": longest})

    assert result.status == "success"
    assert [stored["subject"] for stored in all_items(tickets_table)] == [longest]


def test_an_unknown_tool_is_an_error_result(
    toolbox: Toolbox, tickets_table: Any, alices_ticket: dict[str, str]
) -> None:
    use = ToolUse("tooluse_0001", "delete_ticket", {"ticket_id": ALICES_TICKET})

    result = toolbox.run(Invocation(ALICE, SESSION, use))

    assert (result.status, result.tool_use_id, list(result.content)) == ("error", "tooluse_0001", ["error"])
    assert "delete_ticket" in result.content["error"]
    assert not toolbox.knows("delete_ticket")
    assert all_items(tickets_table) == [alices_ticket]


# Confirmation


def test_exactly_the_tools_declared_to_confirm_need_confirmation(toolbox: Toolbox) -> None:
    declared = {name for name, entry in TOOLS.items() if entry.get("confirm") is True}

    asked = {name: toolbox.needs_confirmation(ToolUse("tooluse_0001", name, {})) for name in TOOLS}

    assert asked == {name: name in declared for name in TOOLS}
    assert {"create_ticket", "close_ticket"} <= declared
    assert not toolbox.needs_confirmation(ToolUse("tooluse_0001", "delete_ticket", {}))


@pytest.mark.parametrize(
    ("name", "arguments"),
    [("create_ticket", PRINTER), ("close_ticket", {"ticket_id": ALICES_TICKET, "resolution": "Fixed."})],
)
def test_a_declined_call_writes_nothing(
    toolbox: Toolbox, tickets_table: Any, alices_ticket: dict[str, str], name: str, arguments: dict[str, Any]
) -> None:
    result = toolbox.decline(ToolUse("tooluse_0007", name, arguments))

    assert (result.status, result.tool_use_id) == ("error", "tooluse_0007")
    assert "declined" in result.content["error"]
    assert all_items(tickets_table) == [alices_ticket]


# Failures


@pytest.mark.parametrize(
    ("name", "arguments"),
    [("create_ticket", PRINTER), ("close_ticket", {"ticket_id": ALICES_TICKET})],
)
def test_a_runner_that_raises_is_an_error_result(
    tickets_table: Any,
    alices_ticket: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    name: str,
    arguments: dict[str, Any],
) -> None:
    failing = FailingWrites(tickets_table)
    toolbox = Toolbox({"tickets": tickets.runners(TicketStore(failing, now=Clock()))})

    with caplog.at_level(logging.ERROR, logger="api.toolbox"):
        result = run(toolbox, ALICE, name, arguments)

    assert (result.status, list(result.content)) == ("error", ["error"])
    # The model reads the result: the AWS message, which names the table, stays in the logs.
    assert failing.message not in result.content["error"]
    assert "123456789012" not in json.dumps(result.content)
    assert [record.levelno for record in caplog.records if record.name == "api.toolbox"] == [logging.ERROR]
    assert all_items(tickets_table) == [alices_ticket]


# The toolResult block


def harness_request(block: dict[str, Any]) -> dict[str, Any]:
    return {
        "harnessArn": HARNESS_ARN,
        "runtimeSessionId": SESSION,
        "actorId": ALICE.id,
        "messages": [{"role": "user", "content": [block]}],
    }


def test_tool_result_blocks_fit_the_invoke_harness_model(toolbox: Toolbox, alices_ticket: dict[str, str]) -> None:
    results = [
        run(toolbox, ALICE, "create_ticket", PRINTER),
        run(toolbox, ALICE, "list_tickets", {}),
        run(toolbox, ALICE, "get_ticket", {"ticket_id": "bad"}),
        run(toolbox, ALICE, "no_such_tool", {}),
        toolbox.decline(ToolUse("tooluse_0002", "close_ticket", {"ticket_id": ALICES_TICKET})),
    ]

    for result in results:
        block = result.block()
        check_params("bedrock-agentcore", "InvokeHarness", harness_request(block))
        assert result.status in tool_result_statuses()
        assert block == {
            "toolResult": {
                "toolUseId": result.tool_use_id,
                "content": [{"json": dict(result.content)}],
                "status": result.status,
            }
        }
    assert [result.status for result in results] == ["success", "success", "error", "error", "error"]


def test_the_model_check_refuses_a_malformed_block() -> None:
    block = {"toolResult": {"toolUseId": "tooluse_0001", "content": {"json": {}}, "status": "success"}}

    with pytest.raises(AssertionError, match="content"):
        check_params("bedrock-agentcore", "InvokeHarness", harness_request(block))


# Construction


def test_the_toolbox_holds_every_tool_of_the_json(toolbox: Toolbox) -> None:
    assert set(toolbox.tools) == set(TOOLS)
    assert all(toolbox.knows(name) for name in TOOLS)


def test_a_runner_without_a_tool_fails_construction(tickets_table: Any) -> None:
    runners = dict(tickets.runners(TicketStore(tickets_table)))
    runners["delete_ticket"] = runners["close_ticket"]

    with pytest.raises(ValueError, match="tickets"):
        Toolbox({"tickets": runners})


def test_a_tool_without_a_runner_fails_construction(tickets_table: Any) -> None:
    runners = dict(tickets.runners(TicketStore(tickets_table)))
    del runners["close_ticket"]

    with pytest.raises(ValueError, match="tickets"):
        Toolbox({"tickets": runners})
