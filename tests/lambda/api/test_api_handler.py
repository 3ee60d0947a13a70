"""The entry point: routing, identity, settings, cost bounds, CORS, error envelopes, logs and metrics."""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from api.config import from_environ
from api.limits import Limiter
from api.services import Services
from botocore.stub import Stubber

from .api_fakes import (
    API_REQUEST_ID,
    ENVIRONMENT,
    HAIKU,
    MACHINE,
    MODELS,
    NOVA,
    ORIGIN,
    OTHER_PERSON,
    PERSON,
    REQUEST_ID,
    SONNET,
    USAGE_TABLE,
    FakeContext,
    body_of,
    caller,
    calls_counted,
    converse_response,
    emitted,
    error_of,
    header,
    posted,
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
COMPARE = {"models": [HAIKU, SONNET, NOVA], "prompt": "Hi"}
# A body of every route that takes one, as API Gateway lets it through.
BODIES: dict[str, dict[str, Any]] = {
    "/chat": HELLO,
    "/compare": COMPARE,
    "/retrieve": {"query": "sync"},
    "/ask": {"question": "How?"},
    "/agent": {"input": "Hi"},
}
# 2027-01-15T08:00:30Z: thirty seconds before the next minute's budget.
NOW = 1_800_000_030.0


class Logs:
    """The JSON lines the function's logger writes, read request by request."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self._read = 0

    def lines(self) -> list[dict[str, Any]]:
        """The lines written since the last read."""
        text = self.stream.getvalue()[self._read :]
        self._read += len(text)
        return [json.loads(line) for line in text.splitlines()]

    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def logs(api: ModuleType) -> Iterator[Logs]:
    """What api.handler's Powertools logger writes during the test."""
    captured = Logs()
    handler = api.logger.logger_handler
    previous = handler.setStream(captured.stream)
    yield captured
    handler.setStream(previous)


def test_health_answers_without_a_caller_or_bedrock(call: Call) -> None:
    response = call(rest_event("GET", "/health", claims=None))

    assert response["statusCode"] == 200
    assert body_of(response) == {"status": "ok"}
    assert header(response, "Content-Type") == "application/json"


def test_models_lists_the_allow_list_and_the_token_bounds(call: Call) -> None:
    response = call(rest_event("GET", "/models"))

    assert response["statusCode"] == 200
    assert body_of(response) == {"models": MODELS, "maxTokens": {"default": 1024, "ceiling": 4096}}


def test_the_clients_are_configured_and_created_on_first_use(load_handler: Callable[[], ModuleType]) -> None:
    services = load_handler().services

    for lazy, service in (
        (services.runtime, "bedrock-runtime"),
        (services.agent_runtime, "bedrock-agent-runtime"),
        (services.agentcore, "bedrock-agentcore"),
    ):
        assert lazy._object is None
        config = lazy.meta.config
        assert lazy.meta.service_model.service_name == service
        assert lazy.target is lazy.target
        assert config.retries == {"mode": "standard", "total_max_attempts": 1}
        assert (config.connect_timeout, config.read_timeout) == (5, 22)
    table = services.limiter._table
    assert table._object is None
    assert table.name == USAGE_TABLE
    assert table.meta.client.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}


@pytest.mark.parametrize(
    "event",
    [rest_event("GET", "/models", claims=None)] + [posted(path, body, claims=None) for path, body in BODIES.items()],
    ids=["/models", *BODIES],
)
def test_a_protected_route_without_claims_is_unauthorized(call: Call, usage_table: Any, event: dict[str, Any]) -> None:
    response = call(event)

    assert response["statusCode"] == 401
    assert error_of(response)["code"] == "Unauthorized"
    assert calls_counted(usage_table) == 0


