"""Every model call the function makes carries the guardrail and a bounded maxTokens: captured across the routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api.clients import OPERATIONS
from api.sessions import ASK
from botocore.stub import Stubber

from .api_fakes import (
    BEDROCK_SESSION_ID,
    GUARDRAIL_CONFIG,
    GUARDRAIL_ID,
    GUARDRAIL_USAGE,
    GUARDRAIL_VERSION,
    HAIKU,
    NOVA,
    SONNET,
    SYSTEM_PROMPT,
    ask_response,
    blocked_trace,
    bound,
    converse_response,
    posted,
    retrieve_response,
)

Call = Callable[[dict[str, Any]], dict[str, Any]]


def capture(client: Any, calls: list[tuple[str, dict[str, Any]]]) -> None:
    """Record the parameters of every call of `client`, as the caller passed them."""

    def record(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        calls.append((model.name, dict(params)))

    client.meta.events.register(f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}", record)


@pytest.fixture
def calls(runtime: Any, agent_runtime: Any) -> list[tuple[str, dict[str, Any]]]:
    recorded: list[tuple[str, dict[str, Any]]] = []
    capture(runtime, recorded)
    capture(agent_runtime, recorded)
    return recorded


def passed() -> dict[str, Any]:
    """ApplyGuardrail's answer on a passage it lets through."""
    return {"usage": GUARDRAIL_USAGE, "action": "NONE", "outputs": [], "assessments": []}


def test_every_model_call_carries_the_guardrail_and_max_tokens(
    call: Call,
    calls: list[tuple[str, dict[str, Any]]],
    runtime_stub: Stubber,
    agent_runtime_stub: Stubber,
) -> None:
    for _ in range(5):
        runtime_stub.add_response("converse", converse_response())
    runtime_stub.add_response("converse", converse_response("Blocked.", "guardrail_intervened", blocked_trace()))
    runtime_stub.add_client_error("converse", "ThrottlingException", http_status_code=429)
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response())
    agent_runtime_stub.add_response("retrieve_and_generate", ask_response("INTERVENED"))
    agent_runtime_stub.add_response("retrieve", retrieve_response())
    for _ in range(2):
        runtime_stub.add_response("apply_guardrail", passed())
    chat = {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}], "maxTokens": 9}
    requests = [
        posted("/chat", chat),
        posted("/chat", {**chat, "model": NOVA, "maxTokens": 8000}),
        posted("/compare", {"models": [HAIKU, SONNET, NOVA], "prompt": "Hi"}),
        posted("/compare", {"models": [HAIKU, SONNET], "prompt": "Hi", "temperature": 0.5}),
        posted("/ask", {"question": "How?"}),
        posted("/ask", {"question": "How?", "sessionId": bound(ASK, BEDROCK_SESSION_ID), "topK": 3}),
        posted("/retrieve", {"query": "sync"}),
    ]

    statuses = [call(event)["statusCode"] for event in requests]

    assert statuses == [200] * 7
    operations = [name for name, _ in calls]
    assert operations == ["Converse"] * 7 + ["RetrieveAndGenerate"] * 2 + ["Retrieve"] + ["ApplyGuardrail"] * 2
    # The packaging test checks the bundled SDK has every operation OPERATIONS lists.
    declared = {operation for names in OPERATIONS.values() for operation in names}
    assert set(operations) <= declared
    converse = [params for name, params in calls if name == "Converse"]
    assert [params["inferenceConfig"]["maxTokens"] for params in converse] == [9, 4096, *[1024] * 5]
    for params in converse:
        assert params["guardrailConfig"] == GUARDRAIL_CONFIG
        assert params["system"] == [{"text": SYSTEM_PROMPT}]
    for name, params in calls:
        if name == "RetrieveAndGenerate":
            configuration = params["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]
            generation = configuration["generationConfiguration"]
            assert generation["guardrailConfiguration"] == {
                "guardrailId": GUARDRAIL_ID,
                "guardrailVersion": GUARDRAIL_VERSION,
            }
            assert generation["inferenceConfig"] == {"textInferenceConfig": {"maxTokens": 1024}}
        if name == "ApplyGuardrail":
            assert (params["guardrailIdentifier"], params["guardrailVersion"]) == (GUARDRAIL_ID, GUARDRAIL_VERSION)
            # Retrieved passages: text a model reads next, so the prompt-attack filter sees them too.
            assert params["source"] == "INPUT"
    # The agent's turns go through the guardrail too: tests/lambda/api/test_api_agent.py.
