"""Support tickets in a DynamoDB table keyed by ticket_id, listed through the status-created index."""

import logging
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from botocore.exceptions import ClientError

from agent_tools.logs import structured
from common.aws_errors import error_code

logger = logging.getLogger(__name__)

TICKET_ID_PREFIX = "TCK-"
TICKET_ID_ALPHABET = string.ascii_uppercase + string.digits
TICKET_ID_LENGTH = 6
STATUS_INDEX = "status-created"
OPEN = "open"
CLOSED = "closed"
STATUSES = (OPEN, CLOSED)
CREATE_ATTEMPTS = 5
CONDITION_FAILED = "ConditionalCheckFailedException"
# What the agent sees, in this order; session_id stays internal.
PUBLIC_FIELDS = ("ticket_id", "subject", "description", "priority", "status", "created_at", "updated_at", "resolution")
# `status` is a DynamoDB reserved word.
STATUS_NAME = {"#status": "status"}

Ticket = dict[str, str]


class TicketTable(Protocol):
    """The part of a boto3 DynamoDB Table resource this module calls."""

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        """PutItem."""

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        """GetItem."""

    def query(self, **kwargs: Any) -> dict[str, Any]:
        """Query."""

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        """UpdateItem."""


class CloseOutcome(StrEnum):
    """How an attempt to close a ticket ended."""

    CLOSED = "closed"
    ALREADY_CLOSED = "already_closed"
    MISSING = "missing"


@dataclass(frozen=True)
class CloseResult:
    """The outcome of a close, with the closed ticket."""

    outcome: CloseOutcome
    ticket: Ticket | None = None


def new_ticket_id() -> str:
    """TCK- and 6 random uppercase letters or digits."""
    return TICKET_ID_PREFIX + "".join(secrets.choice(TICKET_ID_ALPHABET) for _ in range(TICKET_ID_LENGTH))


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a fixed width, so that strings sort in time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def public_view(item: Mapping[str, Any]) -> Ticket:
    """The fields of a stored item the agent may quote."""
    return {field: str(item[field]) for field in PUBLIC_FIELDS if field in item}


class TicketStore:
    """Create, read, list and close tickets in one table."""

    def __init__(
        self,
        table: TicketTable,
        *,
        new_id: Callable[[], str] = new_ticket_id,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._table = table
        self._new_id = new_id
        self._now = now

    def create(self, *, subject: str, description: str, priority: str, session_id: str | None) -> Ticket:
        """Store a new open ticket under an id no other ticket has."""
        created_at = timestamp(self._now())
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            item = {
                "ticket_id": self._new_id(),
                "subject": subject,
                "description": description,
                "priority": priority,
                "status": OPEN,
                "created_at": created_at,
                "updated_at": created_at,
            }
            if session_id:
                item["session_id"] = session_id
            try:
                self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(ticket_id)")
            except ClientError as error:
                if error_code(error) != CONDITION_FAILED:
                    raise
                logger.warning(structured("Ticket id already taken", ticket_id=item["ticket_id"], attempt=attempt))
                continue
            logger.info(structured("Ticket created", ticket_id=item["ticket_id"], priority=priority))
            return public_view(item)
        raise RuntimeError(f"No free ticket id after {CREATE_ATTEMPTS} attempts")

    def get(self, ticket_id: str) -> Ticket | None:
        """The ticket, or None if there is none with this id."""
        # Consistent, so a ticket created a moment ago in the same conversation is found.
        item = self._table.get_item(Key={"ticket_id": ticket_id}, ConsistentRead=True).get("Item")
        return public_view(item) if item else None

    def list_recent(self, *, status: str | None, limit: int) -> list[Ticket]:
        """The `limit` most recently created tickets with the status, or with any status, newest first."""
        items: list[Mapping[str, Any]] = []
        for wanted in (status,) if status else STATUSES:
            response = self._table.query(
                IndexName=STATUS_INDEX,
                KeyConditionExpression="#status = :status",
                ExpressionAttributeNames=STATUS_NAME,
                ExpressionAttributeValues={":status": wanted},
                ScanIndexForward=False,
                Limit=limit,
            )
            items.extend(response.get("Items", []))
        items.sort(key=lambda item: str(item.get("created_at", "")), reverse=True)
        return [public_view(item) for item in items[:limit]]

    def close(self, ticket_id: str, *, resolution: str | None) -> CloseResult:
        """Close the ticket if it exists and is open."""
        update = "SET #status = :closed, updated_at = :now"
        values = {":closed": CLOSED, ":open": OPEN, ":now": timestamp(self._now())}
        if resolution is not None:
            update += ", resolution = :resolution"
            values[":resolution"] = resolution
        try:
            response = self._table.update_item(
                Key={"ticket_id": ticket_id},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(ticket_id) AND #status = :open",
                ExpressionAttributeNames=STATUS_NAME,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise
            # DynamoDB returns the old item only when there is one, so no item means no such ticket.
            outcome = CloseOutcome.ALREADY_CLOSED if "Item" in error.response else CloseOutcome.MISSING
            logger.info(structured("Ticket not closed", ticket_id=ticket_id, outcome=outcome.value))
            return CloseResult(outcome)
        logger.info(structured("Ticket closed", ticket_id=ticket_id))
        return CloseResult(CloseOutcome.CLOSED, public_view(response["Attributes"]))
