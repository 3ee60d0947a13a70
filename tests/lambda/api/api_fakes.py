"""Builders of API Gateway events and Bedrock responses, and the fakes shared by the API function's tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from api.identity import Caller, caller_of
from api.registry import REGISTRY
from api.sessions import SessionBinder
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from common.schema import validate
from tests.aws import LambdaContext, offline_client

REGION = "us-east-1"
REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
API_REQUEST_ID = "5c1c2a6e-1111-4ae6-9c5b-0123456789ab"
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-lite-v1:0"
MODELS = [
    {"id": HAIKU, "name": "Claude Haiku 4.5"},
    {"id": SONNET, "name": "Claude Sonnet 4.5"},
    {"id": NOVA, "name": "Amazon Nova Lite"},
]
# The application inference profile the function calls each model through (MODELS' "arn", never shown to callers).
PROFILE_ARNS = {
    model["id"]: f"arn:aws:bedrock:{REGION}:123456789012:application-inference-profile/{suffix}"
    for model, suffix in zip(MODELS, ("h4iku0profil", "s0nnet0profl", "n0va0profile"), strict=True)
}
GENERATION_MODEL_ARN = PROFILE_ARNS[HAIKU]
GUARDRAIL_ID = "gr1234abcd"
GUARDRAIL_VERSION = "3"
KB_ID = "KBID000001"
HARNESS_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:harness/BedrockGenAi_agent-a1b2c3d4e5"
HARNESS_ENDPOINT = "live"
TICKETS_TABLE = "tickets-test"
USAGE_TABLE = "usage-test"
SYSTEM_PROMPT = "You are the test deployment's assistant. Answer briefly."
BLOCKED_OUTPUT_MESSAGE = "Sorry, the guardrail withheld that answer."
MAX_TOKENS = 1024
MAX_TOKENS_CEILING = 4096
MAX_REQUEST_CHARACTERS = 24_000
CALLER_CALLS_PER_MINUTE = 20
SESSION_KEY = "k" * 64
# Bedrock's own RetrieveAndGenerate session id, which callers only ever see bound to themselves.
BEDROCK_SESSION_ID = "0b6bd7c2-5d4f-4b8e-9d7a-1f2e3d4c5b6a"
# The verified claims of a person's access token (SRP) and of a machine's (client credentials).
PERSON = {
    "sub": "6f1c2b8e-9d3a-4e5f-8a7b-0c1d2e3f4a5b",
    "client_id": "people0client0id00000000",
    "scope": "aws.cognito.signin.user.admin",
    "username": "ana",
    "token_use": "access",
}
OTHER_PERSON = {**PERSON, "sub": "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d", "username": "ben"}
MACHINE = {
    "sub": "machine0client0id0000000",
    "client_id": "machine0client0id0000000",
    "scope": "genai/invoke",
    "token_use": "access",
}
ADMIN = {**MACHINE, "scope": "genai/invoke genai/admin"}
ORIGIN = "https://app.example.com"
ENVIRONMENT = {
    "MODELS": json.dumps([{**model, "arn": PROFILE_ARNS[model["id"]]} for model in MODELS]),
    "GENERATION_MODEL_ARN": GENERATION_MODEL_ARN,
    "GUARDRAIL_ID": GUARDRAIL_ID,
    "GUARDRAIL_VERSION": GUARDRAIL_VERSION,
    "KNOWLEDGE_BASE_ID": KB_ID,
    "HARNESS_ARN": HARNESS_ARN,
    "HARNESS_ENDPOINT": HARNESS_ENDPOINT,
    "TICKETS_TABLE": TICKETS_TABLE,
    "USAGE_TABLE": USAGE_TABLE,
    "SESSION_KEY": SESSION_KEY,
    "SYSTEM_PROMPT": SYSTEM_PROMPT,
    "BLOCKED_OUTPUT_MESSAGE": BLOCKED_OUTPUT_MESSAGE,
    "MAX_TOKENS": str(MAX_TOKENS),
    "MAX_TOKENS_CEILING": str(MAX_TOKENS_CEILING),
    "MAX_REQUEST_CHARACTERS": str(MAX_REQUEST_CHARACTERS),
    "CALLER_CALLS_PER_MINUTE": str(CALLER_CALLS_PER_MINUTE),
    "CORS_ORIGINS": f"{ORIGIN}, http://localhost:5173",
    "POWERTOOLS_SERVICE_NAME": "genai-api",
    "POWERTOOLS_METRICS_NAMESPACE": "BedrockGenAiTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# ApplyGuardrail's usage: the text units each policy was billed for.
GUARDRAIL_USAGE = dict.fromkeys(
    (
        "topicPolicyUnits",
        "contentPolicyUnits",
        "wordPolicyUnits",
        "sensitiveInformationPolicyUnits",
        "sensitiveInformationPolicyFreeUnits",
        "contextualGroundingPolicyUnits",
    ),
    1,
)
GUARDRAIL_CONFIG = {"guardrailIdentifier": GUARDRAIL_ID, "guardrailVersion": GUARDRAIL_VERSION, "trace": "enabled"}
# Every ClientError code the API maps to a status of its own, with that status.
MAPPED_ERRORS = {
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "TooManyRequestsException": 429,
    "ModelNotReadyException": 429,
    "ModelTimeoutException": 504,
}


@dataclass(frozen=True)
class FakeContext(LambdaContext):
    """The API function's Lambda context."""

    function_name: str = "genai-api"
    aws_request_id: str = REQUEST_ID


