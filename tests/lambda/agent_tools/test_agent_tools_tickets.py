"""The ticket store on a moto DynamoDB table: create, get, list newest first, close."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from agent_tools.tickets import (
    CREATE_ATTEMPTS,
    CloseOutcome,
    CloseResult,
    TicketStore,
    new_ticket_id,
    public_view,
    timestamp,
)
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from .agent_tools_fakes import NOW, REGION, SESSION_ID, TABLE, TICKET_ID_PATTERN, Clock, IdSequence, stored_ticket

CREATED_AT = "2025-03-14T15:09:26.535897Z"


def create(store: TicketStore, priority: str = "normal") -> dict[str, str]:
    return store.create(subject="Printer", description="It jams.", priority=priority, session_id=SESSION_ID)


def test_ticket_ids_are_random_uppercase_letters_and_digits() -> None:
    drawn = {new_ticket_id() for _ in range(200)}

    assert all(re.fullmatch(TICKET_ID_PATTERN, ticket_id) for ticket_id in drawn)
    assert len(drawn) == 200


def test_timestamps_are_fixed_width_utc() -> None:
    assert timestamp(NOW) == CREATED_AT
    assert timestamp(NOW.replace(microsecond=0)) == "2025-03-14T15:09:26.000000Z"


def test_create_stores_an_open_ticket(store: TicketStore, table: Any) -> None:
    ticket = create(store, priority="high")

    expected = {
        "ticket_id": "TCK-000001",
        "subject": "Printer",
        "description": "It jams.",
        "priority": "high",
        "status": "open",
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
    }
    assert ticket == expected
    assert table.get_item(Key={"ticket_id": "TCK-000001"})["Item"] == {**expected, "session_id": SESSION_ID}


def test_create_without_session_stores_no_session_id(store: TicketStore, table: Any) -> None:
    store.create(subject="s", description="d", priority="low", session_id=None)

    assert "session_id" not in table.get_item(Key={"ticket_id": "TCK-000001"})["Item"]


def test_create_draws_another_id_when_one_is_taken(table: Any, clock: Clock) -> None:
    table.put_item(Item=stored_ticket("TCK-TAKEN1", "2024-01-01T00:00:00.000000Z"))
    ids = IdSequence(first=["TCK-TAKEN1"])
    store = TicketStore(table, new_id=ids, now=clock)

    ticket = create(store)

    assert ticket["ticket_id"] == "TCK-000001"
    assert ids.drawn == ["TCK-TAKEN1", "TCK-000001"]
    assert table.get_item(Key={"ticket_id": "TCK-TAKEN1"})["Item"]["subject"] == "Subject of TCK-TAKEN1"


def test_create_gives_up_after_repeated_collisions(table: Any, clock: Clock) -> None:
    table.put_item(Item=stored_ticket("TCK-TAKEN1", "2024-01-01T00:00:00.000000Z"))
    ids = IdSequence(first=["TCK-TAKEN1"] * CREATE_ATTEMPTS)
    store = TicketStore(table, new_id=ids, now=clock)

    with pytest.raises(RuntimeError, match="No free ticket id after 5 attempts"):
        create(store)
    assert len(ids.drawn) == CREATE_ATTEMPTS


def test_create_does_not_retry_other_errors(aws_credentials: None, ids: IdSequence, clock: Clock) -> None:
    stubbed_table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    with Stubber(stubbed_table.meta.client) as stubber:
        stubber.add_client_error("put_item", "ProvisionedThroughputExceededException", "slow down", 400)

        with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
            create(TicketStore(stubbed_table, new_id=ids, now=clock))
    assert len(ids.drawn) == 1


def test_get_returns_the_public_fields(store: TicketStore, table: Any) -> None:
    item = stored_ticket("TCK-ABC123", CREATED_AT, status="closed", resolution="Replaced the drum.")
    table.put_item(Item=item)

    assert store.get("TCK-ABC123") == {key: value for key, value in item.items() if key != "session_id"}


def test_get_of_a_missing_ticket_is_none(store: TicketStore) -> None:
    assert store.get("TCK-NOPE00") is None


def test_public_view_keeps_field_order_and_drops_internal_fields() -> None:
    view = public_view({"session_id": "s", "status": "open", "ticket_id": "TCK-ABC123", "extra": "x"})

    assert list(view) == ["ticket_id", "status"]


@pytest.fixture
def five_tickets(table: Any) -> None:
    """TCK-00000n created at minute n; tickets 2 and 4 closed."""
    for n in range(1, 6):
        status = "closed" if n % 2 == 0 else "open"
        table.put_item(Item=stored_ticket(f"TCK-00000{n}", f"2025-03-14T15:0{n}:00.000000Z", status=status))


@pytest.mark.usefixtures("five_tickets")
@pytest.mark.parametrize(
    ("status", "limit", "expected"),
    [
        (None, 10, [5, 4, 3, 2, 1]),
        (None, 3, [5, 4, 3]),
        ("open", 10, [5, 3, 1]),
        ("open", 2, [5, 3]),
        ("closed", 10, [4, 2]),
        ("closed", 1, [4]),
    ],
)
def test_list_is_newest_first(store: TicketStore, status: str | None, limit: int, expected: list[int]) -> None:
    tickets = store.list_recent(status=status, limit=limit)

    assert [ticket["ticket_id"] for ticket in tickets] == [f"TCK-00000{n}" for n in expected]
    assert all("session_id" not in ticket for ticket in tickets)


def test_list_of_an_empty_table(store: TicketStore) -> None:
    assert store.list_recent(status=None, limit=10) == []
    assert store.list_recent(status="open", limit=10) == []


def test_close_an_open_ticket(store: TicketStore, table: Any) -> None:
    create(store)

    result = store.close("TCK-000001", resolution="Cleaned the rollers.")

    closed_at = "2025-03-14T15:09:27.535897Z"
    assert result == CloseResult(
        CloseOutcome.CLOSED,
        {
            "ticket_id": "TCK-000001",
            "subject": "Printer",
            "description": "It jams.",
            "priority": "normal",
            "status": "closed",
            "created_at": CREATED_AT,
            "updated_at": closed_at,
            "resolution": "Cleaned the rollers.",
        },
    )
    item = table.get_item(Key={"ticket_id": "TCK-000001"})["Item"]
    assert (item["status"], item["updated_at"], item["session_id"]) == ("closed", closed_at, SESSION_ID)


def test_close_without_resolution_records_none(store: TicketStore) -> None:
    create(store)

    result = store.close("TCK-000001", resolution=None)

    assert result.outcome is CloseOutcome.CLOSED
    assert result.ticket is not None
    assert "resolution" not in result.ticket


def test_close_an_already_closed_ticket_changes_nothing(store: TicketStore, table: Any) -> None:
    item = stored_ticket("TCK-ABC123", CREATED_AT, status="closed", resolution="First fix.")
    table.put_item(Item=item)

    assert store.close("TCK-ABC123", resolution="Second fix.") == CloseResult(CloseOutcome.ALREADY_CLOSED)
    assert table.get_item(Key={"ticket_id": "TCK-ABC123"})["Item"] == item


def test_close_a_missing_ticket_creates_nothing(store: TicketStore, table: Any) -> None:
    assert store.close("TCK-NOPE00", resolution=None) == CloseResult(CloseOutcome.MISSING)
    assert "Item" not in table.get_item(Key={"ticket_id": "TCK-NOPE00"})
