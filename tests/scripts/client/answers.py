"""What the API answers in the client tests: the canned bodies of its routes and stream events."""

from __future__ import annotations

from typing import Any

HAIKU = "anthropic.claude-haiku-4-5"
NOVA = "amazon.nova-lite-v1:0"
MODELS: dict[str, Any] = {
    "models": [
        {"id": HAIKU, "name": "Claude Haiku 4.5"},
        {"id": NOVA, "name": "Nova Lite"},
        {"id": "meta.llama3-8b", "name": "Llama 3 8B"},
    ],
    "maxTokens": {"default": 1024, "ceiling": 4096},
}
CHAT = {
    "model": HAIKU,
    "answer": "Hello! How can I help?",
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 7},
    "latencyMs": 840,
    "guardrail": {"action": "NONE"},
}
PASSAGES = {
    "results": [
        {
            "text": "Upload files under documents/.\nThey are ingested within minutes.",
            "score": 0.8234,
            "source": "ingest.md",
        },
        {"text": "See the FAQ.", "score": 0.5, "source": "faq.md", "metadata": {}},
    ]
}
ANSWER = {
    "answer": "Upload them under documents/ [1][2].",
    "citations": [
        {"text": "Upload them", "sources": ["ingest.md"]},
        {"text": "[2]", "sources": ["faq.md", "faq.md"]},
    ],
    "sessionId": "rag-1",
}
USAGE = {"inputTokens": 812, "outputTokens": 64, "totalTokens": 876}
AGENT_ANSWER = {
    "answer": "The last sync completed at 02:00 UTC.",
    "sessionId": "agent-1",
    "citations": [{"source": "ops.md"}, {"source": "faq.md"}],
    "stopReason": "end_turn",
    "usage": USAGE,
    "guardrail": {"action": "NONE"},
}
CONFIRMATION_ID = "eyJpZCI6InRvb2x1c2VfMSJ9.5f1c0ffee5f1c0ffee5f1c0ffee5f1c0"
CONFIRMATION: dict[str, Any] = {
    "answer": "",
    "sessionId": "agent-2",
    "citations": [],
    "stopReason": "tool_use",
    "usage": USAGE,
    "guardrail": {"action": "NONE"},
    "confirmation": {
        "id": CONFIRMATION_ID,
        "tool": "create_ticket",
        "input": {
            "subject": "Nightly sync failed",
            "description": 'The 02:00 sync stopped at\n"documents/ops.md".',
            "priority": "high",
        },
    },
}

CHAT_METADATA = {
    "model": HAIKU,
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19},
    "latencyMs": 840,
}
BLOCKED = "Sorry, I can't help with that request."
