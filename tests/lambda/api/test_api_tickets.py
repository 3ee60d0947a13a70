"""The ticket store on a moto table shaped like the stack's: owned tickets, idempotent creates, conditional writes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from api.tickets import CloseOutcome, CloseResult, TicketIdTaken, TicketStore, public_view, ticket_id, timestamp
from botocore.exceptions import ClientError

from common.schema import SchemaViolation, validate

from .tickets_fakes import (
    ALICE,
    BOB,
    MACHINE,
    NOW,
    Clock,
    FailingWrites,
    all_items,
    minute,
    stored_ticket,
)

TICKETS_JSON = Path(__file__).resolve().parents[3] / "lambda" / "api" / "tools" / "tickets.json"
TICKET_ID = re.compile(r"TCK-[A-Z0-9]{10}")
CREATED_AT = "2025-03-14T15:09:26.535897Z"
ONE_SECOND_LATER = "2025-03-14T15:09:27.535897Z"
INTERNAL_FIELDS = {"owner", "idempotency_key", "status_created"}
KEY = "session-0001/tooluse_abc"


@pytest.fixture
def store(tickets_table: Any, clock: Clock) -> TicketStore:
    return TicketStore(tickets_table, now=clock)


def internal(owner: str, key: str, status: str, created_at: str) -> dict[str, str]:
    """The attributes the store keeps for itself: the owner, the idempotency key, the owner index's sort key."""
    return {"owner": owner, "idempotency_key": key, "status_created": f"{status}#{created_at}"}


def create(store: TicketStore, owner: str, key: str = KEY, **fields: str) -> dict[str, str]:
    values = {"subject": "Printer", "description": "It jams.", "priority": "normal", **fields}
    return store.create(owner, idempotency_key=key, **values)


