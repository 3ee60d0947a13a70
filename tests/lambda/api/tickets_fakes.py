"""The tickets table on moto, callers, a fixed clock and the request-model check shared by the tickets tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
from api.identity import Caller
from botocore.exceptions import ClientError
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from .api_fakes import TICKETS_TABLE

NOW = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
ALICE = Caller(kind="user", subject="0f8fad5b-d9cb-469f-a165-70867728950e", scopes=frozenset({"genai/invoke"}))
BOB = Caller(kind="user", subject="7c9e6679-7425-40de-944b-e07fc1f90ae7", scopes=frozenset({"genai/invoke"}))
# An app client whose id happens to equal Alice's sub: a different caller all the same.
MACHINE = Caller(kind="client", subject=ALICE.subject, scopes=frozenset({"genai/invoke"}))
_SERVICE_MODELS: dict[str, ServiceModel] = {}


@dataclass
class Clock:
    """Starts at NOW and moves one second each time it is read, so that every write has a time of its own."""

    current: datetime = NOW
    reads: list[datetime] = field(default_factory=list)

    def __call__(self) -> datetime:
        moment = self.current
        self.reads.append(moment)
        self.current += timedelta(seconds=1)
        return moment


def create_tickets_table(dynamodb: Any) -> Any:
    """The table as stacks/constructs/tickets.py declares it: ticket_id key, two GSIs projecting every attribute."""
    indexes = [
        {
            "IndexName": name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}, {"AttributeName": sort, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
        for name, key, sort in (("status-created", "status", "created_at"), ("owner-status", "owner", "status_created"))
    ]
    return dynamodb.create_table(
        TableName=TICKETS_TABLE,
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("ticket_id", "status", "owner", "created_at", "status_created")
        ],
        GlobalSecondaryIndexes=indexes,
        BillingMode="PAY_PER_REQUEST",
    )


def all_items(table: Any) -> list[dict[str, Any]]:
    """Every item in the table, read consistently."""
    return list(table.scan(ConsistentRead=True)["Items"])


def stored_ticket(ticket_id: str, owner: str, created_at: str, status: str = "open", **fields: str) -> dict[str, str]:
    """A complete ticket item as it sits in the table."""
    return {
        "ticket_id": ticket_id,
        "owner": owner,
        "idempotency_key": f"session-0001/tooluse_{ticket_id}",
        "subject": f"Subject of {ticket_id}",
        "description": f"Description of {ticket_id}",
        "priority": "normal",
        "status": status,
        "status_created": f"{status}#{created_at}",
        "created_at": created_at,
        "updated_at": created_at,
        **fields,
    }


def minute(n: int) -> str:
    """A fixed-width UTC timestamp n minutes after 15:00 on the test day, as the store writes them."""
    return (datetime(2025, 3, 14, 15, 0, tzinfo=UTC) + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FailingWrites:
    """A tickets table whose put_item and update_item fail as DynamoDB throttling would; reads go to `table`."""

    table: Any
    message: str = "Throughput exceeds the current capacity of table arn:aws:dynamodb:us-east-1:123456789012:table/x"

    def _error(self, operation: str) -> ClientError:
        response: Any = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": self.message}}
        return ClientError(response, operation)

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        raise self._error("PutItem")

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        raise self._error("UpdateItem")

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return dict(self.table.get_item(**kwargs))

    def query(self, **kwargs: Any) -> dict[str, Any]:
        return dict(self.table.query(**kwargs))


def _service_model(service: str) -> ServiceModel:
    if service not in _SERVICE_MODELS:
        _SERVICE_MODELS[service] = botocore.session.get_session().get_service_model(service)
    return _SERVICE_MODELS[service]


def check_params(service: str, operation: str, params: Mapping[str, Any]) -> None:
    """Fail like botocore would on a request that does not fit the real service model."""
    shape = _service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise AssertionError(report.generate_report())


def tool_result_statuses() -> list[str]:
    """The statuses InvokeHarness accepts in a toolResult block; botocore does not check enums on its own."""
    messages: Any = _service_model("bedrock-agentcore").operation_model("InvokeHarness").input_shape.members["messages"]
    tool_result = messages.member.members["content"].member.members["toolResult"]
    return list(tool_result.members["status"].enum)
