"""The deployed stage in front of api.handler: the Cognito authorizer and body validation, then the proxy event.

A request the stage refuses never reaches the function. A route that is not public needs a known token whose
scopes include one of the method's (else 401), and a body must fit the route's request schema (else 400); both
answers are rendered from the stack's own gateway response templates (stacks/constructs/api.py).
common.schema.validate, which implements the same draft-04 subset, stands in for API Gateway's validator.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from api.registry import REGISTRY, Route

from common.schema import SchemaViolation, validate

from .api_fakes import API_REQUEST_ID, FakeContext, rest_event

STACK_API = Path(__file__).resolve().parents[3] / "stacks" / "constructs" / "api.py"
NOT_JSON = "body: is not JSON"


@cache
def stack_constant(name: str) -> Any:
    """A module-level constant of stacks/constructs/api.py, read without importing the CDK."""
    tree = ast.parse(STACK_API.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == name for target in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{STACK_API} defines no {name}")


def scopes() -> frozenset[str]:
    """The authorization scopes of every method that is not public: one of them is enough."""
    return frozenset({f"genai/{stack_constant('INVOKE_SCOPE')}", stack_constant("PEOPLE_SCOPE")})


EXPRESSION = re.compile(r"\$[A-Za-z.]+(?:\(\$[A-Za-z.]+\))?")


def render(template: str, values: Mapping[str, str]) -> str:
    """A gateway response template with each `$context`/`$util` expression replaced by its rendering in `values`."""
    unknown = set(EXPRESSION.findall(template)) - set(values)
    if unknown:
        raise AssertionError(f"the harness cannot render {', '.join(sorted(unknown))} of {template!r}")
    return EXPRESSION.sub(lambda match: values[match.group(0)], template)


def _quoted(text: str) -> str:
    """A string's characters as they go inside a JSON string."""
    return json.dumps(text)[1:-1]


def gateway_error(status: int, response_type: str, message: str) -> dict[str, Any]:
    """A DEFAULT_4XX gateway response (ERROR_TEMPLATE), e.g. 401 UNAUTHORIZED."""
    body = render(
        stack_constant("ERROR_TEMPLATE"),
        {
            "$context.error.responseType": response_type,
            # messageString is the message already quoted as a JSON string.
            "$context.error.messageString": json.dumps(message),
            "$context.requestId": API_REQUEST_ID,
        },
    )
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}


def bad_body(violation: str) -> dict[str, Any]:
    """The BAD_REQUEST_BODY gateway response (BAD_BODY_TEMPLATE): the validation error in the envelope.

    The validation string is rendered escaped for a JSON string, as the envelope needs it to be (whether API
    Gateway escapes it is not documented; the template is simple substitution).
    """
    body = render(
        stack_constant("BAD_BODY_TEMPLATE"),
        {
            "$context.error.validationErrorString": _quoted(violation),
            "$context.requestId": API_REQUEST_ID,
        },
    )
    return {"statusCode": 400, "headers": {"Content-Type": "application/json"}, "body": body}


class NotJson(ValueError):
    """A body API Gateway cannot read as JSON."""


def _no_constants(name: str) -> Any:
    raise NotJson(f"{name} is not JSON")


def parse_body(text: str | None) -> object:
    """The body as API Gateway's validator reads it: JSON only (no NaN or Infinity); a missing body is null."""
    if text is None:
        return None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except ValueError as error:
        raise NotJson(str(error)) from error


@dataclass
class Gateway:
    """The stage: `send` answers what API Gateway answers, calling `handler` only with what it lets through."""

    handler: Callable[[dict[str, Any], Any], dict[str, Any]]
    tokens: Mapping[str, Mapping[str, str]]
    forwarded: list[dict[str, Any]] = field(default_factory=list)

    def route(self, method: str, path: str) -> Route | None:
        return next((r for r in REGISTRY.routes if r.method == method and r.path == path), None)

    def send(
        self,
        method: str,
        path: str,
        body: str | None = None,
        *,
        authorization: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One request to the stage, with `authorization` as its token: a gateway response, or the function's."""
        route = self.route(method, path)
        if route is None:
            # REST APIs answer a method or resource they do not have with 403, before any authorizer.
            return gateway_error(403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        claims = None
        if not route.public:
            claims = self.tokens.get(authorization or "")
            if claims is None or not scopes() & set(str(claims.get("scope", "")).split()):
                return gateway_error(401, "UNAUTHORIZED", "Unauthorized")
        schema = REGISTRY.request_schema(route)
        if schema is not None:
            try:
                validate(schema, parse_body(body))
            except NotJson:
                return bad_body(NOT_JSON)
            except SchemaViolation as violation:
                return bad_body(str(violation))
        event = rest_event(method, path, raw_body=body, headers=headers, claims=claims)
        if authorization is None:
            event["headers"].pop("Authorization")
            event["multiValueHeaders"].pop("Authorization")
        else:
            event["headers"]["Authorization"] = event["multiValueHeaders"]["Authorization"][0] = authorization
        self.forwarded.append(event)
        return self.handler(event, FakeContext())