def test_a_missing_setting_read_from_the_environment_is_misconfigured(
    load_handler: Callable[[], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELS")
    module = load_handler()

    response = module.handler(rest_event("GET", "/models"), FakeContext())
    health = module.handler(rest_event("GET", "/health"), FakeContext())

    assert (response["statusCode"], error_of(response)["code"]) == (500, "Misconfigured")
    assert "MODELS" not in response["body"]
    assert health["statusCode"] == 200


@pytest.mark.parametrize(
    ("changed", "event", "detail"),
    [
        ({"MODELS": ""}, rest_event("GET", "/models"), "MODELS is not set"),
        ({"MODELS": ""}, posted("/chat", HELLO), "MODELS is not set"),
        ({"GUARDRAIL_ID": ""}, posted("/chat", HELLO), "GUARDRAIL_ID is not set"),
        ({"GUARDRAIL_VERSION": ""}, posted("/compare", COMPARE), "GUARDRAIL_VERSION is not set"),
        ({"SYSTEM_PROMPT": ""}, posted("/chat", HELLO), "SYSTEM_PROMPT is not set"),
        ({"USAGE_TABLE": ""}, posted("/chat", HELLO), "USAGE_TABLE is not set"),
        ({"MODELS": "not json"}, rest_event("GET", "/models"), "MODELS is not JSON"),
        ({"MODELS": '[{"id": "a"}]'}, posted("/chat", HELLO), 'MODELS[0] is not an object with a non-empty "id"'),
        ({"GUARDRAIL_VERSION": "DRAFT"}, posted("/chat", HELLO), "'DRAFT' is not a published version number"),
        ({"MAX_TOKENS": "lots"}, rest_event("GET", "/models"), "MAX_TOKENS='lots' is not a positive whole number"),
        ({"MAX_TOKENS_CEILING": "0"}, posted("/chat", HELLO), "MAX_TOKENS_CEILING='0' is not a positive whole"),
        ({"MAX_REQUEST_CHARACTERS": "-1"}, posted("/chat", HELLO), "MAX_REQUEST_CHARACTERS='-1' is not a positive"),
        ({"CALLER_CALLS_PER_MINUTE": "1.5"}, posted("/compare", COMPARE), "CALLER_CALLS_PER_MINUTE='1.5' is not"),
    ],
)
def test_a_missing_or_invalid_setting_is_misconfigured_without_naming_it(
    *, call: Call, services: Services, logs: Logs, changed: dict[str, str], event: dict[str, Any], detail: str
) -> None:
    services.settings = from_environ({**ENVIRONMENT, **changed})

    response = call(event)
    health = call(rest_event("GET", "/health"))

    assert response["statusCode"] == 500
    assert error_of(response) == {
        "code": "Misconfigured",
        "message": "The API is misconfigured; the operators have the details.",
        "requestId": REQUEST_ID,
    }
    (name,) = changed
    assert name not in response["body"]
    assert health["statusCode"] == 200
    refused = [line for line in logs.lines() if line["message"] == "Request failed"]
    assert [line["code"] for line in refused] == ["Misconfigured"]
    assert detail in refused[0]["detail"]


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


def test_a_request_above_the_character_limit_is_too_large(call: Call, usage_table: Any) -> None:
    roles = ["user", "assistant", "user", "assistant", "user"]
    body = {"model": HAIKU, "messages": [{"role": role, "content": "x" * 8000} for role in roles]}

    response = call(posted("/chat", body))

    assert response["statusCode"] == 413
    error = error_of(response)
    assert error["code"] == "TooLarge"
    assert "the limit is 24000" in error["message"]
    assert calls_counted(usage_table) == 0


def test_a_spent_budget_is_rate_limited_per_caller(
    call: Call, services: Services, runtime_stub: Stubber, usage_table: Any
) -> None:
    services.limiter = Limiter(usage_table, 4, clock=lambda: NOW)
    for _ in range(1 + 3 + 1 + 3):
        runtime_stub.add_response("converse", converse_response())

    first = [call(posted("/chat", HELLO)), call(posted("/compare", COMPARE))]
    refused = [call(posted("/chat", HELLO)), call(posted("/compare", {**COMPARE, "models": [HAIKU, SONNET]}))]
    others = [call(posted("/chat", HELLO, claims=OTHER_PERSON)), call(posted("/compare", COMPARE, claims=MACHINE))]

    assert [response["statusCode"] for response in first + refused + others] == [200, 200, 429, 429, 200, 200]
    for response in refused:
        assert error_of(response)["code"] == "RateLimited"
        assert header(response, "Retry-After") == "30"
    assert calls_counted(usage_table) == 4 + 1 + 3


def test_a_compare_bigger_than_the_budget_left_calls_no_model(
    call: Call, services: Services, runtime_stub: Stubber, usage_table: Any
) -> None:
    services.limiter = Limiter(usage_table, 3, clock=lambda: NOW)
    runtime_stub.add_response("converse", converse_response())
    assert call(posted("/chat", HELLO))["statusCode"] == 200

    response = call(posted("/compare", COMPARE))

    assert (response["statusCode"], error_of(response)["code"]) == (429, "RateLimited")
    assert calls_counted(usage_table) == 1


@pytest.mark.parametrize(
    ("origin", "allowed"), [(ORIGIN, True), ("http://localhost:5173", True), ("https://evil.example", False)]
)
def test_cors_echoes_only_the_listed_origins(call: Call, origin: str, allowed: bool) -> None:
    response = call(rest_event("GET", "/health", headers={"origin": origin}))

    assert header(response, "Access-Control-Allow-Origin") == (origin if allowed else None)


def test_cors_applies_to_errors_too(call: Call) -> None:
    response = call(posted("/chat", {**HELLO, "model": "unknown"}, headers={"Origin": ORIGIN}))
    missing = call(rest_event("GET", "/nothing-here", headers={"Origin": ORIGIN}))

    assert response["statusCode"] == 400
    assert header(response, "Access-Control-Allow-Origin") == ORIGIN
    assert header(missing, "Access-Control-Allow-Origin") == ORIGIN


def test_without_cors_origins_no_origin_is_allowed(
    load_handler: Callable[[], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORS_ORIGINS")
    module = load_handler()

    response = module.handler(rest_event("GET", "/health", headers={"Origin": ORIGIN}), FakeContext())

    assert response["statusCode"] == 200
    assert header(response, "Access-Control-Allow-Origin") is None


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("secret detail in /var/task/api/chat.py")


def test_an_unexpected_error_is_a_500_without_details(call: Call, monkeypatch: pytest.MonkeyPatch, logs: Logs) -> None:
    monkeypatch.setattr(importlib.import_module("api.chat"), "answer", boom)

    response = call(posted("/chat", HELLO))

    assert response["statusCode"] == 500
    assert error_of(response) == {
        "code": "InternalError",
        "message": f"The request failed unexpectedly; quote request id {REQUEST_ID}.",
        "requestId": REQUEST_ID,
    }
    assert "secret" not in response["body"]
    (line,) = logs.lines()
    assert line["message"] == "Request failed unexpectedly"
    assert "RuntimeError: secret detail" in line["exception"]


def test_every_request_counts_once_under_its_route(call: Call, capsys: pytest.CaptureFixture[str]) -> None:
    call(rest_event("GET", "/health"))
    call(rest_event("GET", "/models"))
    call(posted("/chat", {**HELLO, "model": "unknown"}))
    call(rest_event("PATCH", "/nowhere"))
    call(rest_event("GET", "/chat"))

    assert emitted(capsys.readouterr().out) == [
        {"route": "health", "metrics": {"Requests": [1.0]}},
        {"route": "models", "metrics": {"Requests": [1.0]}},
        {"route": "chat", "metrics": {"Requests": [1.0]}},
        {"route": "unmatched", "metrics": {"Requests": [1.0]}},
        {"route": "unmatched", "metrics": {"Requests": [1.0]}},
    ]


def test_logs_carry_the_api_gateway_request_id(call: Call, logs: Logs) -> None:
    call(rest_event("GET", "/health"))

    assert [line["correlation_id"] for line in logs.lines()] == [API_REQUEST_ID]


def test_every_request_logs_its_caller_and_only_its_own(call: Call, runtime_stub: Stubber, logs: Logs) -> None:
    runtime_stub.add_response("converse", converse_response())
    requests = [
        (posted("/chat", HELLO), caller(PERSON).id),
        (posted("/chat", {**HELLO, "model": "unknown"}, claims=MACHINE), caller(MACHINE).id),
        (rest_event("GET", "/models", claims=OTHER_PERSON), caller(OTHER_PERSON).id),
        (rest_event("GET", "/health", claims=None), None),
        (rest_event("GET", "/nothing-here", claims=None), None),
    ]

    for event, caller_id in requests:
        call(event)
        lines = logs.lines()
        assert lines, event["path"]
        assert [line.get("caller") for line in lines] == [caller_id] * len(lines)


def test_no_log_line_holds_a_prompt_or_an_answer(
    call: Call, runtime_stub: Stubber, logs: Logs, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt, answer = "My card is 4111 1111 1111 1111, what now?", "Call your bank about card 4111."
    conversation = {"model": HAIKU, "messages": [{"role": "user", "content": prompt}]}
    runtime_stub.add_response("converse", converse_response(answer))
    runtime_stub.add_client_error("converse", "ValidationException", "Input is too long.", http_status_code=400)
    runtime_stub.add_response("converse", converse_response(answer))
    runtime_stub.add_client_error("converse", "InternalServerException", "Bedrock failed.", http_status_code=500)
    runtime_stub.add_response("converse", converse_response(answer))

    statuses = [
        call(posted("/chat", conversation))["statusCode"],
        call(posted("/chat", conversation))["statusCode"],
        call(posted("/compare", {"models": [HAIKU, SONNET, NOVA], "prompt": prompt}))["statusCode"],
        call(posted("/chat", {**conversation, "messages": [{"role": "assistant", "content": prompt}]}))["statusCode"],
    ]

    assert statuses == [200, 400, 200, 400]
    written = logs.text() + capsys.readouterr().out
    assert len(logs.lines()) >= 4
    for text in (prompt, answer, "4111"):
        assert text not in written


@pytest.mark.parametrize(
    "raw",
    ["", "not json", "[1, 2]", '"text"', "[" * 100_000 + "]" * 100_000],
    ids=["empty", "not JSON", "a list", "a string", "nested past the parser's recursion limit"],
)
def test_a_body_that_is_not_a_json_object_is_a_400_without_a_model_call(call: Call, raw: str) -> None:
    # API Gateway's model refuses these first; the function still answers 400, never 500.
    response = call(rest_event("POST", "/chat", raw_body=raw))

    assert response["statusCode"] == 400
    assert error_of(response) | {"requestId": ""} == {
        "code": "BadRequest",
        "message": "body: is not a JSON object.",
        "requestId": "",
    }
