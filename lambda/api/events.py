"""Read API Gateway REST proxy events (v1): their shape, headers and JSON body, refusing what cannot be parsed."""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from api.errors import bad_request


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _string_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _non_empty_string(value: object) -> bool:
    return isinstance(value, str) and bool(value)


# What a proxy event must hold for the resolver to take it, and the message when it does not.
EVENT_CHECKS: tuple[tuple[str, Callable[[object], bool], str], ...] = (
    ("httpMethod", _non_empty_string, "The request has no HTTP method."),
    ("path", lambda value: isinstance(value, str) and value.startswith("/"), "The request has no path."),
    ("headers", lambda value: value is None or _string_map(value), "The request headers are malformed."),
    ("body", lambda value: value is None or isinstance(value, str), "The request body is malformed."),
    (
        "isBase64Encoded",
        lambda value: value is None or isinstance(value, bool),
        "The isBase64Encoded flag is malformed.",
    ),
    ("requestContext", lambda value: value is None or isinstance(value, dict), "The request context is malformed."),
)


def problem(event: object) -> str | None:
    """Why `event` is not a proxy event the resolver can take, or None."""
    if not isinstance(event, dict):
        return "The request is not an API Gateway proxy event."
    for key, is_valid, message in EVENT_CHECKS:
        if not is_valid(event.get(key)):
            return message
    return None


def normalized(event: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a checked event the resolver reads, with absent values made explicit."""
    return {
        "resource": event.get("resource") if isinstance(event.get("resource"), str) else event["path"],
        "httpMethod": event["httpMethod"],
        "path": event["path"],
        "headers": dict(event.get("headers") or {}),
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": dict(event.get("requestContext") or {}),
        "body": event.get("body"),
        "isBase64Encoded": bool(event.get("isBase64Encoded")),
    }


def header(event: object, name: str) -> str | None:
    """A request header, whatever its case; None when absent or when the event is not a proxy event."""
    headers = event.get("headers") if isinstance(event, dict) else None
    if not isinstance(headers, dict):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            return value
    return None


def json_object(event: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object in the body of a checked event; a 400 error when there is none."""
    body = event.get("body")
    if body is None or body == "":
        raise bad_request("body: is required; send a JSON object.")
    text: str = body
    if event.get("isBase64Encoded"):
        try:
            text = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as error:
            raise bad_request("body: is not base64-encoded UTF-8 text.") from error
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise bad_request("body: is not valid JSON.") from error
    if not isinstance(value, dict):
        raise bad_request("body: must be a JSON object.")
    return value
