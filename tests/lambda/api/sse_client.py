"""What a client reads from the streaming routes, and the requests the Lambda Web Adapter sends the streaming app.

`parse` reads a text/event-stream body by the WHATWG rules (html.spec.whatwg.org, "Interpreting an event
stream"), strictly: every block must be a complete event of the API's vocabulary whose data is one JSON object.

`lwa_headers` builds what the adapter adds to the API Gateway event's headers when it forwards a REST API
request to the app (awslabs/aws-lambda-web-adapter src/lib.rs, `fetch_response`):
- `x-amzn-request-context`: lambda_http's `RequestContext::ApiGatewayV1` serialized by serde: an untagged enum,
  so the fields of aws_lambda_events' `ApiGatewayProxyRequestContext` (camelCase, absent values as null, the
  authorizer's fields as they came, the `authorizer` key left out when it has none).
- `x-amzn-lambda-context`: lambda_runtime's `Context` serialized by serde (snake_case: `request_id`, ...).
Both are inserted with `HeaderMap::insert`, which replaces any copy the client sent.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.registry import REGISTRY
from starlette.exceptions import StarletteDeprecationWarning

from common.schema import validate

from .api_fakes import API_REQUEST_ID, PERSON, REGION, REQUEST_ID

with warnings.catch_warnings():
    # starlette asks for httpx2 and falls back to httpx, which is what the project pins.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

__all__ = ["TestClient"]

# The API's event vocabulary, as the streaming design defines it.
EVENT_NAMES = frozenset({"session", "delta", "citation", "guardrail", "confirmation", "metadata", "error", "done"})
FIELDS = frozenset({"event", "data", "id", "retry"})
FUNCTION_NAME = "genai-api-stream"
EVENT_HEADERS = {
    "accept": "text/event-stream",
    "authorization": "eyJraWQiOiJ0ZXN0In0.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl",
    "content-type": "application/json",
    "host": "abc123.execute-api.us-east-1.amazonaws.com",
    "x-amzn-trace-id": "Root=1-67891233-abcdef012345678912345678",
    "x-forwarded-for": "203.0.113.7",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
}


class StreamViolation(AssertionError):
    """A body that is not a well-formed stream of the API's events."""


@dataclass(frozen=True)
class Event:
    """One server-sent event as a client dispatches it."""

    name: str
    data: dict[str, Any]


def _lines(text: str) -> list[str]:
    """Lines end with CRLF, LF or CR; the text after the last line end is an unfinished line."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _field(line: str) -> tuple[str, str]:
    name, colon, value = line.partition(":")
    if colon and value.startswith(" "):
        value = value[1:]
    return name, value


def _event(fields: Sequence[tuple[str, str]]) -> Event:
    names = [value for name, value in fields if name == "event"]
    data = [value for name, value in fields if name == "data"]
    if len(names) != 1 or names[0] not in EVENT_NAMES:
        raise StreamViolation(f"an event must name one event of the vocabulary, not {names}")
    if not data:
        raise StreamViolation(f"the {names[0]} event carries no data, so a client would never dispatch it")
    try:
        value = json.loads("\n".join(data))
    except ValueError as error:
        raise StreamViolation(f"the data of a {names[0]} event is not JSON: {data}") from error
    if not isinstance(value, dict):
        raise StreamViolation(f"the data of a {names[0]} event is not a JSON object: {value!r}")
    return Event(names[0], value)


def parse(body: bytes) -> list[Event]:
    """The events of a text/event-stream body, in order; a StreamViolation for anything a strict client refuses."""
    text = body.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    *lines, unfinished = _lines(text)
    if unfinished:
        raise StreamViolation(f"the stream ends inside a line: {unfinished!r}")
    events: list[Event] = []
    fields: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            if fields:
                events.append(_event(fields))
            fields = []
        elif not line.startswith(":"):
            name, value = _field(line)
            if name not in FIELDS:
                raise StreamViolation(f"unknown field {name!r}")
            fields.append((name, value))
    if fields:
        raise StreamViolation(f"the stream ends inside an event: {fields}")
    return events


def names(events: Sequence[Event]) -> list[str]:
    return [event.name for event in events]


def answer(events: Sequence[Event]) -> str:
    """The text of the deltas, in order: what a client shows."""
    return "".join(event.data["text"] for event in events if event.name == "delta")


def request_context(path: str, claims: Mapping[str, str] | None = PERSON) -> dict[str, Any]:
    """API Gateway's REST requestContext for a Cognito-authorized POST, as the adapter serializes it."""
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "resourceId": "abcdef",
        "stage": "prod",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abc123",
        "requestId": API_REQUEST_ID,
        "protocol": "HTTP/1.1",
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "apiKey": None,
            "apiKeyId": None,
            "accessKey": None,
            "sourceIp": "203.0.113.7",
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": "pytest",
            "user": None,
        },
        "resourcePath": path,
        "path": f"/prod{path}",
        "httpMethod": "POST",
        "requestTime": "01/Jan/2026:12:00:00 +0000",
        "requestTimeEpoch": 1767268800000,
        "apiId": "abc123",
    }
    if claims is not None:
        context["authorizer"] = {"claims": dict(claims)}
    return context


def lambda_context(request_id: str = REQUEST_ID) -> dict[str, Any]:
    """The Lambda invocation's context, as the adapter serializes it."""
    return {
        "request_id": request_id,
        "deadline": 1767268830000,
        "invoked_function_arn": f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION_NAME}",
        "xray_trace_id": "Root=1-67891233-abcdef012345678912345678;Parent=1234567890abcdef;Sampled=1",
        "client_context": None,
        "identity": None,
        "env_config": {
            "function_name": FUNCTION_NAME,
            "memory": 512,
            "version": "$LATEST",
            "log_stream": "2026/01/01/[$LATEST]0123456789abcdef",
            "log_group": f"/aws/lambda/{FUNCTION_NAME}",
        },
    }


def lwa_headers(
    path: str, claims: Mapping[str, str] | None = PERSON, *, request_id: str = REQUEST_ID
) -> dict[str, str]:
    """The headers of the request the adapter sends the app for a REST API event on `path`."""
    return {
        **EVENT_HEADERS,
        "x-amzn-request-context": json.dumps(request_context(path, claims), separators=(",", ":")),
        "x-amzn-lambda-context": json.dumps(lambda_context(request_id), separators=(",", ":")),
    }


def checked_body(route: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A body that passes the route's request model: API Gateway refuses any other before the function runs."""
    schema = REGISTRY.request_schema(REGISTRY.route(route))
    assert schema is not None
    validate(schema, body)
    return dict(body)


def post(
    client: TestClient,
    route: str,
    body: Mapping[str, Any],
    claims: Mapping[str, str] | None = PERSON,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """POST `<route>/stream` as the adapter forwards it; the whole response, read to its end."""
    path = REGISTRY.route(route).stream_path
    return client.post(path, json=checked_body(route, body), headers={**lwa_headers(path, claims), **(headers or {})})


def events_of(response: Any) -> list[Event]:
    """The events of a 200 event-stream response."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "text/event-stream"
    return parse(response.content)