def item(tickets_table: Any, ticket: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = tickets_table.get_item(Key={"ticket_id": ticket}, ConsistentRead=True).get("Item")
    return found


def ticket_id_schema(tool: str) -> dict[str, Any]:
    document = json.loads(TICKETS_JSON.read_text(encoding="utf-8"))
    [entry] = [entry for entry in document["tools"] if entry["name"] == tool]
    schema: dict[str, Any] = entry["inputSchema"]["properties"]["ticket_id"]
    return schema


# Ticket ids and timestamps


def test_ticket_ids_fit_the_documented_form_and_the_tools_schemas() -> None:
    ids = {ticket_id(f"user-{n}", f"session-{n % 7}/tooluse_{n}") for n in range(300)}

    assert len(ids) == 300
    assert all(TICKET_ID.fullmatch(value) for value in ids)
    for tool in ("get_ticket", "close_ticket"):
        schema = ticket_id_schema(tool)
        for value in ids:
            assert re.search(schema["pattern"], value)
            validate(schema, value)


def test_the_tools_schema_refuses_what_is_not_a_ticket_id() -> None:
    schema = ticket_id_schema("get_ticket")
    for value in ("TCK-abcdefghij", "TCK-ABCDEFGHI", "TCK-ABCDEFGHIJK", "tck-ABCDEFGHIJ", "TCK-ABCDEFGHIJ\n"):
        with pytest.raises(SchemaViolation):
            validate(schema, value)


def test_ticket_ids_are_derived_from_owner_and_key_alone() -> None:
    first = ticket_id(ALICE.id, KEY)

    assert ticket_id(ALICE.id, KEY) == first
    assert ticket_id(BOB.id, KEY) != first
    assert ticket_id(ALICE.id, KEY + "x") != first
    # Joining owner and key must not make ("ab", "c") and ("a", "bc") the same ticket.
    assert ticket_id("user-ab", "c") != ticket_id("user-a", "bc")


def test_timestamps_are_fixed_width_utc() -> None:
    assert timestamp(NOW) == CREATED_AT
    assert timestamp(NOW.replace(microsecond=0)) == "2025-03-14T15:09:26.000000Z"
    assert timestamp(datetime(2025, 3, 14, 17, 9, 26, 535897, tzinfo=timezone(timedelta(hours=2)))) == CREATED_AT


def test_public_view_keeps_the_public_fields_in_order_and_drops_internal_ones() -> None:
    stored = stored_ticket("TCK-AAAAAAAAAA", ALICE.id, CREATED_AT, status="closed", resolution="Fixed.")
    view = public_view({"extra": "x", **stored})

    assert list(view) == [
        "ticket_id",
        "subject",
        "description",
        "priority",
        "status",
        "created_at",
        "updated_at",
        "resolution",
    ]
    assert INTERNAL_FIELDS.isdisjoint(view)


# Create and idempotency


def test_create_stores_an_open_ticket_owned_by_the_caller(store: TicketStore, tickets_table: Any) -> None:
    ticket = create(store, ALICE.id, priority="high")

    assert TICKET_ID.fullmatch(ticket["ticket_id"])
    public = {
        "ticket_id": ticket["ticket_id"],
        "subject": "Printer",
        "description": "It jams.",
        "priority": "high",
        "status": "open",
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
    }
    assert ticket == public
    internal = {"owner": ALICE.id, "idempotency_key": KEY, "status_created": f"open#{CREATED_AT}"}
    assert all_items(tickets_table) == [{**public, **internal}]


def test_a_retried_create_returns_the_first_ticket_and_stores_one(store: TicketStore, tickets_table: Any) -> None:
    first = create(store, ALICE.id)
    stored = item(tickets_table, first["ticket_id"])
    # A retry after a lost response; even a different text must not overwrite the ticket made first.
    again = create(store, ALICE.id, subject="Printer (retry)")

    assert again == first
    assert again["created_at"] == CREATED_AT
    assert all_items(tickets_table) == [stored]


def test_creates_with_different_keys_make_different_tickets(store: TicketStore, tickets_table: Any) -> None:
    first = create(store, ALICE.id, key="session-0001/tooluse_1")
    second = create(store, ALICE.id, key="session-0001/tooluse_2")

    assert first["ticket_id"] != second["ticket_id"]
    assert second["created_at"] == ONE_SECOND_LATER
    assert sorted(stored["ticket_id"] for stored in all_items(tickets_table)) == sorted(
        [first["ticket_id"], second["ticket_id"]]
    )


def test_the_same_key_under_two_owners_makes_two_tickets(store: TicketStore, tickets_table: Any) -> None:
    alices = create(store, ALICE.id)
    bobs = create(store, BOB.id)

    assert alices["ticket_id"] != bobs["ticket_id"]
    owners = {stored["ticket_id"]: stored["owner"] for stored in all_items(tickets_table)}
    assert owners == {alices["ticket_id"]: ALICE.id, bobs["ticket_id"]: BOB.id}


@pytest.mark.parametrize(
    ("holder", "holder_key"),
    [(BOB.id, KEY), (ALICE.id, "session-0009/tooluse_other")],
    ids=["another owner", "another key"],
)
def test_a_derived_id_already_taken_is_refused(
    store: TicketStore, tickets_table: Any, holder: str, holder_key: str
) -> None:
    taken = ticket_id(ALICE.id, KEY)
    existing = stored_ticket(taken, holder, minute(1), idempotency_key=holder_key)
    tickets_table.put_item(Item=existing)

    with pytest.raises(TicketIdTaken):
        create(store, ALICE.id)
    assert all_items(tickets_table) == [existing]


def test_a_failed_write_is_raised_as_it_came(tickets_table: Any, clock: Clock) -> None:
    store = TicketStore(FailingWrites(tickets_table), now=clock)

    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        create(store, ALICE.id)
    assert all_items(tickets_table) == []


# Get


def test_get_returns_the_owners_ticket_without_internal_fields(store: TicketStore, tickets_table: Any) -> None:
    stored = stored_ticket("TCK-AAAAAAAAAA", ALICE.id, CREATED_AT, status="closed", resolution="Fixed.")
    tickets_table.put_item(Item=stored)

    assert store.get(ALICE.id, "TCK-AAAAAAAAAA") == {
        name: value for name, value in stored.items() if name not in INTERNAL_FIELDS
    }


def test_get_of_a_missing_ticket_is_none(store: TicketStore) -> None:
    assert store.get(ALICE.id, "TCK-ZZZZZZZZZZ") is None


def test_get_finds_a_ticket_created_a_moment_ago(store: TicketStore) -> None:
    ticket = create(store, ALICE.id)

    assert store.get(ALICE.id, ticket["ticket_id"]) == ticket


# Two callers kept apart


def test_one_callers_tickets_are_invisible_to_another(store: TicketStore, tickets_table: Any) -> None:
    ticket = create(store, ALICE.id)
    before = item(tickets_table, ticket["ticket_id"])

    assert store.list_recent(BOB.id, status=None, limit=10) == []
    assert store.list_recent(BOB.id, status="open", limit=10) == []
    assert store.get(BOB.id, ticket["ticket_id"]) is None
    assert store.close(BOB.id, ticket["ticket_id"], resolution="Not yours.") == CloseResult(CloseOutcome.MISSING)
    assert item(tickets_table, ticket["ticket_id"]) == before
    assert store.get(ALICE.id, ticket["ticket_id"]) == ticket


def test_a_user_and_a_client_with_the_same_subject_are_different_owners(store: TicketStore, tickets_table: Any) -> None:
    ticket = create(store, ALICE.id)

    assert store.get(MACHINE.id, ticket["ticket_id"]) is None
    assert store.list_recent(MACHINE.id, status=None, limit=10) == []
    assert store.close(MACHINE.id, ticket["ticket_id"], resolution=None).outcome is CloseOutcome.MISSING
    assert item(tickets_table, ticket["ticket_id"]) == {**ticket, **internal(ALICE.id, KEY, "open", CREATED_AT)}


def test_someone_elses_closed_ticket_is_missing_not_already_closed(store: TicketStore, tickets_table: Any) -> None:
    closed = stored_ticket("TCK-AAAAAAAAAA", ALICE.id, CREATED_AT, status="closed", resolution="Fixed.")
    tickets_table.put_item(Item=closed)

    assert store.close(BOB.id, "TCK-AAAAAAAAAA", resolution="Mine now.") == CloseResult(CloseOutcome.MISSING)
    assert all_items(tickets_table) == [closed]


# List


@pytest.fixture
def interleaved(tickets_table: Any) -> None:
    """Alice's tickets A1..A5 created at minutes 1..5 (A2 and A4 closed), Bob's at minutes 0..6 around them."""
    for n in range(1, 6):
        status = "closed" if n % 2 == 0 else "open"
        tickets_table.put_item(Item=stored_ticket(f"TCK-ALICE0000{n}", ALICE.id, minute(n), status=status))
    for n in range(7):
        tickets_table.put_item(Item=stored_ticket(f"TCK-BOB000000{n}", BOB.id, minute(n)))


@pytest.mark.usefixtures("interleaved")
@pytest.mark.parametrize(
    ("status", "limit", "expected"),
    [
        (None, 10, [5, 4, 3, 2, 1]),
        (None, 2, [5, 4]),
        ("open", 10, [5, 3, 1]),
        ("open", 2, [5, 3]),
        ("closed", 10, [4, 2]),
        ("closed", 1, [4]),
    ],
)
def test_list_is_the_owners_newest_first(
    store: TicketStore, status: str | None, limit: int, expected: list[int]
) -> None:
    tickets = store.list_recent(ALICE.id, status=status, limit=limit)

    assert [ticket["ticket_id"] for ticket in tickets] == [f"TCK-ALICE0000{n}" for n in expected]
    assert all(INTERNAL_FIELDS.isdisjoint(ticket) for ticket in tickets)


@dataclass
class CountingQueries:
    """The moto table, counting the queries made through it."""

    tickets_table: Any
    queries: list[dict[str, Any]] = field(default_factory=list)

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries.append(kwargs)
        return dict(self.tickets_table.query(**kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tickets_table, name)


@pytest.mark.parametrize(("limit", "expected"), [(1, [3]), (2, [3, 2]), (10, [3, 2, 1])])
def test_a_status_list_is_never_emptied_by_newer_tickets_of_another_status(
    tickets_table: Any, clock: Clock, limit: int, expected: list[int]
) -> None:
    for n in range(1, 4):
        tickets_table.put_item(Item=stored_ticket(f"TCK-OPEN00000{n}", ALICE.id, minute(n)))
    # Newer closed tickets fill the first pages of an open-only query.
    for n in range(10, 15):
        tickets_table.put_item(Item=stored_ticket(f"TCK-CLOSED000{n - 10}", ALICE.id, minute(n), status="closed"))
    counting = CountingQueries(tickets_table)

    tickets = TicketStore(counting, now=clock).list_recent(ALICE.id, status="open", limit=limit)

    assert [ticket["ticket_id"] for ticket in tickets] == [f"TCK-OPEN00000{n}" for n in expected]
    # The index is sorted by status first: one query reads only open tickets, with no filter to empty its page.
    assert len(counting.queries) == 1
    assert "FilterExpression" not in counting.queries[0]


def test_list_of_an_owner_without_tickets_is_empty(store: TicketStore) -> None:
    assert store.list_recent(ALICE.id, status=None, limit=10) == []
    assert store.list_recent(ALICE.id, status="closed", limit=10) == []


# Close


def test_close_an_open_ticket_records_resolution_and_time(store: TicketStore, tickets_table: Any) -> None:
    ticket = create(store, ALICE.id)

    result = store.close(ALICE.id, ticket["ticket_id"], resolution="Cleaned the rollers.")

    closed = {**ticket, "status": "closed", "updated_at": ONE_SECOND_LATER, "resolution": "Cleaned the rollers."}
    assert result == CloseResult(CloseOutcome.CLOSED, closed)
    assert item(tickets_table, ticket["ticket_id"]) == {**closed, **internal(ALICE.id, KEY, "closed", CREATED_AT)}
    assert store.get(ALICE.id, ticket["ticket_id"]) == closed


def test_close_without_resolution_records_none(store: TicketStore, tickets_table: Any) -> None:
    ticket = create(store, ALICE.id)

    result = store.close(ALICE.id, ticket["ticket_id"], resolution=None)

    assert result.outcome is CloseOutcome.CLOSED
    assert result.ticket == {**ticket, "status": "closed", "updated_at": ONE_SECOND_LATER}
    stored = item(tickets_table, ticket["ticket_id"])
    assert stored is not None
    assert "resolution" not in stored


def test_close_an_already_closed_ticket_changes_nothing(store: TicketStore, tickets_table: Any) -> None:
    closed = stored_ticket("TCK-AAAAAAAAAA", ALICE.id, CREATED_AT, status="closed", resolution="First fix.")
    tickets_table.put_item(Item=closed)

    assert store.close(ALICE.id, "TCK-AAAAAAAAAA", resolution="Second fix.") == CloseResult(CloseOutcome.ALREADY_CLOSED)
    assert all_items(tickets_table) == [closed]


def test_close_twice_closes_once(store: TicketStore, tickets_table: Any) -> None:
    ticket = create(store, ALICE.id)
    first = store.close(ALICE.id, ticket["ticket_id"], resolution="Fixed.")
    after_first = item(tickets_table, ticket["ticket_id"])

    second = store.close(ALICE.id, ticket["ticket_id"], resolution="Fixed again.")

    assert (first.outcome, second.outcome) == (CloseOutcome.CLOSED, CloseOutcome.ALREADY_CLOSED)
    assert item(tickets_table, ticket["ticket_id"]) == after_first


def test_close_a_missing_ticket_creates_nothing(store: TicketStore, tickets_table: Any) -> None:
    assert store.close(ALICE.id, "TCK-ZZZZZZZZZZ", resolution="Fixed.") == CloseResult(CloseOutcome.MISSING)
    assert all_items(tickets_table) == []


def test_a_failed_close_is_raised_as_it_came(tickets_table: Any, clock: Clock) -> None:
    stored = stored_ticket("TCK-AAAAAAAAAA", ALICE.id, CREATED_AT)
    tickets_table.put_item(Item=stored)

    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        TicketStore(FailingWrites(tickets_table), now=clock).close(ALICE.id, "TCK-AAAAAAAAAA", resolution=None)
    assert all_items(tickets_table) == [stored]


def test_the_clock_is_read_in_utc(tickets_table: Any) -> None:
    store = TicketStore(
        tickets_table, now=lambda: datetime(2025, 3, 14, 16, 9, 26, 535897, tzinfo=timezone(timedelta(hours=1)))
    )

    assert create(store, ALICE.id)["created_at"] == CREATED_AT
