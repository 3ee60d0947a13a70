"""Lambda entry point of the Bedrock agent's action groups: SupportTickets (functions) and Status (OpenAPI)."""

import logging
import os
from typing import Any

import boto3
from botocore.config import Config

from agent_tools.logs import structured
from agent_tools.responses import ResponseState, api_response, failure_text, function_response
from agent_tools.status import StatusDependencies, handle_api_call
from agent_tools.support_tickets import handle_function_call
from agent_tools.tickets import TicketStore, utc_now

logging.getLogger("agent_tools").setLevel(logging.INFO)
logger = logging.getLogger(__name__)

# Optional at import so the module loads in tests; the code that needs a value refuses to run without it.
TICKETS_TABLE = os.environ.get("TICKETS_TABLE", "")
KNOWLEDGE_BASE_ID = os.environ.get("KNOWLEDGE_BASE_ID", "")
DATA_SOURCE_ID = os.environ.get("DATA_SOURCE_ID", "")

# The agent waits on the answer, so a hung connection fails within seconds.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)

dynamodb = boto3.resource("dynamodb", config=CLIENT_CONFIG)
bedrock_agent = boto3.client("bedrock-agent", config=CLIENT_CONFIG)

UNSUPPORTED = "Unsupported request: expected a function or API call from a Bedrock agent."


def open_ticket_store() -> TicketStore:
    """The ticket store of the configured table."""
    if not TICKETS_TABLE:
        raise RuntimeError("TICKETS_TABLE must be set")
    return TicketStore(dynamodb.Table(TICKETS_TABLE))


def _request_id(context: object) -> str | None:
    request_id = getattr(context, "aws_request_id", None)
    return request_id if isinstance(request_id, str) else None


def handler(event: Any, context: object) -> dict[str, Any]:
    """Answer a function-schema or an OpenAPI action group call, each in the shape Bedrock expects for it."""
    request_id = _request_id(context)
    event = event if isinstance(event, dict) else {}
    try:
        if "function" in event:
            return handle_function_call(event, open_ticket_store, request_id=request_id)
        if "apiPath" in event:
            dependencies = StatusDependencies(bedrock_agent, KNOWLEDGE_BASE_ID, DATA_SOURCE_ID, now=utc_now)
            return handle_api_call(event, dependencies, request_id=request_id)
        logger.error(structured("Event is neither a function nor an API call", keys=sorted(event)))
        return function_response(event, UNSUPPORTED, ResponseState.FAILURE)
    except Exception:
        logger.exception(structured("Action group call failed", request_id=request_id))
    if "apiPath" in event and "function" not in event:
        return api_response(event, 500, {"error": failure_text(request_id)})
    return function_response(event, failure_text(request_id), ResponseState.FAILURE)
