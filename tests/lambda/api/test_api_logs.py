"""The functions' logs never hold what a caller asked or what a model answered, on any path, errors included.

Each test sends text carrying PROMPT and has the model answer text carrying ANSWER, then reads everything the
function wrote (stdout, where Powertools logs and publishes metrics, stderr and the logging records).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.eventstream import HttpStub, error_response, stream_response

from .api_fakes import (
    BEDROCK_SESSION_ID,
    GUARDRAIL_USAGE,
    HAIKU,
    NOVA,
    converse_params,
    converse_response,
    rest_event,
    retrieve_params,
)
from .test_api_agent import call as call_agent
from .test_api_agent import passes, text_turn

PROMPT = "prompt-9f8e7d: my card is 4111 1111 1111 1111"
ANSWER = "answer-1a2b3c: the payroll file is on the shared drive"
Call = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def written(
    api: ModuleType, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> Iterator[Callable[[], str]]:
    """Everything the function wrote so far, at the level the functions log at (INFO).

    The function's own log lines are copied, formatted as Powertools writes them, by a handler of ours: its
    handler writes to the stdout of when it was first built, which this test does not capture.
    """
    caplog.set_level(logging.INFO)
    lines = io.StringIO()
    copy = logging.StreamHandler(lines)
    copy.setFormatter(api.logger.registered_formatter)
    function_logger = logging.getLogger(api.logger.name)
    function_logger.addHandler(copy)

    def everything() -> str:
        captured = capsys.readouterr()
        return lines.getvalue() + captured.out + captured.err + caplog.text

    yield everything
    function_logger.removeHandler(copy)


def assert_private(text: str) -> None:
    assert text, "the function wrote nothing: the test would pass vacuously"
    assert "prompt-9f8e7d" not in text
    assert "4111 1111" not in text
    assert "answer-1a2b3c" not in text


def chat(**extra: Any) -> dict[str, Any]:
    return rest_event("POST", "/chat", {"model": HAIKU, "messages": [{"role": "user", "content": PROMPT}], **extra})


def test_a_chat_leaves_no_prompt_or_answer_in_the_logs(
    call: Call, runtime_stub: Stubber, written: Callable[[], str]
) -> None:
    runtime_stub.add_response("converse", converse_response(ANSWER), converse_params(HAIKU, [("user", PROMPT)]))

    assert call(chat())["statusCode"] == 200
    assert_private(written())


@pytest.mark.parametrize(
    ("code", "status"), [("ValidationException", 400), ("InternalServerException", 500)], ids=["4xx", "5xx"]
)
def test_a_failed_chat_leaves_no_prompt_in_the_logs(
    call: Call, runtime_stub: Stubber, written: Callable[[], str], code: str, status: int
) -> None:
    # Upstream messages go to the logs: one that quotes the request must not carry it there either.
    runtime_stub.add_client_error("converse", code, "The model refused the input.", http_status_code=status)

    assert call(chat())["statusCode"] >= 400
    assert_private(written())


def test_a_compare_with_one_failing_model_leaves_no_prompt_or_answer(
    call: Call, runtime_stub: Stubber, written: Callable[[], str]
) -> None:
    messages = [("user", PROMPT)]
    runtime_stub.add_response("converse", converse_response(ANSWER), converse_params(HAIKU, messages))
    runtime_stub.add_client_error("converse", "ThrottlingException", "Too many requests.", http_status_code=429)

    response = call(rest_event("POST", "/compare", {"models": [HAIKU, NOVA], "prompt": PROMPT}))

    assert response["statusCode"] == 200
    assert_private(written())


def test_a_retrieve_leaves_no_query_or_passage_in_the_logs(
    call: Call, agent_runtime_stub: Stubber, runtime_stub: Stubber, written: Callable[[], str]
) -> None:
    passage = {"content": {"text": ANSWER}, "location": {"type": "S3", "s3Location": {"uri": "s3://b/documents/a"}}}
    agent_runtime_stub.add_response("retrieve", {"retrievalResults": [passage]}, retrieve_params(PROMPT))
    runtime_stub.add_response(
        "apply_guardrail", {"usage": GUARDRAIL_USAGE, "action": "NONE", "outputs": [], "assessments": []}, None
    )

    assert call(rest_event("POST", "/retrieve", {"query": PROMPT}))["statusCode"] == 200
    assert_private(written())


def test_an_ask_leaves_no_question_or_answer_in_the_logs(
    call: Call, agent_runtime_stub: Stubber, written: Callable[[], str]
) -> None:
    agent_runtime_stub.add_response(
        "retrieve_and_generate",
        {"output": {"text": ANSWER}, "citations": [], "sessionId": BEDROCK_SESSION_ID},
        None,
    )

    assert call(rest_event("POST", "/ask", {"question": PROMPT}))["statusCode"] == 200
    assert_private(written())


def test_an_agent_turn_leaves_no_message_or_answer_in_the_logs(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, written: Callable[[], str]
) -> None:
    passes(runtime_stub, PROMPT, "INPUT")
    harness.responses.append(stream_response(text_turn(ANSWER)))
    passes(runtime_stub, ANSWER, "OUTPUT")

    assert call_agent(agent_api, {"input": PROMPT})["statusCode"] == 200
    assert_private(written())


def test_a_failed_agent_turn_leaves_no_message_in_the_logs(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, written: Callable[[], str]
) -> None:
    passes(runtime_stub, PROMPT, "INPUT")
    harness.responses.append(error_response(500, "InternalServerException", "The runtime failed."))

    assert call_agent(agent_api, {"input": PROMPT})["statusCode"] == 502
    assert_private(written())
