"""Generate docs/openapi.json, the OpenAPI 3.0.3 description of the REST API, from lambda/api/routes.json.

The routes, their request schemas (the ones API Gateway validates with) and their response schemas are read
from the registry the function and the CDK app use, so the document cannot drift from them:
`python scripts/openapi.py` writes the file, `python scripts/openapi.py --check` exits 1 if the committed file is
not what this script generates (the tests check that too).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROUTES = ROOT / "lambda" / "api" / "routes.json"
if str(ROOT) not in sys.path:  # run as `python scripts/openapi.py`, the project's packages are one level up
    sys.path.insert(0, str(ROOT))

from scripts.generated import write_or_check  # noqa: E402

OUTPUT = ROOT / "docs" / "openapi.json"
SECURITY_SCHEME = "CognitoUserPool"
STREAM_SUFFIX = "/stream"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": dict(properties), "required": list(properties)}


TEXT = {"type": "string"}
# The events of the streaming routes (lambda/api/sse.py): `event: <name>` then one line of JSON `data`.
EVENTS: dict[str, dict[str, Any]] = {
    "session": obj({"sessionId": TEXT}, "First, on /ask and /agent: the session id to continue with."),
    "delta": obj({"text": TEXT}, "The next piece of the answer."),
    "citation": {
        "type": "object",
        "description": "A document the answer draws on, relative to documents/.",
        "properties": {"text": TEXT, "sources": {"type": "array", "items": TEXT}, "source": TEXT},
    },
    "guardrail": {
        "type": "object",
        "description": "The guardrail intervened: drop the text shown so far and show `message` instead.",
        "properties": {
            "action": {"type": "string", "enum": ["INTERVENED"]},
            "message": TEXT,
            "assessments": {
                "type": "array",
                "description": "The policies that acted, as in Guardrail.assessments.",
                "items": {"type": "object"},
            },
        },
        "required": ["action", "message"],
    },
    "confirmation": ref("Confirmation"),
    "metadata": {
        "type": "object",
        "description": "How the answer ended and what it cost (stopReason, usage, guardrail, depending on the route).",
    },
    "error": {
        "type": "object",
        "description": "The same envelope as a buffered error; the stream ends after it.",
        "properties": {"code": TEXT, "message": TEXT, "requestId": TEXT},
        "required": ["code", "message", "requestId"],
    },
    "done": {"type": "object", "description": "The last event of every stream that did not end in error."},
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": obj(
            {
                "code": {
                    "type": "string",
                    "description": "Stable: BadRequest, UNAUTHORIZED, AccessDenied, NotFound, Conflict, TooLarge, "
                    "RateLimited, Throttled, InternalError, Misconfigured, UpstreamError, Timeout (API Gateway's "
                    "own answers use its response type).",
                },
                "message": {"type": "string", "description": "One line saying what you can change."},
                "requestId": {"type": "string", "description": "Quote it to the operators: the logs have the rest."},
            },
            "Every error, the function's and API Gateway's alike.",
        )
    },
    "required": ["error"],
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
ERRORS: dict[str, tuple[str, str, Mapping[str, Any]]] = {
    "400": (
        "BadRequest",
        "The body does not fit the route's schema (API Gateway names the field), or a value is not allowed (an "
        "unknown model, a filter Bedrock cannot take).",
        {},
    ),
    "401": ("Unauthorized", "No valid Cognito token.", {}),
    "403": (
        "AccessDenied",
        "A sessionId or confirmation issued to another caller, the agent's trace without genai/admin, or a model "
        "or resource this deployment may not use.",
        {},
    ),
    "404": ("NotFound", "The model, knowledge base or conversation is not available in this deployment.", {}),
    "409": ("Conflict", "The conversation is busy with another request.", {}),
    "413": ("TooLarge", "The request carries more text than the API accepts (MAX_REQUEST_CHARACTERS).", {}),
    "429": (
        "RateLimited",
        "The caller's model calls this minute are spent (RateLimited), or Bedrock is throttling (Throttled).",
        RETRY_AFTER,
    ),
    "500": ("InternalError", "The function failed or is misconfigured; quote the requestId.", {}),
    "502": ("UpstreamError", "The model or service behind the API failed.", {}),
    "504": ("Timeout", "The answer took longer than the API waits; stream it or ask for fewer tokens.", {}),
}
PUBLIC_ERRORS = ("500",)
READ_ERRORS = ("401", "500")
MODEL_ERRORS = ("400", "401", "403", "404", "413", "429", "500", "502", "504")


def responses(route: Mapping[str, Any], *, stream: bool) -> dict[str, Any]:
    """The 200 and the errors of one operation."""
    if stream:
        ok = {
            "description": "Server-sent events, as they are generated (see the x-events of this operation).",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    else:
        ok = {"description": "OK", "content": {"application/json": {"schema": ref(route["response"])}}}
    if route.get("public"):
        statuses: Sequence[str] = PUBLIC_ERRORS
    elif route.get("request"):
        statuses = MODEL_ERRORS
    else:
        statuses = READ_ERRORS
    statuses = sorted({*statuses, *(route.get("errors") or {})})
    return {"200": ok, **{status: {"$ref": f"#/components/responses/{ERRORS[status][0]}"} for status in statuses}}


def operation(route: Mapping[str, Any], *, stream: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": route["name"] + ("Stream" if stream else ""),
        "summary": route["summary"] + (", streamed" if stream else ""),
        "description": route["description"],
        "security": [] if route.get("public") else [{SECURITY_SCHEME: []}],
    }
    if route.get("request"):
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(route["request"])}}}
    result["responses"] = responses(route, stream=stream)
    if stream:
        result["description"] += (
            " The same body, validation and errors as the buffered route; an error before the first event is a "
            "JSON error response, after it an `error` event that ends the stream."
        )
        result["x-events"] = {name: ref(f"{name.capitalize()}Event") for name in EVENTS}
    return result


def build(registry: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI document of the registry's routes and their streams."""
    paths: dict[str, Any] = {}
    for route in registry["routes"]:
        paths[route["path"]] = {route["method"].lower(): operation(route)}
        if route.get("stream"):
            paths[route["path"] + STREAM_SUFFIX] = {route["method"].lower(): operation(route, stream=True)}
    events = {f"{name.capitalize()}Event": schema for name, schema in EVENTS.items()}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Bedrock GenAI API",
            "version": "1.0.0",
            "description": "Chat, model comparison, knowledge-base search and answers, and the agent, on Amazon "
            "Bedrock behind a guardrail; chat, ask and agent also stream server-sent events. Generated by "
            "scripts/openapi.py from lambda/api/routes.json.",
        },
        "servers": [
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com/prod",
                "variables": {
                    "apiId": {"default": "abcdef1234", "description": "The REST API id (stack output)."},
                    "region": {"default": "us-east-1", "description": "The region the stack is deployed to."},
                },
            }
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Cognito user pool access token, checked by API Gateway's Cognito "
                    "authorizer: a person's, or a machine client's with the genai/invoke scope (and genai/admin "
                    "for the agent's trace).",
                }
            },
            "schemas": {**registry["schemas"], **events, "Error": ERROR_SCHEMA},
            "responses": {
                code: {
                    "description": description,
                    "content": {"application/json": {"schema": ref("Error")}},
                    **({"headers": dict(headers)} if headers else {}),
                }
                for code, description, headers in ERRORS.values()
            },
        },
    }


def render(routes_path: Path = ROUTES) -> str:
    """The text of docs/openapi.json."""
    registry = json.loads(routes_path.read_text(encoding="utf-8"))
    return json.dumps(build(registry), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None, *, output: Path = OUTPUT, routes_path: Path = ROUTES) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be generated")
    args = parser.parse_args(argv)
    name = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    stale = f"openapi: {name} is out of date with lambda/api/routes.json; run python scripts/openapi.py"
    status = write_or_check(output, render(routes_path), check=args.check, stale=stale)
    if not args.check:
        print(f"openapi: wrote {name}")
    return status


if __name__ == "__main__":
    sys.exit(main())
