"""Every model call the function makes carries the guardrail: captured from the clients across all routes."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from api.clients import OPERATIONS
from api.sessions import ASK
from botocore.stub import Stubber

from .api_fakes import (
    BEDROCK_SESSION_ID,
    GUARDRAIL_CONFIG,
    GUARDRAIL_ID,
    GUARDRAIL_VERSION,
    HAIKU,
    NOVA,
    SONNET,
    FakeContext,
    ask_response,
    blocked_trace,
    bound,
    converse_response,
    rest_event,
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


def test_every_model_call_carries_the_guardrail(
    api: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
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
    chat = {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}], "system": "Be brief.", "maxTokens": 9}
    requests = [
        rest_event("POST", "/chat", chat),
        rest_event("POST", "/chat", {**chat, "model": NOVA}),
        rest_event("POST", "/compare", {"models": [HAIKU, SONNET, NOVA], "prompt": "Hi"}),
        rest_event("POST", "/compare", {"models": [HAIKU, SONNET], "prompt": "Hi", "temperature": 0.5}),
        rest_event("POST", "/ask", {"question": "How?"}),
        rest_event("POST", "/ask", {"question": "How?", "sessionId": bound(ASK, BEDROCK_SESSION_ID), "topK": 3}),
        rest_event("POST", "/retrieve", {"query": "sync"}),
    ]

    statuses = [api.handler(event, FakeContext())["statusCode"] for event in requests]

    assert statuses == [200] * 7
    operations = [name for name, _ in calls]
    assert operations == ["Converse"] * 7 + ["RetrieveAndGenerate"] * 2 + ["Retrieve"]
    # The packaging test checks the bundled SDK has every operation OPERATIONS lists.
    declared = {operation for names in OPERATIONS.values() for operation in names}
    assert set(operations) <= declared
    for name, params in calls:
        if name == "Converse":
            assert params["guardrailConfig"] == GUARDRAIL_CONFIG
        if name == "RetrieveAndGenerate":
            configuration = params["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]
            assert configuration["generationConfiguration"]["guardrailConfiguration"] == {
                "guardrailId": GUARDRAIL_ID,
                "guardrailVersion": GUARDRAIL_VERSION,
            }
    # The agent's turns go through the guardrail too: tests/lambda/api/test_api_agent.py.