def caller(claims: Mapping[str, str] = PERSON) -> Caller:
    """The caller the function derives from these claims."""
    return caller_of({"requestContext": {"authorizer": {"claims": dict(claims)}}})


def bound(purpose: str, value: str, claims: Mapping[str, str] = PERSON) -> str:
    """The session id the function issues to this caller for `value` (the /ask or /agent purpose)."""
    return SessionBinder(SESSION_KEY.encode()).bind(purpose, caller(claims), value)


def rest_event(
    method: str,
    path: str,
    body: object = None,
    *,
    headers: Mapping[str, str] | None = None,
    raw_body: str | None = None,
    base64_encoded: bool = False,
    claims: Mapping[str, str] | None = PERSON,
) -> dict[str, Any]:
    """A full API Gateway REST proxy event (v1) as a Cognito-authorized stage sends it."""
    all_headers = {
        "Accept": "application/json",
        "Authorization": "eyJraWQiOiJ0ZXN0In0.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl",
        "Content-Type": "application/json",
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abcdef",
            "resourcePath": path,
            "httpMethod": method,
            "extendedRequestId": "Ab1CdEfGhIjKlM=",
            "requestTime": "01/Jan/2026:12:00:00 +0000",
            "path": f"/prod{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1767268800000,
            "requestId": API_REQUEST_ID,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            **({"authorizer": {"claims": dict(claims)}} if claims is not None else {}),
            "apiId": "abc123",
        },
        "body": text,
        "isBase64Encoded": base64_encoded,
    }


def posted(path: str, body: Any, claims: Mapping[str, str] | None = PERSON, **kwargs: Any) -> dict[str, Any]:
    """A POST that API Gateway's validator lets through (common.schema stands in for it)."""
    route = next(route for route in REGISTRY.routes if route.path == path)
    schema = REGISTRY.request_schema(route)
    assert schema is not None
    validate(schema, body)
    return rest_event("POST", path, body, claims=claims, **kwargs)


def calls_by_caller(usage_table: Any) -> dict[str, int]:
    """The model calls the usage table counts against each caller, all minutes together."""
    counted: dict[str, int] = {}
    for item in usage_table.scan(ConsistentRead=True)["Items"]:
        caller_id = str(item["caller_window"]).rpartition("#")[0]
        counted[caller_id] = counted.get(caller_id, 0) + int(item["calls"])
    return counted


def calls_counted(usage_table: Any) -> int:
    """The model calls the usage table counts, for every caller and minute."""
    return sum(calls_by_caller(usage_table).values())


def recorded_operations(client: Any) -> list[str]:
    """The operations a client is asked to make from now on, recorded before its parameters are even built."""
    calls: list[str] = []
    client.meta.events.register("before-parameter-build", lambda model, **_: calls.append(model.name))
    return calls


def header(response: Mapping[str, Any], name: str) -> str | None:
    """A response header (REST proxy responses carry them as multiValueHeaders)."""
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return ", ".join(values)
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def body_of(response: Mapping[str, Any]) -> Any:
    return json.loads(response["body"])


def error_of(response: Mapping[str, Any]) -> dict[str, Any]:
    """The error envelope of a response, checked to carry the request id."""
    error: dict[str, Any] = body_of(response)["error"]
    assert set(error) == {"code", "message", "requestId"}
    assert error["requestId"] == REQUEST_ID
    assert "\n" not in error["message"]
    return error


def converse_params(
    model: str, messages: Iterable[tuple[str, str]], *, stream: bool = False, **extra: Any
) -> dict[str, Any]:
    """The exact Converse(Stream) request the function sends for `model`: through its profile, the system prompt."""
    guardrail = {**GUARDRAIL_CONFIG, "streamProcessingMode": "sync"} if stream else GUARDRAIL_CONFIG
    return {
        "modelId": PROFILE_ARNS[model],
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": role, "content": [{"text": text}]} for role, text in messages],
        "inferenceConfig": {"maxTokens": MAX_TOKENS},
        "guardrailConfig": guardrail,
        **extra,
    }


def converse_response(
    text: str = "Hello!", stop_reason: str = "end_turn", trace: Mapping[str, Any] | None = None, latency: int = 420
) -> dict[str, Any]:
    """A Converse response."""
    response: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17},
        "metrics": {"latencyMs": latency},
    }
    if trace is not None:
        response["trace"] = trace
    return response


