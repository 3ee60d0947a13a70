"""POST /compare: the same prompt to every model in parallel, per-model errors, and errors all models share."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from .api_fakes import (
    GUARDRAIL_ID,
    HAIKU,
    NOVA,
    REQUEST_ID,
    SONNET,
    ParallelRuntime,
    blocked_trace,
    body_of,
    converse_params,
    converse_response,
    emitted,
    error_of,
    header,
    rest_event,
)

Call = Callable[[dict[str, Any]], dict[str, Any]]
PROMPT = [("user", "Explain RAG in one sentence.")]


def compare_event(*models: str, **extra: Any) -> dict[str, Any]:
    return rest_event("POST", "/compare", {"models": list(models), "prompt": PROMPT[0][1], **extra})


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
    options = {"system": [{"text": "One sentence."}], "inferenceConfig": {"maxTokens": 100, "temperature": 0.0}}
    for model, latency in ((SONNET, 900), (HAIKU, 300), (NOVA, 200)):
        runtime_stub.add_response(
            "converse",
            converse_response(f"{model} says hi", latency=latency),
            converse_params(model, PROMPT, **options),
        )

    response = call(compare_event(SONNET, HAIKU, NOVA, system="One sentence.", maxTokens=100, temperature=0))

    assert response["statusCode"] == 200
    assert body_of(response) == {
        "results": [
            result(SONNET, f"{SONNET} says hi", 900),
            result(HAIKU, f"{HAIKU} says hi", 300),
            result(NOVA, f"{NOVA} says hi", 200),
        ]
    }


def test_the_models_are_called_in_parallel(api: ModuleType, call: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = ParallelRuntime(parties=3)
    monkeypatch.setattr(api, "bedrock_runtime", runtime)
    monkeypatch.setattr(api, "COMPARE_WORKERS", 4)

    response = call(compare_event(HAIKU, SONNET, NOVA))

    # Each call waits until all three are in flight, so a sequential run would fail with a broken barrier.
    assert response["statusCode"] == 200
    assert [entry["answer"] for entry in body_of(response)["results"]] == [
        f"answer of {HAIKU}",
        f"answer of {SONNET}",
        f"answer of {NOVA}",
    ]
    assert len(runtime.threads) == 3


def test_a_failing_model_gets_an_error_entry(
    call: Call, runtime_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime_stub.add_client_error(
        "converse", "AccessDeniedException", "no", http_status_code=403, expected_params=converse_params(HAIKU, PROMPT)
    )
    runtime_stub.add_response(
        "converse",
        converse_response("Sorry.", "guardrail_intervened", blocked_trace()),
        converse_params(SONNET, PROMPT),
    )

    response = call(compare_event(HAIKU, SONNET))

    assert response["statusCode"] == 200
    first, second = body_of(response)["results"]
    assert first == {
        "model": HAIKU,
        "error": {
            "code": "AccessDenied",
            "message": f"Bedrock denied access to {HAIKU}: enable it on the Model access page of the Bedrock "
            "console, in this region, and allow the function's role bedrock:InvokeModel on it and "
            f"bedrock:ApplyGuardrail on guardrail {GUARDRAIL_ID}.",
        },
    }
    assert second["guardrail"]["action"] == "INTERVENED"
    assert emitted(capsys.readouterr().out) == [
        {"route": "compare", "metrics": {"Requests": [1.0], "GuardrailInterventions": [1.0]}}
    ]


def test_models_failing_differently_stay_a_200(call: Call, runtime_stub: Stubber) -> None:
    runtime_stub.add_client_error("converse", "ThrottlingException", "slow down", http_status_code=429)
    runtime_stub.add_client_error("converse", "ValidationException", "bad temperature", http_status_code=400)

    response = call(compare_event(HAIKU, SONNET))

    assert response["statusCode"] == 200
    assert [entry["error"]["code"] for entry in body_of(response)["results"]] == ["Throttled", "ValidationError"]


@pytest.mark.parametrize(
    ("code", "status", "api_code"),
    [("ThrottlingException", 429, "Throttled"), ("ValidationException", 400, "ValidationError")],
)
def test_the_same_error_on_every_model_is_the_response(
    call: Call, runtime_stub: Stubber, code: str, status: int, api_code: str
) -> None:
    for _ in range(2):
        runtime_stub.add_client_error("converse", code, "no", http_status_code=status)

    response = call(compare_event(HAIKU, NOVA))

    assert response["statusCode"] == status
    assert error_of(response)["code"] == api_code
    assert header(response, "Retry-After") == ("5" if status == 429 else None)


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([HAIKU], "models: must have at least 2 item(s)"),
        ([HAIKU, SONNET, NOVA, HAIKU, SONNET], "models: must have at most 4 items, got 5"),
        ([HAIKU, HAIKU], f'models[1]: "{HAIKU[:38]}… is repeated; items must be unique'),
        (
            [HAIKU, "meta.llama3-70b-instruct-v1:0"],
            'models[1]: "meta.llama3-70b-instruct-v1:0" is not an allowed model',
        ),
    ],
)
def test_the_models_are_checked(call: Call, models: list[str], message: str) -> None:
    response = call(compare_event(*models))

    assert response["statusCode"] == 400
    error = error_of(response)
    assert error == {"code": "BadRequest", "message": error["message"], "requestId": REQUEST_ID}
    assert error["message"].startswith(message)


def test_compare_accepts_no_top_p(call: Call) -> None:
    response = call(compare_event(HAIKU, SONNET, topP=0.5))

    assert error_of(response)["message"].startswith("topP: unknown field")
