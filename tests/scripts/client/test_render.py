"""How the client prints answers: the renderers on partial answers, and streamed answers as they arrive."""

from __future__ import annotations

import pytest

from scripts.client_render import render_agent, render_ask, render_chat, render_models, render_retrieve

from .answers import (
    BLOCKED,
    CHAT_METADATA,
    HAIKU,
)
from .fakes import (
    API_URL,
    TOKEN,
    Api,
    FakeStream,
    Screen,
    frame,
)


def test_render_models_without_max_tokens() -> None:
    assert render_models({"models": [{"id": "m", "name": "M"}]}) == "id  name\n--  ----\nm   M"


def test_render_chat_tolerates_missing_fields() -> None:
    assert render_chat({}) == "(no answer)\n? · ? · tokens ?/? · ? ms"


def test_renderers_say_when_there_is_nothing() -> None:
    assert render_retrieve({"results": []}) == "(no passages)"
    assert render_ask({"guardrail": {"action": "INTERVENED"}}) == "(no answer)\n[guardrail intervened]"


def test_render_agent_tolerates_missing_fields() -> None:
    assert render_agent({}) == "(no answer)"
    assert render_agent({"confirmation": "not an object"}) == "(no answer)"
    assert render_agent({"confirmation": {"input": {"ticket_id": "T-1"}}}) == (
        'The agent wants to run ? with:\n  ticket_id: "T-1"'
    )


def test_chat_stream_prints_each_delta_as_it_arrives(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    stream = FakeStream(
        frame("delta", {"text": "Hello! "}),
        frame("delta", {"text": "How can I help?"}),
        frame("metadata", CHAT_METADATA),
        frame("done"),
    )
    api.opener.stream("POST", "/chat/stream", stream)
    screen = Screen(capsys)
    screen.watch(stream)

    assert api.run("chat", "Hello", "--model", HAIKU, "--max-tokens", "50", "--stream") == 0

    (call,) = api.opener.api_calls
    assert (call.method, call.url, call.timeout) == ("POST", API_URL + "chat/stream", 300.0)
    assert call.headers["Accept"] == "text/event-stream"
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.body == {"model": HAIKU, "messages": [{"role": "user", "content": "Hello"}], "maxTokens": 50}
    # Lines 1-3 are the first delta: the fourth readline comes after its text was printed, its space held back.
    assert stream.printed[:4] == ["", "", "", "Hello!"]
    assert stream.printed[6] == "Hello! How can I help?"
    assert screen() == "Hello! How can I help?\nanthropic.claude-haiku-4-5 · end_turn · tokens 12/7 · 840 ms\n"
    assert stream.closed


def test_chat_stream_withdraws_the_text_when_the_guardrail_intervenes(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = FakeStream(
        frame("delta", {"text": "The card number is"}),
        frame("guardrail", {"action": "INTERVENED", "message": BLOCKED, "assessments": []}),
        frame("delta", {"text": " 4111"}),
        frame("metadata", {**CHAT_METADATA, "stopReason": "guardrail_intervened"}),
        frame("done"),
    )
    api.opener.stream("POST", "/chat/stream", stream)

    assert api.run("chat", "Card?", "--model", HAIKU, "--stream") == 0

    assert capsys.readouterr().out == (
        "The card number is\n"
        "[guardrail intervened: the answer is withheld; disregard the text above]\n"
        f"{BLOCKED}\n"
        "anthropic.claude-haiku-4-5 · guardrail_intervened · tokens 12/7 · 840 ms\n"
    )


def test_ask_stream_prints_the_citations_and_the_session_after_the_text(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = FakeStream(
        frame("session", {"sessionId": "rag-2"}),
        frame("delta", {"text": "Upload them under documents/."}),
        frame("citation", {"text": "Upload them", "sources": ["ingest.md"]}),
        frame("citation", {"text": "documents/", "sources": ["faq.md", "faq.md"]}),
        frame("metadata", {"guardrail": {"action": "NONE"}}),
        frame("done"),
    )
    api.opener.stream("POST", "/ask/stream", stream)

    assert api.run("ask", "How do I add documents?", "--session-id", "rag-1", "--max-tokens", "300", "--stream") == 0

    assert api.opener.api_calls[0].body == {
        "question": "How do I add documents?",
        "sessionId": "rag-1",
        "maxTokens": 300,
    }
    assert capsys.readouterr().out == ("Upload them under documents/.\n  [1] ingest.md\n  [2] faq.md\nsession: rag-2\n")


def test_a_stream_blocked_before_any_text_shows_the_message_and_the_session(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = FakeStream(
        frame("session", {"sessionId": "agent-3"}),
        frame("guardrail", {"action": "INTERVENED", "message": BLOCKED}),
        frame("metadata", {"stopReason": "guardrail"}),
        frame("done"),
    )
    api.opener.stream("POST", "/agent/stream", stream)

    assert api.run("agent", "Card?", "--stream") == 0

    assert capsys.readouterr().out == f"[guardrail intervened: the answer is withheld]\n{BLOCKED}\nsession: agent-3\n"
