"""POST /chat: Converse behind the guardrail, turn checks, and the mapping of every Bedrock error."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from botocore.stub import Stubber

from .api_fakes import (
    GUARDRAIL_ID,
    HAIKU,
    REQUEST_ID,
    FakeContext,
    blocked_trace,
    body_of,
    converse_params,
    converse_response,
    emitted,
    error_of,
    header,
    raise_on_call,
    rest_event,
)

Call = Callable[[dict[str, Any]], dict[str, Any]]
HELLO = [("user", "Hi there")]


def chat_event(**body: Any) -> dict[str, Any]:
    request = {"model": HAIKU, "messages": [{"role": role, "content": text} for role, text in HELLO], **body}
    return rest_event("POST", "/chat", request)


def test_chat_calls_converse_with_the_guardrail(call: Call, runtime_stub: Stubber) -> None:
    runtime_stub.add_response("converse", converse_response("Hello!"), converse_params(HAIKU, HELLO))

    response = call(chat_event())

    assert response["statusCode"] == 200
    assert body_of(response) == {
        "model": HAIKU,
        "answer": "Hello!",
        "stopReason": "end_turn",
        "usage": {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17},
        "latencyMs": 420,
        "guardrail": {"action": "NONE"},
    }


def test_chat_passes_the_system_prompt_and_inference_settings(call: Call, runtime_stub: Stubber) -> None:
    messages = [("user", "Hi"), ("assistant", "Hello! How can I help?"), ("user", "Summarize our FAQ.")]
    expected = converse_params(
        HAIKU,
        messages,
        system=[{"text": "Be brief."}],
        inferenceConfig={"maxTokens": 256, "temperature": 0.2, "topP": 0.9},
    )
    runtime_stub.add_response("converse", converse_response(), expected)
    body = {
        "model": HAIKU,
        "messages": [{"role": role, "content": text} for role, text in messages],
        "system": "Be brief.",
        "maxTokens": 256,
        "temperature": 0.2,
        "topP": 0.9,
    }

    assert call(rest_event("POST", "/chat", body))["statusCode"] == 200


def test_a_guardrail_intervention_is_a_200_with_its_assessments(
    call: Call, runtime_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = "Sorry, I can't help with that request."
    runtime_stub.add_response(
        "converse", converse_response(blocked, "guardrail_intervened", blocked_trace()), converse_params(HAIKU, HELLO)
    )

    response = call(chat_event())

    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["answer"] == blocked
    assert body["stopReason"] == "guardrail_intervened"
    assert body["guardrail"] == {
        "action": "INTERVENED",
        "assessments": [
            {"stage": "input", "policy": "topicPolicy", "type": "Investment advice", "action": "BLOCKED"},
            {
                "stage": "input",
                "policy": "sensitiveInformationPolicy",
                "type": "CREDIT_DEBIT_CARD_NUMBER",
                "action": "BLOCKED",
            },
        ],
    }
    assert "4111111111111111" not in response["body"]
    assert emitted(capsys.readouterr().out) == [
        {"route": "chat", "metrics": {"Requests": [1.0], "GuardrailInterventions": [1.0]}}
    ]


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([("assistant", "Hello")], "messages[0].role: the conversation must start with a user message."),
        ([("user", "a"), ("user", "b")], "messages[1].role: roles must alternate between user and assistant."),
        ([("user", "a"), ("assistant", "b")], "messages[1].role: the last message must be the user's."),
    ],
)
def test_the_turns_must_alternate_and_end_with_the_user(
    call: Call, messages: list[tuple[str, str]], message: str
) -> None:
    body = {"model": HAIKU, "messages": [{"role": role, "content": text} for role, text in messages]}

    response = call(rest_event("POST", "/chat", body))

    assert response["statusCode"] == 400
    assert error_of(response) == {"code": "BadRequest", "message": message, "requestId": REQUEST_ID}


def test_a_model_outside_the_allow_list_is_a_bad_request(call: Call) -> None:
    response = call(chat_event(model="anthropic.claude-3-opus-20240229-v1:0"))

    assert response["statusCode"] == 400
    assert error_of(response)["message"] == (
        'model: "anthropic.claude-3-opus-20240229-v1:0" is not an allowed model; GET /models lists them.'
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": 7}, "model: must be a string"),
        ({"messages": []}, "messages: must have at least 1 item(s)"),
        (
            {"messages": [{"role": "system", "content": "x"}]},
            'messages[0].role: "system" is not one of user, assistant',
        ),
        ({"messages": [{"role": "user", "content": ""}]}, "messages[0].content: must be at least 1 character(s) long"),
        (
            {"messages": [{"role": "user", "content": "x" * 8001}]},
            "messages[0].content: must be at most 8000 characters long, got 8001",
        ),
        ({"messages": [{"role": "user"}]}, "messages[0].content: is required"),
        ({"maxTokens": 0}, "maxTokens: 0 is less than the minimum 1"),
        ({"maxTokens": 2.5}, "maxTokens: must be a whole number"),
        ({"temperature": 1.5}, "temperature: 1.5 is more than the maximum 1"),
        ({"topP": True}, "topP: must be a number"),
        (
            {"stream": True},
            "stream: unknown field; the fields allowed are model, messages, system, maxTokens, temperature, topP",
        ),
    ],
)
def test_a_body_outside_the_schema_names_the_field(call: Call, change: dict[str, Any], message: str) -> None:
    response = call(chat_event(**change))

    assert response["statusCode"] == 400
    assert error_of(response) == {"code": "BadRequest", "message": message, "requestId": REQUEST_ID}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ValidationException", (400, "ValidationError", "Bedrock rejected the request: Bedrock said no.")),
        (
            "AccessDeniedException",
            (
                403,
                "AccessDenied",
                f"Bedrock denied access to {HAIKU}: enable it on the Model access page of the Bedrock console, in this "
                f"region, and allow the function's role bedrock:InvokeModel on it and bedrock:ApplyGuardrail on "
                f"guardrail {GUARDRAIL_ID}.",
            ),
        ),
        ("ResourceNotFoundException", (404, "ResourceNotFound", f"Bedrock could not find {HAIKU} in this region.")),
        ("ThrottlingException", (429, "Throttled", f"Bedrock is throttling requests to {HAIKU}; retry after 5 s.")),
        ("ServiceQuotaExceededException", (429, "Throttled", "Bedrock is throttling requests")),
        ("TooManyRequestsException", (429, "Throttled", "Bedrock is throttling requests")),
        ("ModelNotReadyException", (429, "Throttled", "Bedrock is throttling requests")),
        (
            "ModelTimeoutException",
            (
                504,
                "Timeout",
                f"The model took too long to answer ({HAIKU}). The function has 28 s",
            ),
        ),
        ("InternalServerException", (500, "InternalError", f"Bedrock failed with InternalServerException on {HAIKU}.")),
    ],
)
def test_bedrock_errors_are_mapped(
    call: Call, runtime_stub: Stubber, code: str, expected: tuple[int, str, str]
) -> None:
    status, api_code, message = expected
    runtime_stub.add_client_error(
        "converse", code, "Bedrock said no.", http_status_code=status, expected_params=converse_params(HAIKU, HELLO)
    )

    response = call(chat_event())

    assert response["statusCode"] == status
    error = error_of(response)
    assert error["code"] == api_code
    assert error["message"].startswith(message)
    assert header(response, "Retry-After") == ("5" if status == 429 else None)


def test_a_timeout_message_says_how_to_raise_the_limit(call: Call, runtime_stub: Stubber) -> None:
    runtime_stub.add_client_error("converse", "ModelTimeoutException", "slow", http_status_code=408)

    message = error_of(call(chat_event()))["message"]

    assert "API Gateway's 29 s integration timeout" in message
    assert "smaller maxTokens or use a faster model" in message
    assert "response streaming" in message


@pytest.mark.parametrize(
    ("error", "start"),
    [
        (ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"), "Bedrock did not answer"),
        (ConnectTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"), "Could not connect"),
    ],
)
def test_client_timeouts_are_gateway_timeouts(
    api: ModuleType, monkeypatch: pytest.MonkeyPatch, error: Exception, start: str
) -> None:
    monkeypatch.setattr(api, "bedrock_runtime", raise_on_call("bedrock-runtime", "Converse", error))

    response = api.handler(chat_event(), FakeContext())

    assert response["statusCode"] == 504
    error_body = error_of(response)
    assert error_body["code"] == "Timeout"
    assert error_body["message"].startswith(start)
    assert "Traceback" not in json.dumps(error_body)
