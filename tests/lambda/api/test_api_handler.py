"""The entry point: configuration, routing, malformed events, CORS, error envelopes, logs and metrics."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from .api_fakes import (
    HAIKU,
    MODELS,
    ORIGIN,
    REQUEST_ID,
    SONNET,
    FakeContext,
    body_of,
    emitted,
    error_of,
    header,
    rest_event,
)

Call = Callable[[dict[str, Any]], dict[str, Any]]
ROUTES = [
    ("GET", "/health"),
    ("GET", "/models"),
    ("POST", "/chat"),
    ("POST", "/compare"),
    ("POST", "/retrieve"),
    ("POST", "/ask"),
    ("POST", "/agent"),
]
HELLO = {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}]}


def test_health_answers_without_bedrock(call: Call) -> None:
    response = call(rest_event("GET", "/health"))

    assert response["statusCode"] == 200
    assert body_of(response) == {"status": "ok"}
    assert header(response, "Content-Type") == "application/json"


def test_health_answers_without_headers_or_request_context(call: Call) -> None:
    response = call({"httpMethod": "GET", "path": "/health"})

    assert (response["statusCode"], body_of(response)) == (200, {"status": "ok"})


def test_models_lists_the_allow_list(call: Call) -> None:
    response = call(rest_event("GET", "/models"))

    assert response["statusCode"] == 200
    assert body_of(response) == {"models": MODELS}


def test_the_clients_are_configured_and_created_on_first_use(load_handler: Callable[[], ModuleType]) -> None:
    module = load_handler()

    for lazy, service in (
        (module.bedrock_runtime, "bedrock-runtime"),
        (module.bedrock_agent_runtime, "bedrock-agent-runtime"),
        (module.agentcore, "bedrock-agentcore"),
    ):
        assert lazy._object is None
        config = lazy.meta.config
        assert lazy.meta.service_model.service_name == service
        assert lazy.target is lazy.target
        assert config.retries == {"mode": "standard", "total_max_attempts": 1}
        assert (config.connect_timeout, config.read_timeout) == (5, 22)


@pytest.mark.parametrize(
    ("variable", "event", "message"),
    [
        ("MODELS", rest_event("GET", "/models"), "MODELS is not set"),
        ("MODELS", rest_event("POST", "/chat", HELLO), "MODELS is not set"),
        ("GUARDRAIL_ID", rest_event("POST", "/chat", HELLO), "GUARDRAIL_ID is not set"),
        ("GUARDRAIL_VERSION", rest_event("POST", "/compare", {"models": [HAIKU, SONNET], "prompt": "Hi"}), "VERSION"),
        ("KNOWLEDGE_BASE_ID", rest_event("POST", "/retrieve", {"query": "sync"}), "KNOWLEDGE_BASE_ID is not set"),
        ("GENERATION_MODEL_ARN", rest_event("POST", "/ask", {"question": "How?"}), "GENERATION_MODEL_ARN is not set"),
        ("HARNESS_ARN", rest_event("POST", "/agent", {"input": "Hi"}), "HARNESS_ARN is not set"),
    ],
)
def test_a_missing_setting_fails_only_the_routes_that_need_it(
    load_handler: Callable[[], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    event: dict[str, Any],
    message: str,
) -> None:
    monkeypatch.delenv(variable)
    module = load_handler()

    response = module.handler(event, FakeContext())
    health = module.handler(rest_event("GET", "/health"), FakeContext())

    assert response["statusCode"] == 500
    error = error_of(response)
    assert error["code"] == "Misconfigured"
    assert message in error["message"]
    assert health["statusCode"] == 200


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "MODELS is not JSON"),
        ("[]", 'MODELS is not a non-empty JSON list of {"id", "name"} objects'),
        ('[{"id": "a"}]', 'MODELS[0] is not an object with a non-empty "id" and "name"'),
        ('[{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]', "MODELS lists a twice"),
    ],
)
def test_invalid_models_are_misconfigured(
    load_handler: Callable[[], ModuleType], monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("MODELS", value)
    module = load_handler()

    response = module.handler(rest_event("GET", "/models"), FakeContext())

    assert response["statusCode"] == 500
    assert error_of(response) == {
        "code": "Misconfigured",
        "message": f"The function is misconfigured: {message}.",
        "requestId": REQUEST_ID,
    }


@pytest.mark.parametrize("version", ["DRAFT", "0", "1.0", "v2"])
def test_the_guardrail_version_must_be_published(
    load_handler: Callable[[], ModuleType], monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setenv("GUARDRAIL_VERSION", version)
    module = load_handler()
    event = rest_event("POST", "/chat", {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}]})

    error = error_of(module.handler(event, FakeContext()))

    assert error["code"] == "Misconfigured"
    assert "is not a published version number" in error["message"]


def test_an_unknown_route_is_not_found(call: Call) -> None:
    response = call(rest_event("GET", "/nothing-here"))

    assert response["statusCode"] == 404
    error = error_of(response)
    assert error["code"] == "NotFound"
    assert error["message"].startswith("There is no route at /nothing-here; the routes are GET /health, GET /models")


WRONG_METHODS = [
    (method, path, own) for own, path in ROUTES for method in ("GET", "POST", "PUT", "DELETE") if method != own
]


@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS)
def test_a_wrong_method_is_not_allowed(call: Call, method: str, path: str, allowed: str) -> None:
    response = call(rest_event(method, path, raw_body="{}"))

    assert response["statusCode"] == 405
    assert error_of(response)["code"] == "MethodNotAllowed"
    assert header(response, "Allow") == allowed


def test_a_trailing_slash_reaches_the_route(call: Call) -> None:
    assert call(rest_event("GET", "/health/"))["statusCode"] == 200


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "The request is not an API Gateway proxy event."),
        ("GET /health", "The request is not an API Gateway proxy event."),
        ({}, "The request has no HTTP method."),
        ({"httpMethod": "GET"}, "The request has no path."),
        ({"httpMethod": "GET", "path": "health"}, "The request has no path."),
        ({"httpMethod": "GET", "path": "/health", "headers": ["Origin"]}, "The request headers are malformed."),
        ({"httpMethod": "GET", "path": "/health", "headers": {"X": 1}}, "The request headers are malformed."),
        ({"httpMethod": "POST", "path": "/chat", "body": {"model": "x"}}, "The request body is malformed."),
        ({"httpMethod": "GET", "path": "/health", "isBase64Encoded": "yes"}, "flag is malformed."),
        ({"httpMethod": "GET", "path": "/health", "requestContext": "ctx"}, "The request context is malformed."),
    ],
)
def test_a_malformed_event_is_a_bad_request(call: Call, event: Any, message: str) -> None:
    response = call(event)

    assert response["statusCode"] == 400
    error = error_of(response)
    assert error["code"] == "BadRequest"
    assert error["message"].endswith(message)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (rest_event("POST", "/chat"), "body: is required; send a JSON object."),
        (rest_event("POST", "/chat", raw_body=""), "body: is required; send a JSON object."),
        (rest_event("POST", "/chat", raw_body="{not json"), "body: is not valid JSON."),
        (rest_event("POST", "/chat", raw_body='{"maxTokens": NaN}'), "body: is not valid JSON."),
        (rest_event("POST", "/chat", raw_body="[" * 100_000), "body: is not valid JSON."),
        (rest_event("POST", "/chat", raw_body='["a list"]'), "body: must be a JSON object."),
        (rest_event("POST", "/chat", raw_body="%%%", base64_encoded=True), "body: is not base64-encoded UTF-8 text."),
        (
            rest_event("POST", "/chat", raw_body=base64.b64encode(b"\xff\xfe").decode(), base64_encoded=True),
            "body: is not base64-encoded UTF-8 text.",
        ),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_bad_request(call: Call, event: dict[str, Any], message: str) -> None:
    response = call(event)

    assert response["statusCode"] == 400
    assert error_of(response) == {"code": "BadRequest", "message": message, "requestId": REQUEST_ID}


def test_a_base64_body_is_decoded(call: Call) -> None:
    raw = base64.b64encode(json.dumps({"model": "unknown", "messages": []}).encode()).decode()

    response = call(rest_event("POST", "/chat", raw_body=raw, base64_encoded=True))

    assert error_of(response)["message"] == "messages: must have at least 1 item(s)"


@pytest.mark.parametrize(
    ("origin", "allowed"), [(ORIGIN, True), ("http://localhost:5173", True), ("https://evil.example", False)]
)
def test_cors_allows_only_the_listed_origins(call: Call, origin: str, allowed: bool) -> None:
    response = call(rest_event("GET", "/health", headers={"origin": origin}))

    assert header(response, "Access-Control-Allow-Origin") == (origin if allowed else None)
    assert header(response, "Vary") == ("Origin" if allowed else None)


def test_cors_applies_to_errors_too(call: Call) -> None:
    response = call(rest_event("POST", "/chat", raw_body="nope", headers={"Origin": ORIGIN}))

    assert response["statusCode"] == 400
    assert header(response, "Access-Control-Allow-Origin") == ORIGIN


def test_without_cors_origins_no_origin_is_allowed(
    load_handler: Callable[[], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORS_ORIGINS")
    module = load_handler()

    response = module.handler(rest_event("GET", "/health", headers={"Origin": ORIGIN}), FakeContext())

    assert header(response, "Access-Control-Allow-Origin") is None


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("secret detail in /var/task/api/chat.py")


def test_an_unexpected_error_is_a_500_without_details(
    api: ModuleType, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged: list[tuple[str, Any]] = []
    monkeypatch.setattr(api.chat, "chat", boom)
    monkeypatch.setattr(api.logger, "error", lambda message, **kwargs: logged.append((message, kwargs["exc_info"])))
    event = rest_event("POST", "/chat", {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}]})

    response = call(event)

    assert response["statusCode"] == 500
    assert error_of(response) == {
        "code": "InternalError",
        "message": f"The request failed unexpectedly; quote request id {REQUEST_ID}.",
        "requestId": REQUEST_ID,
    }
    assert "secret" not in response["body"]
    assert [(message, type(info[1])) for message, info in logged] == [("Request failed unexpectedly", RuntimeError)]


def test_an_error_outside_the_routes_is_a_500_too(api: ModuleType, call: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.app, "resolve", boom)
    logged: list[str] = []
    monkeypatch.setattr(api.logger, "exception", logged.append)

    response = call(rest_event("GET", "/health"))

    assert response["statusCode"] == 500
    assert error_of(response)["code"] == "InternalError"
    assert logged == ["Request failed outside the routes"]


def test_every_request_counts_once_under_its_route(call: Call, capsys: pytest.CaptureFixture[str]) -> None:
    call(rest_event("GET", "/health"))
    call(rest_event("GET", "/models"))
    call(rest_event("PATCH", "/nowhere"))
    call({"httpMethod": "GET"})

    assert emitted(capsys.readouterr().out) == [
        {"route": "health", "metrics": {"Requests": [1.0]}},
        {"route": "models", "metrics": {"Requests": [1.0]}},
        {"route": "unmatched", "metrics": {"Requests": [1.0]}},
        {"route": "unmatched", "metrics": {"Requests": [1.0]}},
    ]


def test_logs_carry_the_api_gateway_request_id(api: ModuleType, call: Call) -> None:
    call(rest_event("GET", "/health"))

    assert api.logger.get_correlation_id() == "5c1c2a6e-1111-4ae6-9c5b-0123456789ab"
