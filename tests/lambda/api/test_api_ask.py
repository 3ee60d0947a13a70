"""POST /ask: RetrieveAndGenerate behind the guardrail, citations by document, sessions bound to their caller."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from api.services import Services
from api.sessions import AGENT, ASK
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from .api_fakes import (
    BEDROCK_SESSION_ID,
    GENERATION_MODEL_ARN,
    GUARDRAIL_ID,
    KB_ID,
    MACHINE,
    MAPPED_ERRORS,
    MAX_TOKENS,
    MAX_TOKENS_CEILING,
    OTHER_PERSON,
    PERSON,
    ask_params,
    ask_response,
    body_of,
    bound,
    caller,
    calls_by_caller,
    emitted,
    error_of,
    header,
    posted,
    raise_on_call,
    recorded_operations,
)

Call = Callable[[dict[str, Any]], dict[str, Any]]
QUESTION = "How do I add documents?"
# What no response body may show: S3 URIs, resource ids, ARNs, the account, Bedrock's raw session id.
SECRETS = ("s3://", KB_ID, GUARDRAIL_ID, GENERATION_MODEL_ARN, "arn:", "123456789012")
CODES = {400: "BadRequest", 403: "AccessDenied", 404: "NotFound", 409: "Conflict", 429: "Throttled", 504: "Timeout"}


def post(call: Call, body: Mapping[str, Any], claims: Mapping[str, str] = PERSON) -> dict[str, Any]:
    """POST /ask with a body API Gateway lets through (the route's request schema)."""
    return call(posted("/ask", body, claims))


def test_ask_answers_with_citations_by_document_behind_the_guardrail(
    call: Call, agent_runtime_stub: Stubber, usage_table: Any
) -> None:
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response(), ask_params(QUESTION))

    response = post(call, {"question": QUESTION})

    assert response["statusCode"] == 200
    assert body_of(response) == {
        "answer": "Upload the file under documents/; it syncs within a minute.",
        "citations": [
            {"text": "Upload the file under documents/", "sources": ["sync.md", "faq.md"]},
            {"text": "it syncs within a minute", "sources": []},
        ],
        "sessionId": bound(ASK, BEDROCK_SESSION_ID),
        "guardrail": {"action": "NONE"},
    }
    assert not [secret for secret in SECRETS if secret in response["body"]]
    assert calls_by_caller(usage_table) == {caller(PERSON).id: 1}


@pytest.mark.parametrize(
    ("body", "top_k", "max_tokens"),
    [
        ({}, 5, MAX_TOKENS),
        ({"topK": 8, "maxTokens": 300}, 8, 300),
        ({"maxTokens": MAX_TOKENS_CEILING}, 5, MAX_TOKENS_CEILING),
        ({"maxTokens": 8192}, 5, MAX_TOKENS_CEILING),
    ],
    ids=["defaults", "the caller's", "at the ceiling", "above the ceiling"],
)
def test_ask_bounds_the_generation(
    call: Call, agent_runtime_stub: Stubber, body: dict[str, Any], top_k: int, max_tokens: int
) -> None:
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response(), ask_params(QUESTION, top_k, max_tokens))

    response = post(call, {"question": QUESTION, **body})

    assert response["statusCode"] == 200


def test_two_callers_are_kept_apart(call: Call, agent_runtime_stub: Stubber, usage_table: Any) -> None:
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response(), ask_params(QUESTION))
    first = body_of(post(call, {"question": QUESTION}))["sessionId"]
    calls = recorded_operations(agent_runtime_stub.client)

    refused = post(call, {"question": "What did they ask?", "sessionId": first}, OTHER_PERSON)

    assert (refused["statusCode"], error_of(refused)["code"]) == (403, "SessionNotYours")
    assert BEDROCK_SESSION_ID not in refused["body"]
    assert calls == []
    assert calls_by_caller(usage_table) == {caller(PERSON).id: 1}

    # The first caller still continues their own conversation, under Bedrock's id.
    agent_runtime_stub.add_response(
        "retrieve_and_generate", ask_response(), ask_params("And then?", sessionId=BEDROCK_SESSION_ID)
    )
    continued = post(call, {"question": "And then?", "sessionId": first})

    assert body_of(continued)["sessionId"] == first
    assert calls == ["RetrieveAndGenerate"]


