"""Support tickets in DynamoDB, each owned by one caller: every read and write is conditioned on the owner.

The table is keyed by ticket_id; the owner-status index lists one owner's tickets of one status, newest first
(its sort key is `<status>#<created_at>`, so a status needs no filter and a page is never emptied by one). A
ticket's id is derived from its owner and the tool call that created it, so a create retried after a lost
response finds the ticket it already made instead of making a second one.
"""

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from common.aws_errors import error_code

TICKET_ID_PREFIX = "TCK-"
TICKET_ID_LENGTH = 10  # base32 characters: 50 bits
OWNER_INDEX = "owner-status"
OPEN = "open"
CLOSED = "closed"
STATUSES = (OPEN, CLOSED)
CONDITION_FAILED = "ConditionalCheckFailedException"
# What the caller and the model see, in this order; the owner and idempotency key stay internal.
PUBLIC_FIELDS = ("ticket_id", "subject", "description", "priority", "status", "created_at", "updated_at", "resolution")
# `owner` and `status` are DynamoDB reserved words.
NAMES = {"#owner": "owner", "#status": "status"}
_deserialize = TypeDeserializer().deserialize

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
    """The outcome of a close, with the ticket when the caller may see it."""

    outcome: CloseOutcome
    ticket: Ticket | None = None


class TicketIdTaken(RuntimeError):
    """Another ticket already has the id derived for a new one (a 50-bit collision)."""


def ticket_id(owner: str, idempotency_key: str) -> str:
    """TCK- and 10 base32 characters derived from the owner and the idempotency key."""
    digest = hashlib.sha256("\0".join((owner, idempotency_key)).encode()).digest()
    return TICKET_ID_PREFIX + base64.b32encode(digest).decode()[:TICKET_ID_LENGTH]


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a fixed width, so that strings sort in time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def status_key(status: str, created_at: str) -> str:
    """The owner-status index's sort key: the status, then the creation time."""
    return f"{status}#{created_at}"


def public_view(item: Mapping[str, Any]) -> Ticket:
    """The fields of a stored item the caller may see."""
    return {field: str(item[field]) for field in PUBLIC_FIELDS if field in item}


class TicketStore:
    """Create, read, list and close the tickets of one owner at a time in one table."""

    def __init__(self, table: TicketTable, *, now: Callable[[], datetime] = utc_now) -> None:
        self._table = table
        self._now = now

    def create(self, owner: str, *, subject: str, description: str, priority: str, idempotency_key: str) -> Ticket:
        """Store a new open ticket; the same owner and key again return the ticket made the first time."""
        created_at = timestamp(self._now())
        item = {
            "ticket_id": ticket_id(owner, idempotency_key),
            "owner": owner,
            "idempotency_key": idempotency_key,
            "subject": subject,
            "description": description,
            "priority": priority,
            "status": OPEN,
            "status_created": status_key(OPEN, created_at),
            "created_at": created_at,
            "updated_at": created_at,
        }
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(ticket_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise
            # The old item comes back in DynamoDB's wire form ({"S": ...}) even from the resource API.
            existing = {name: _deserialize(value) for name, value in (error.response.get("Item") or {}).items()}
            if existing.get("owner") == owner and existing.get("idempotency_key") == idempotency_key:
                return public_view(existing)
            raise TicketIdTaken(item["ticket_id"]) from error
        return public_view(item)

    def get(self, owner: str, ticket_id: str) -> Ticket | None:
        """The owner's ticket, or None when there is none with this id or it belongs to someone else."""
        # Consistent, so a ticket created a moment ago in the same conversation is found.
        item = self._table.get_item(Key={"ticket_id": ticket_id}, ConsistentRead=True).get("Item")
        return public_view(item) if item and item.get("owner") == owner else None

    def list_recent(self, owner: str, *, status: str | None, limit: int) -> list[Ticket]:
        """The owner's `limit` most recently created tickets with the status, or with any status, newest first."""
        items: list[Mapping[str, Any]] = []
        for wanted in (status,) if status else STATUSES:
            response = self._table.query(
                IndexName=OWNER_INDEX,
                KeyConditionExpression="#owner = :owner AND begins_with(status_created, :status)",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner, ":status": f"{wanted}#"},
                ScanIndexForward=False,
                Limit=limit,
            )
            items.extend(response.get("Items", []))
        items.sort(key=lambda item: str(item.get("created_at", "")), reverse=True)
        return [public_view(item) for item in items[:limit]]

    def close(self, owner: str, ticket_id: str, *, resolution: str | None) -> CloseResult:
        """Close the owner's ticket if it is open; someone else's ticket is reported as missing."""
        update = "SET #status = :closed, status_created = :closed_key, updated_at = :now"
        values = {":closed": CLOSED, ":open": OPEN, ":owner": owner, ":now": timestamp(self._now())}
        if resolution is not None:
            update += ", resolution = :resolution"
            values[":resolution"] = resolution
        current = self._table.get_item(Key={"ticket_id": ticket_id}, ConsistentRead=True).get("Item") or {}
        values[":closed_key"] = status_key(CLOSED, str(current.get("created_at", "")))
        try:
            response = self._table.update_item(
                Key={"ticket_id": ticket_id},
                UpdateExpression=update,
                ConditionExpression="#owner = :owner AND #status = :open",
                ExpressionAttributeNames=NAMES,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise
            old = {name: _deserialize(value) for name, value in (error.response.get("Item") or {}).items()}
            return CloseResult(CloseOutcome.ALREADY_CLOSED if old.get("owner") == owner else CloseOutcome.MISSING)
        return CloseResult(CloseOutcome.CLOSED, public_view(response["Attributes"]))
