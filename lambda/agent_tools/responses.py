"""The response events Bedrock agents expect from an action group's Lambda function."""

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

MESSAGE_VERSION = "1.0"


class ResponseState(StrEnum):
    """How the agent treats a function's answer: FAILURE ends the turn, REPROMPT sends the text back to the model."""

    FAILURE = "FAILURE"
    REPROMPT = "REPROMPT"


def _attributes(event: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = event.get(key)
    return dict(value) if isinstance(value, dict) else {}


def _session(event: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "sessionAttributes": _attributes(event, "sessionAttributes"),
        "promptSessionAttributes": _attributes(event, "promptSessionAttributes"),
    }


def function_response(event: Mapping[str, Any], body: str, state: ResponseState | None = None) -> dict[str, Any]:
    """The answer to a function-schema action group, echoing the event's names and session attributes."""
    function_result: dict[str, Any] = {"responseBody": {"TEXT": {"body": body}}}
    if state is not None:
        function_result = {"responseState": state.value, **function_result}
    return {
        "messageVersion": MESSAGE_VERSION,
        "response": {
            "actionGroup": str(event.get("actionGroup", "")),
            "function": str(event.get("function", "")),
            "functionResponse": function_result,
        },
        **_session(event),
    }


def api_response(event: Mapping[str, Any], status_code: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to an OpenAPI action group: the payload as a JSON string under application/json."""
    return {
        "messageVersion": MESSAGE_VERSION,
        "response": {
            "actionGroup": str(event.get("actionGroup", "")),
            "apiPath": str(event.get("apiPath", "")),
            "httpMethod": str(event.get("httpMethod", "")),
            "httpStatusCode": status_code,
            "responseBody": {"application/json": {"body": compact_json(payload)}},
        },
        **_session(event),
    }


def compact_json(value: object) -> str:
    """JSON without spaces, non-ASCII text kept readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def failure_text(request_id: str | None) -> str:
    """What the agent is told when the tool itself failed."""
    suffix = f" (request id {request_id})" if request_id else ""
    return f"The tool failed unexpectedly{suffix}; nothing more is known. Try again later."