def test_a_session_is_issued_to_each_caller_under_its_own_id(call: Call, agent_runtime_stub: Stubber) -> None:
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response(), ask_params(QUESTION))
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response(), ask_params(QUESTION))

    mine = body_of(post(call, {"question": QUESTION}))["sessionId"]
    theirs = body_of(post(call, {"question": QUESTION}, OTHER_PERSON))["sessionId"]

    assert mine != theirs
    assert mine == bound(ASK, BEDROCK_SESSION_ID)
    assert theirs == bound(ASK, BEDROCK_SESSION_ID, OTHER_PERSON)


def _tampered(session: str) -> str:
    value, _, tag = session.rpartition("-")
    return f"{value}-{tag[:-1]}{'0' if tag[-1] != '0' else '1'}"


@pytest.mark.parametrize(
    ("session", "claims"),
    [
        (BEDROCK_SESSION_ID, PERSON),
        (bound(ASK, BEDROCK_SESSION_ID, OTHER_PERSON), PERSON),
        (bound(ASK, BEDROCK_SESSION_ID), MACHINE),
        (bound(AGENT, BEDROCK_SESSION_ID), PERSON),
        (_tampered(bound(ASK, BEDROCK_SESSION_ID)), PERSON),
        (bound(ASK, BEDROCK_SESSION_ID).replace("0b6bd7c2", "0b6bd7c3"), PERSON),
        ("forged-" + "0" * 32, PERSON),
        ("no_tag_at_all", PERSON),
    ],
    ids=[
        "Bedrock's raw id",
        "another person's id",
        "a person's id presented by a machine",
        "an agent session id",
        "a tampered tag",
        "another conversation under a copied tag",
        "a forged id",
        "an id without a tag",
    ],
)
def test_a_session_not_issued_to_the_caller_is_refused_before_bedrock(
    call: Call, agent_runtime_stub: Stubber, usage_table: Any, session: str, claims: Mapping[str, str]
) -> None:
    calls = recorded_operations(agent_runtime_stub.client)

    response = post(call, {"question": QUESTION, "sessionId": session}, claims)

    assert (response["statusCode"], error_of(response)["code"]) == (403, "SessionNotYours")
    assert calls == []
    assert calls_by_caller(usage_table) == {}


def test_a_guardrail_intervention_is_reported_and_counted(
    call: Call, agent_runtime_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response("INTERVENED"), ask_params(QUESTION))

    response = post(call, {"question": QUESTION})

    assert body_of(response)["guardrail"] == {"action": "INTERVENED"}
    assert emitted(capsys.readouterr().out) == [
        {"route": "ask", "metrics": {"Requests": [1.0], "GuardrailInterventions": [1.0]}}
    ]


def test_an_answer_without_an_intervention_counts_none(
    call: Call, agent_runtime_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response(), ask_params(QUESTION))

    post(call, {"question": QUESTION})

    assert emitted(capsys.readouterr().out) == [{"route": "ask", "metrics": {"Requests": [1.0]}}]


@pytest.mark.parametrize(("code", "status"), [*MAPPED_ERRORS.items(), ("InternalServerException", 500)])
def test_ask_errors_are_generic(call: Call, agent_runtime_stub: Stubber, code: str, status: int) -> None:
    agent_runtime_stub.add_client_error(
        "retrieve_and_generate", code, f"Knowledge base {KB_ID} or model {GENERATION_MODEL_ARN} said no.", status
    )

    response = post(call, {"question": QUESTION})

    error = error_of(response)
    expected = 502 if status == 500 else status
    assert (response["statusCode"], error["code"]) == (expected, CODES.get(status, "UpstreamError"))
    assert not [secret for secret in SECRETS if secret in response["body"]]
    assert "said no" not in error["message"]
    assert header(response, "Retry-After") == ("5" if expected == 429 else None)


def test_an_ask_timeout_is_a_gateway_timeout(call: Call, services: Services) -> None:
    error = ReadTimeoutError(endpoint_url="https://bedrock-agent-runtime.us-east-1.amazonaws.com")
    services.agent_runtime = raise_on_call("bedrock-agent-runtime", "RetrieveAndGenerate", error)

    response = post(call, {"question": QUESTION})

    assert (response["statusCode"], error_of(response)["code"]) == (504, "Timeout")