def blocked_trace() -> dict[str, Any]:
    """The guardrail trace of a blocked input: a denied topic and PII; the matched text must not be echoed."""
    assessment = {
        "topicPolicy": {"topics": [{"name": "Investment advice", "type": "DENY", "action": "BLOCKED"}]},
        "sensitiveInformationPolicy": {
            "piiEntities": [{"match": "4111111111111111", "type": "CREDIT_DEBIT_CARD_NUMBER", "action": "BLOCKED"}],
            "regexes": [],
        },
        "contentPolicy": {"filters": [{"type": "VIOLENCE", "confidence": "NONE", "action": "NONE"}]},
    }
    return {"guardrail": {"inputAssessment": {GUARDRAIL_ID: assessment}, "outputAssessments": {}}}


def ask_params(question: str, top_k: int = 5, max_tokens: int = MAX_TOKENS, **extra: Any) -> dict[str, Any]:
    """The exact RetrieveAndGenerate(Stream) request the function sends."""
    return {
        "input": {"text": question},
        "retrieveAndGenerateConfiguration": {
            "type": "KNOWLEDGE_BASE",
            "knowledgeBaseConfiguration": {
                "knowledgeBaseId": KB_ID,
                "modelArn": GENERATION_MODEL_ARN,
                "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": top_k}},
                "generationConfiguration": {
                    "guardrailConfiguration": {"guardrailId": GUARDRAIL_ID, "guardrailVersion": GUARDRAIL_VERSION},
                    "inferenceConfig": {"textInferenceConfig": {"maxTokens": max_tokens}},
                },
            },
        },
        **extra,
    }


def reference(uri: str, text: str = "A passage.") -> dict[str, Any]:
    return {"content": {"text": text}, "location": {"type": "S3", "s3Location": {"uri": uri}}}


def ask_response(action: str = "NONE", session_id: str = BEDROCK_SESSION_ID) -> dict[str, Any]:
    """A RetrieveAndGenerate response with two citations, one source cited twice."""
    first = "s3://documents/documents/sync.md"
    second = "s3://documents/documents/faq.md"
    return {
        "output": {"text": "Upload the file under documents/; it syncs within a minute."},
        "citations": [
            {
                "generatedResponsePart": {"textResponsePart": {"text": "Upload the file under documents/"}},
                "retrievedReferences": [reference(first), reference(first), reference(second)],
            },
            {"generatedResponsePart": {"textResponsePart": {"text": "it syncs within a minute"}}},
        ],
        "guardrailAction": action,
        "sessionId": session_id,
    }


def retrieve_params(query: str, top_k: int = 5, search: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "knowledgeBaseId": KB_ID,
        "retrievalQuery": {"text": query},
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": top_k, **(search or {})}},
    }


def retrieve_response() -> dict[str, Any]:
    """A Retrieve response: an S3 passage with metadata, and a web passage without an S3 URI."""
    return {
        "retrievalResults": [
            {
                "content": {"text": "Documents sync within a minute."},
                "location": {"type": "S3", "s3Location": {"uri": "s3://documents/documents/sync.md"}},
                "score": 0.87,
                "metadata": {"category": "faq", "x-amz-bedrock-kb-chunk-id": "chunk-1"},
            },
            {
                "content": {"text": "A web page."},
                "location": {"type": "WEB", "webLocation": {"url": "https://example.com/page"}},
                "score": 0.42,
            },
        ]
    }


def client_error(code: str, message: str = "Bedrock said no.", operation: str = "Converse") -> ClientError:
    status = MAPPED_ERRORS.get(code, 500)
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


_SERVICE_MODELS: dict[str, Any] = {}


def check_params(service: str, operation: str, params: Mapping[str, Any]) -> None:
    """Fail like botocore would on a request that does not fit the real service model."""
    if service not in _SERVICE_MODELS:
        _SERVICE_MODELS[service] = botocore.session.get_session().get_service_model(service)
    shape = _SERVICE_MODELS[service].operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise AssertionError(report.generate_report())


@dataclass
class ParallelRuntime:
    """bedrock-runtime whose converse calls all wait for each other: it only answers calls made in parallel."""

    parties: int
    barrier: threading.Barrier = field(init=False)
    threads: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.barrier = threading.Barrier(self.parties, timeout=5)

    def converse(self, **request: Any) -> dict[str, Any]:
        self.barrier.wait()
        self.threads.add(threading.current_thread().name)
        model = next(model for model, arn in PROFILE_ARNS.items() if arn == request["modelId"])
        return converse_response(f"answer of {model}")


def raise_on_call(service: str, operation: str, error: BaseException) -> Any:
    """A real client whose `operation` validates its parameters, then raises `error` instead of sending."""
    client = offline_client(service)

    def fail(**kwargs: Any) -> None:
        raise error

    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}", fail)
    return client


def emitted(output: str) -> list[dict[str, Any]]:
    """The EMF metrics the function printed: one entry per invocation, with its route dimension."""
    blobs = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [
        {
            "route": blob.get("route"),
            "metrics": {m["Name"]: blob[m["Name"]] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]},
        }
        for blob in blobs
    ]
