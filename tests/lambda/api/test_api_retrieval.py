"""POST /retrieve and POST /ask: knowledge-base search, and answers with citations behind the guardrail."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from api.sessions import AGENT, ASK
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from .api_fakes import (
    BEDROCK_SESSION_ID,
    GENERATION_MODEL_ARN,
    GUARDRAIL_ID,
    KB_ID,
    OTHER_PERSON,
    FakeContext,
    ask_params,
    ask_response,
    body_of,
    bound,
    emitted,
    error_of,
    header,
    raise_on_call,
    rest_event,
    retrieve_params,
    retrieve_response,
)

Call = Callable[[dict[str, Any]], dict[str, Any]]
QUESTION = "How do I add documents?"


def test_retrieve_returns_passages_with_their_sources(call: Call, agent_runtime_stub: Stubber) -> None:
    agent_runtime_stub.add_response("retrieve", retrieve_response(), retrieve_params("document sync"))

    response = call(rest_event("POST", "/retrieve", {"query": "document sync"}))

    assert response["statusCode"] == 200
    assert body_of(response) == {
        "results": [
            {
                "text": "Documents sync within a minute.",
                "score": 0.87,
                "source": "s3://documents/documents/sync.md",
                "metadata": {"category": "faq", "x-amz-bedrock-kb-chunk-id": "chunk-1"},
            },
            {"text": "A web page.", "score": 0.42, "source": None, "metadata": {}},
        ]
    }


def test_retrieve_passes_top_k_and_the_filter(call: Call, agent_runtime_stub: Stubber) -> None:
    search_filter = {
        "andAll": [{"equals": {"key": "category", "value": "faq"}}, {"greaterThan": {"key": "year", "value": 2024}}]
    }
    agent_runtime_stub.add_response(
        "retrieve", {"retrievalResults": []}, retrieve_params("sync", 12, {"filter": search_filter})
    )

    response = call(rest_event("POST", "/retrieve", {"query": "sync", "topK": 12, "filter": search_filter}))

    assert body_of(response) == {"results": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "query: is required"),
        ({"query": "x" * 1001}, "query: must be at most 1000 characters long, got 1001"),
        ({"query": "x", "topK": 26}, "topK: 26 is more than the maximum 25"),
        ({"query": "x", "filter": ["category"]}, "filter: must be a JSON object"),
    ],
)
def test_retrieve_checks_its_body(call: Call, body: dict[str, Any], message: str) -> None:
    response = call(rest_event("POST", "/retrieve", body))

    assert (response["statusCode"], error_of(response)["message"]) == (400, message)


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("ValidationException", 400, "Bedrock rejected the request: Bedrock said no."),
        (
            "AccessDeniedException",
            403,
            f"Bedrock denied access to knowledge base {KB_ID}: allow the function's role bedrock:Retrieve on "
            f"knowledge base {KB_ID}.",
        ),
        ("ResourceNotFoundException", 404, f"Bedrock could not find knowledge base {KB_ID} in this region."),
        ("ThrottlingException", 429, f"Bedrock is throttling requests to knowledge base {KB_ID}; retry after 5 s."),
    ],
)
def test_retrieve_maps_bedrock_errors(
    call: Call, agent_runtime_stub: Stubber, code: str, status: int, message: str
) -> None:
    agent_runtime_stub.add_client_error("retrieve", code, "Bedrock said no.", http_status_code=status)

    response = call(rest_event("POST", "/retrieve", {"query": "sync"}))

    assert (response["statusCode"], error_of(response)["message"]) == (status, message)


def test_ask_answers_with_citations_behind_the_guardrail(call: Call, agent_runtime_stub: Stubber) -> None:
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response(), ask_params(QUESTION))

    response = call(rest_event("POST", "/ask", {"question": QUESTION}))

    assert response["statusCode"] == 200
    assert body_of(response) == {
        "answer": "Upload the file under documents/; it syncs within a minute.",
        "citations": [
            {
                "text": "Upload the file under documents/",
                "sources": ["s3://documents/documents/sync.md", "s3://documents/documents/faq.md"],
            },
            {"text": "it syncs within a minute", "sources": []},
        ],
        "sessionId": bound(ASK, BEDROCK_SESSION_ID),
        "guardrail": {"action": "NONE"},
    }


def test_ask_continues_the_callers_own_session_with_its_top_k(call: Call, agent_runtime_stub: Stubber) -> None:
    agent_runtime_stub.add_response(
        "retrieve_and_generate", ask_response(), ask_params(QUESTION, 8, sessionId=BEDROCK_SESSION_ID)
    )
    session = bound(ASK, BEDROCK_SESSION_ID)

    response = call(rest_event("POST", "/ask", {"question": QUESTION, "sessionId": session, "topK": 8}))

    assert body_of(response)["sessionId"] == session


@pytest.mark.parametrize(
    "session",
    [BEDROCK_SESSION_ID, bound(ASK, BEDROCK_SESSION_ID, OTHER_PERSON), bound(AGENT, BEDROCK_SESSION_ID)],
    ids=["Bedrock's raw id", "another caller's id", "an agent session id"],
)
def test_ask_refuses_a_session_that_is_not_the_callers(call: Call, session: str) -> None:
    response = call(rest_event("POST", "/ask", {"question": QUESTION, "sessionId": session}))

    assert response["statusCode"] == 403
    assert error_of(response)["code"] == "SessionNotYours"


def test_ask_reports_a_guardrail_intervention(
    call: Call, agent_runtime_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response("INTERVENED"), ask_params(QUESTION))

    response = call(rest_event("POST", "/ask", {"question": QUESTION}))

    assert body_of(response)["guardrail"] == {"action": "INTERVENED"}
    assert emitted(capsys.readouterr().out) == [
        {"route": "ask", "metrics": {"Requests": [1.0], "GuardrailInterventions": [1.0]}}
    ]


@pytest.mark.parametrize("session_id", ["a", "has space", "x" * 101, "semi;colon", "new\nline", "ok-id\n"])
def test_ask_refuses_an_invalid_session_id(call: Call, session_id: str) -> None:
    response = call(rest_event("POST", "/ask", {"question": QUESTION, "sessionId": session_id}))

    assert response["statusCode"] == 400
    assert error_of(response)["message"].startswith("sessionId: ")


@pytest.mark.parametrize(
    ("code", "status", "start"),
    [
        ("ValidationException", 400, "Bedrock rejected the request"),
        (
            "AccessDeniedException",
            403,
            f"Bedrock denied access to knowledge base {KB_ID} or model {GENERATION_MODEL_ARN}: enable the model on "
            "the Model access page of the Bedrock console, in this region, and allow the function's role "
            "bedrock:RetrieveAndGenerate, bedrock:Retrieve on the knowledge base, bedrock:InvokeModel on the model "
            f"and bedrock:ApplyGuardrail on guardrail {GUARDRAIL_ID}.",
        ),
        ("ResourceNotFoundException", 404, "Bedrock could not find knowledge base"),
        ("ServiceQuotaExceededException", 429, "Bedrock is throttling requests"),
    ],
)
def test_ask_maps_bedrock_errors(call: Call, agent_runtime_stub: Stubber, code: str, status: int, start: str) -> None:
    agent_runtime_stub.add_client_error("retrieve_and_generate", code, "no", http_status_code=status)

    response = call(rest_event("POST", "/ask", {"question": QUESTION}))

    assert response["statusCode"] == status
    assert error_of(response)["message"].startswith(start)
    assert header(response, "Retry-After") == ("5" if status == 429 else None)


@pytest.mark.parametrize(
    ("operation", "event"),
    [
        ("Retrieve", rest_event("POST", "/retrieve", {"query": "q"})),
        ("RetrieveAndGenerate", rest_event("POST", "/ask", {"question": "q"})),
    ],
)
def test_knowledge_base_timeouts_are_gateway_timeouts(
    api: ModuleType, monkeypatch: pytest.MonkeyPatch, operation: str, event: dict[str, Any]
) -> None:
    error = ReadTimeoutError(endpoint_url="https://bedrock-agent-runtime.us-east-1.amazonaws.com")
    monkeypatch.setattr(api, "bedrock_agent_runtime", raise_on_call("bedrock-agent-runtime", operation, error))

    response = api.handler(event, FakeContext())

    assert (response["statusCode"], error_of(response)["code"]) == (504, "Timeout")
