"""Generate docs/openapi.json, the OpenAPI 3.0.3 description of the REST API, from lambda/api/schemas.json.

The request schemas are the ones API Gateway validates with and the function checks again, so the document
cannot drift from them: `python scripts/openapi.py` writes the file, `python scripts/openapi.py --check` exits 1
if the committed file is not what this script generates (the tests check that too).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "lambda" / "api" / "schemas.json"
OUTPUT = ROOT / "docs" / "openapi.json"
SECURITY_SCHEME = "CognitoUserPool"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def string(description: str | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def obj(properties: Mapping[str, Any], required: Sequence[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    schema["required"] = list(properties) if required is None else list(required)
    return {**schema, **extra}


SESSION_ID = string("Issued by the API to this caller only: send it back to continue the conversation.")
RESPONSE_SCHEMAS: dict[str, Any] = {
    "HealthResponse": obj({"status": string(enum=["ok"])}),
    "ModelsResponse": obj(
        {"models": {"type": "array", "items": obj({"id": string("Model or inference profile id."), "name": string()})}}
    ),
    "Usage": obj(
        {"inputTokens": {"type": "integer"}, "outputTokens": {"type": "integer"}, "totalTokens": {"type": "integer"}}
    ),
    "Guardrail": obj(
        {
            "action": string("INTERVENED when the guardrail blocked or masked content.", enum=["NONE", "INTERVENED"]),
            "assessments": {
                "type": "array",
                "description": "The guardrail policies that acted, without the matched text.",
                "items": obj(
                    {
                        "stage": string(enum=["input", "output"]),
                        "policy": string("e.g. topicPolicy, contentPolicy, sensitiveInformationPolicy."),
                        "type": string("The topic, filter, entity or pattern."),
                        "action": string("e.g. BLOCKED, ANONYMIZED."),
                    }
                ),
            },
        },
        required=["action"],
    ),
    "ChatResponse": obj(
        {
            "model": string(),
            "answer": string("The model's answer, or the guardrail's message when it intervened."),
            "stopReason": string("Converse's stop reason, e.g. end_turn, max_tokens, guardrail_intervened."),
            "usage": ref("Usage"),
            "latencyMs": {"type": "integer"},
            "guardrail": ref("Guardrail"),
        }
    ),
    "CompareResult": obj(
        {
            "model": string(),
            "answer": string(),
            "stopReason": string(),
            "usage": ref("Usage"),
            "latencyMs": {"type": "integer"},
            "guardrail": ref("Guardrail"),
            "error": obj({"code": string(), "message": string()}),
        },
        required=["model"],
        description="A model's answer, or its error (then only model and error).",
    ),
    "CompareResponse": obj({"results": {"type": "array", "items": ref("CompareResult")}}),
    "RetrieveResponse": obj(
        {
            "results": {
                "type": "array",
                "items": obj(
                    {
                        "text": string(),
                        "score": {"type": "number", "nullable": True},
                        "source": string("The S3 URI of the document, null for other sources.", nullable=True),
                        "metadata": {"type": "object", "description": "The document's metadata attributes."},
                    }
                ),
            }
        }
    ),
    "Citation": obj(
        {
            "text": string("The part of the answer the sources support."),
            "sources": {"type": "array", "items": string("An S3 URI.")},
        }
    ),
    "AskResponse": obj(
        {
            "answer": string(),
            "citations": {"type": "array", "items": ref("Citation")},
            "sessionId": SESSION_ID,
            "guardrail": obj({"action": string(enum=["NONE", "INTERVENED"])}),
        }
    ),
    "AgentCitation": obj({"source": string("The S3 URI of a document the agent's knowledge-base search returned.")}),
    "Confirmation": obj(
        {
            "id": string("Send it back as confirm.id, with the same sessionId; it is valid for this caller only."),
            "tool": string("The tool that would run: create_ticket or close_ticket."),
            "input": {"type": "object", "description": "The exact input the tool would run with."},
        },
        description="A tool call that changes state, which the agent waits on: it runs only when the next request "
        "sends confirm with this id and approve true; approve false declines it.",
    ),
    "AgentResponse": obj(
        {
            "answer": string(
                "The agent's answer, or the guardrail's message when it intervened; it may be empty when the agent "
                "asks to confirm a tool call."
            ),
            "sessionId": SESSION_ID,
            "citations": {"type": "array", "items": ref("AgentCitation")},
            "stopReason": string(
                "How the turn ended, e.g. end_turn, tool_use (with a confirmation), max_tokens; guardrail when the "
                "guardrail blocked the input before the agent saw it."
            ),
            "usage": ref("Usage"),
            "guardrail": ref("Guardrail"),
            "confirmation": ref("Confirmation"),
            "trace": {
                "type": "array",
                "items": string(),
                "description": "One-line summaries of the agent's steps (tool calls and results), when trace was "
                "requested; only callers with the genai/admin scope may request it.",
            },
        },
        required=["answer", "sessionId", "citations", "stopReason", "guardrail"],
    ),
    "Error": obj(
        {
            "error": obj(
                {
                    "code": string("e.g. BadRequest, AccessDenied, Throttled, Timeout, InternalError."),
                    "message": string("One line saying what went wrong and what to do."),
                    "requestId": string("The Lambda request id, for the logs."),
                }
            )
        }
    ),
    "GatewayError": obj(
        {"message": string()}, description="An answer of API Gateway itself (authorizer, request validation)."
    ),
}


def error(description: str, schema: str = "Error", headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": ref(schema)}}}
    if headers:
        response["headers"] = dict(headers)
    return response


ERROR_RESPONSES: dict[str, Any] = {
    "BadRequest": error(
        "The body is not JSON, does not fit the schema, or Bedrock rejected the request; the message names the field. "
        "API Gateway's request validation may answer first, with its own message."
    ),
    "Unauthorized": error("No valid Cognito token: API Gateway's authorizer answers.", "GatewayError"),
    "AccessDenied": error(
        "Bedrock denied access (the message says what to enable or allow), or the request sent a sessionId or a "
        "confirmation issued to another caller (SessionNotYours, ConfirmationNotYours), or asked for the agent's "
        "trace without the genai/admin scope (TraceNotAllowed)."
    ),
    "NotFound": error("Bedrock could not find the model, knowledge base, agent or session."),
    "Conflict": error("Bedrock reported a conflict, e.g. the agent's session is busy with another request."),
    "Throttled": error(
        "Bedrock is throttling; retry after the delay.",
        headers={"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    ),
    "InternalError": error("The function failed or is misconfigured; quote the requestId."),
    "Timeout": error("Bedrock did not answer in time; the message says how to raise the limit."),
}
POST_ERRORS = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "AccessDenied",
    "404": "NotFound",
    "429": "Throttled",
    "500": "InternalError",
    "504": "Timeout",
}
POST_ROUTES = {
    "chat": ("ChatResponse", "Chat with one model", "A conversation with an allow-listed model through Converse."),
    "compare": ("CompareResponse", "Compare models", "The same prompt to two to four models, in parallel."),
    "retrieve": ("RetrieveResponse", "Search the knowledge base", "The passages most relevant to a query."),
    "ask": ("AskResponse", "Ask the knowledge base", "A generated answer with citations (RetrieveAndGenerate)."),
    "agent": (
        "AgentResponse",
        "Talk to the agent",
        "A turn with the agent (an Amazon Bedrock AgentCore harness), or the user's decision on the tool call it "
        "asked to confirm.",
    ),
}


def operation(
    operation_id: str, summary: str, response: str, errors: Mapping[str, str], *, secured: bool = True
) -> dict[str, Any]:
    result: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    result["security"] = [{SECURITY_SCHEME: []}] if secured else []
    result["responses"] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": ref(response)}}},
        **{status: {"$ref": f"#/components/responses/{name}"} for status, name in errors.items()},
    }
    return result


def build(schemas: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI document, with the request schemas of `schemas` (schemas.json) as they are."""
    paths: dict[str, Any] = {
        "/health": {
            "get": operation("health", "Health check", "HealthResponse", {"500": "InternalError"}, secured=False)
        },
        "/models": {
            "get": operation(
                "listModels",
                "The allow-listed models",
                "ModelsResponse",
                {"401": "Unauthorized", "500": "InternalError"},
            )
        },
    }
    request_schemas: dict[str, Any] = {}
    for route, schema in schemas.items():
        response, summary, description = POST_ROUTES[route]
        name = schema["title"]
        request_schemas[name] = schema
        errors = {**POST_ERRORS, "409": "Conflict"} if route == "agent" else POST_ERRORS
        post = operation(f"{route}", summary, response, dict(sorted(errors.items())))
        post["description"] = description
        post["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(name)}}}
        paths[f"/{route}"] = {"post": post}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Bedrock GenAI API",
            "version": "1.0.0",
            "description": "Chat, model comparison, knowledge-base search and answers, and the agent, on Amazon "
            "Bedrock behind a guardrail. Generated by scripts/openapi.py from lambda/api/schemas.json.",
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
            "schemas": {**request_schemas, **RESPONSE_SCHEMAS},
            "responses": ERROR_RESPONSES,
        },
    }


def render(schemas_path: Path = SCHEMAS) -> str:
    """The text of docs/openapi.json."""
    schemas = json.loads(schemas_path.read_text(encoding="utf-8"))
    return json.dumps(build(schemas), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None, *, output: Path = OUTPUT, schemas_path: Path = SCHEMAS) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be generated")
    args = parser.parse_args(argv)
    text = render(schemas_path)
    name = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != text:
            print(
                f"openapi: {name} is out of date with lambda/api/schemas.json; run python scripts/openapi.py",
                file=sys.stderr,
            )
            return 1
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"openapi: wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
