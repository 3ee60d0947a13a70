"""Builders of Bedrock agent events and expected responses, the tickets table, and fakes shared by the tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_tools.schemas import FUNCTIONS

from tests.aws import LambdaContext

REGION = "us-east-1"
TABLE = "agent-tickets"
INDEX = "status-created"
KB_ID = "KBID000001"
DS_ID = "DSID000001"
JOB_ID = "JOBID00001"
SESSION_ID = "111122223333-session"
REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
NOW = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
SESSION_ATTRIBUTES = {"tenant": "acme"}
PROMPT_ATTRIBUTES = {"locale": "en-GB"}
TICKET_ID_PATTERN = r"TCK-[A-Z0-9]{6}"


def function_event(function: str, parameters: Mapping[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    """A function-schema action group call as a Bedrock agent sends it; values arrive as strings."""
    specs = FUNCTIONS[function].parameters if function in FUNCTIONS else {}
    return {
        "messageVersion": "1.0",
        "agent": {"name": "support-agent", "id": "AGENT00001", "alias": "TSTALIASID", "version": "DRAFT"},
        "inputText": "Please help me with my ticket",
        "sessionId": SESSION_ID,
        "actionGroup": "SupportTickets",
        "function": function,
        "parameters": [
            {"name": name, "type": specs[name].type if name in specs else "string", "value": value}
            for name, value in (parameters or {}).items()
        ],
        "sessionAttributes": dict(SESSION_ATTRIBUTES),
        "promptSessionAttributes": dict(PROMPT_ATTRIBUTES),
        **extra,
    }


def api_event(api_path: str, parameters: Mapping[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    """An OpenAPI action group call as a Bedrock agent sends it."""
    return {
        "messageVersion": "1.0",
        "agent": {"name": "support-agent", "id": "AGENT00001", "alias": "TSTALIASID", "version": "DRAFT"},
        "inputText": "What time is it?",
        "sessionId": SESSION_ID,
        "actionGroup": "Status",
        "apiPath": api_path,
        "httpMethod": "GET",
        "parameters": [{"name": name, "type": "string", "value": value} for name, value in (parameters or {}).items()],
        "sessionAttributes": dict(SESSION_ATTRIBUTES),
        "promptSessionAttributes": dict(PROMPT_ATTRIBUTES),
        **extra,
    }


def function_answer(function: str, body: str, state: str | None = None) -> dict[str, Any]:
    """The exact response expected for a call of `function` made with function_event."""
    function_response: dict[str, Any] = {"responseBody": {"TEXT": {"body": body}}}
    if state is not None:
        function_response["responseState"] = state
    return {
        "messageVersion": "1.0",
        "response": {"actionGroup": "SupportTickets", "function": function, "functionResponse": function_response},
        "sessionAttributes": SESSION_ATTRIBUTES,
        "promptSessionAttributes": PROMPT_ATTRIBUTES,
    }


def api_answer(api_path: str, status: int, body: str, method: str = "GET") -> dict[str, Any]:
    """The exact response expected for a call of `api_path` made with api_event."""
    return {
        "messageVersion": "1.0",
        "response": {
            "actionGroup": "Status",
            "apiPath": api_path,
            "httpMethod": method,
            "httpStatusCode": status,
            "responseBody": {"application/json": {"body": body}},
        },
        "sessionAttributes": SESSION_ATTRIBUTES,
        "promptSessionAttributes": PROMPT_ATTRIBUTES,
    }


def create_tickets_table(dynamodb: Any) -> Any:
    """The tickets table as the stack defines it: ticket_id key, status-created index projecting every attribute."""
    return dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "ticket_id", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def stored_ticket(ticket_id: str, created_at: str, status: str = "open", **fields: str) -> dict[str, str]:
    """A ticket item as the store writes it."""
    return {
        "ticket_id": ticket_id,
        "subject": f"Subject of {ticket_id}",
        "description": f"Description of {ticket_id}",
        "priority": "normal",
        "status": status,
        "created_at": created_at,
        "updated_at": created_at,
        "session_id": SESSION_ID,
        **fields,
    }


def list_jobs_params() -> dict[str, Any]:
    """The exact ListIngestionJobs request for the latest job."""
    return {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "sortBy": {"attribute": "STARTED_AT", "order": "DESCENDING"},
        "maxResults": 1,
    }


def latest_job() -> dict[str, Any]:
    """A ListIngestionJobs response with one completed job."""
    summary = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "ingestionJobId": JOB_ID,
        "status": "COMPLETE",
        "startedAt": NOW,
        "updatedAt": NOW + timedelta(minutes=2, seconds=5),
        "statistics": {
            "numberOfDocumentsScanned": 12,
            "numberOfMetadataDocumentsScanned": 0,
            "numberOfNewDocumentsIndexed": 3,
            "numberOfModifiedDocumentsIndexed": 2,
            "numberOfMetadataDocumentsModified": 0,
            "numberOfDocumentsDeleted": 1,
            "numberOfDocumentsFailed": 1,
            "numberOfDocumentsSkipped": 5,
        },
    }
    return {"ingestionJobSummaries": [summary]}


@dataclass(frozen=True)
class FakeContext(LambdaContext):
    """The agent tools function's Lambda context."""

    function_name: str = "genai-agent-tools"
    aws_request_id: str = REQUEST_ID


@dataclass
class IdSequence:
    """Ticket ids in a given order, then TCK-000001, TCK-000002...; records how many were drawn."""

    first: list[str] = field(default_factory=list)
    drawn: list[str] = field(default_factory=list)
    _counter: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    def __call__(self) -> str:
        ticket_id = self.first.pop(0) if self.first else f"TCK-{next(self._counter):06d}"
        self.drawn.append(ticket_id)
        return ticket_id


@dataclass
class Clock:
    """Starts at NOW and moves one second each time it is read, so creation times differ."""

    current: datetime = NOW

    def __call__(self) -> datetime:
        moment = self.current
        self.current += timedelta(seconds=1)
        return moment
