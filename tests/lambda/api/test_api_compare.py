"""POST /compare: the same prompt to every model in parallel, per-model errors, errors all models share, budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api import compare
from api.registry import REGISTRY
from api.services import Services
from botocore.stub import Stubber

from common.schema import validate

from .api_fakes import (
    GENERATION_MODEL_ARN,
    HAIKU,
    NOVA,
    REQUEST_ID,
    SONNET,
    ParallelRuntime,
    blocked_trace,
    body_of,
    caller,
    calls_counted,
    converse_params,
    converse_response,
    emitted,
    error_of,
    header,
    rest_event,
)

Call = Callable[[dict[str, Any]], dict[str, Any]]
PROMPT = [("user", "Explain RAG in one sentence.")]
UPSTREAM_MESSAGE = f"Access denied to {GENERATION_MODEL_ARN}."


def compare_event(*models: str, **fields: Any) -> dict[str, Any]:
    """A POST /compare that API Gateway's validator lets through (common.schema stands in for it)."""
    body = {"models": list(models), "prompt": PROMPT[0][1], **fields}
    validate(REGISTRY.schemas["CompareRequest"], body)
    return rest_event("POST", "/compare", body)


def result(model: str, answer: str, latency: int) -> dict[str, Any]:
    return {
        "model": model,
        "answer": answer,
        "stopReason": "end_turn",
        "usage": {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17},
        "latencyMs": latency,
        "guardrail": {"action": "NONE"},
    }


def test_every_model_answers_in_request_order(call: Call, runtime_stub: Stubber) -> None:
    inference = {"maxTokens": 100, "temperature": 0}
    for model, latency in ((SONNET, 900), (HAIKU, 300), (NOVA, 200)):
        runtime_stub.add_response(
            "converse",
            converse_response(f"{model} says hi", latency=latency),
            converse_params(model, PROMPT, inferenceConfig=inference),
        )

    response = call(compare_event(SONNET, HAIKU, NOVA, maxTokens=100, temperature=0))

    assert response["statusCode"] == 200
    assert body_of(response) == {
        "results": [
            result(SONNET, f"{SONNET} says hi", 900),
            result(HAIKU, f"{HAIKU} says hi", 300),
            result(NOVA, f"{NOVA} says hi", 200),
        ]
    }


@pytest.mark.parametrize(("asked", "sent"), [(None, 1024), (4096, 4096), (8192, 4096)])
def test_every_model_gets_the_bounded_max_tokens(
    call: Call, runtime_stub: Stubber, asked: int | None, sent: int
) -> None:
    for model in (HAIKU, NOVA):
        runtime_stub.add_response(
            "converse", converse_response(), converse_params(model, PROMPT, inferenceConfig={"maxTokens": sent})
        )
    fields: dict[str, Any] = {} if asked is None else {"maxTokens": asked}

    assert call(compare_event(HAIKU, NOVA, **fields))["statusCode"] == 200


def test_the_models_are_called_in_parallel(call: Call, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = ParallelRuntime(parties=3)
    services.runtime = runtime
    monkeypatch.setattr(compare, "MAX_WORKERS", 4)

    response = call(compare_event(HAIKU, SONNET, NOVA))

    # Each call waits until all three are in flight, so a sequential run would fail with a broken barrier.
    assert response["statusCode"] == 200
    assert [entry["answer"] for entry in body_of(response)["results"]] == [
        f"answer of {HAIKU}",
        f"answer of {SONNET}",
        f"answer of {NOVA}",
    ]
    assert len(runtime.threads) == 3


def test_a_failing_model_gets_an_error_entry_without_upstream_details(
    call: Call, runtime_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime_stub.add_client_error(
        "converse",
        "AccessDeniedException",
        UPSTREAM_MESSAGE,
        http_status_code=403,
        expected_params=converse_params(HAIKU, PROMPT),
    )
    runtime_stub.add_response(
        "converse",
        converse_response("Sorry.", "guardrail_intervened", blocked_trace()),
        converse_params(SONNET, PROMPT),
    )

    response = call(compare_event(HAIKU, SONNET))

    assert response["statusCode"] == 200
    first, second = body_of(response)["results"]
    assert first["model"] == HAIKU
    assert set(first) == {"model", "error"}
    assert first["error"]["code"] == "AccessDenied"
    assert HAIKU not in first["error"]["message"]
    assert "arn:" not in response["body"]
    assert "Access denied to" not in response["body"]
    assert second["guardrail"]["action"] == "INTERVENED"
    assert emitted(capsys.readouterr().out) == [
        {"route": "compare", "metrics": {"Requests": [1.0], "GuardrailInterventions": [1.0]}}
    ]


def test_models_failing_differently_stay_a_200(call: Call, runtime_stub: Stubber) -> None:
    runtime_stub.add_client_error("converse", "ThrottlingException", "slow down", http_status_code=429)
    runtime_stub.add_client_error("converse", "ValidationException", "bad temperature", http_status_code=400)

    response = call(compare_event(HAIKU, SONNET))

    assert response["statusCode"] == 200
    assert [entry["error"]["code"] for entry in body_of(response)["results"]] == ["Throttled", "BadRequest"]


@pytest.mark.parametrize(
    ("code", "http_status", "expected"),
    [
        ("ThrottlingException", 429, (429, "Throttled")),
        ("ValidationException", 400, (400, "BadRequest")),
        ("InternalServerException", 500, (502, "UpstreamError")),
    ],
)
def test_the_same_error_on_every_model_is_the_response(
    call: Call, runtime_stub: Stubber, code: str, http_status: int, expected: tuple[int, str]
) -> None:
    for _ in range(2):
        runtime_stub.add_client_error("converse", code, UPSTREAM_MESSAGE, http_status_code=http_status)

    response = call(compare_event(HAIKU, NOVA))

    assert (response["statusCode"], error_of(response)["code"]) == expected
    assert header(response, "Retry-After") == ("5" if expected[0] == 429 else None)
    assert "Access denied to" not in response["body"]


def test_a_model_outside_the_allow_list_is_named(call: Call, usage_table: Any) -> None:
    response = call(compare_event(HAIKU, "meta.llama3-70b-instruct-v1:0"))

    assert response["statusCode"] == 400
    assert error_of(response) == {
        "code": "BadRequest",
        "message": 'models[1]: "meta.llama3-70b-instruct-v1:0" is not an allowed model; GET /models lists them.',
        "requestId": REQUEST_ID,
    }
    assert calls_counted(usage_table) == 0


def test_a_compare_spends_one_call_per_model(call: Call, runtime_stub: Stubber, usage_table: Any) -> None:
    for _ in range(3):
        runtime_stub.add_response("converse", converse_response())

    assert call(compare_event(HAIKU, SONNET, NOVA))["statusCode"] == 200

    items = usage_table.scan()["Items"]
    assert [item["caller_window"].split("#")[0] for item in items] == [caller().id]
    assert calls_counted(usage_table) == 3
