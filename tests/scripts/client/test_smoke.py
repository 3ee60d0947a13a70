"""`client.py smoke`: every route once, a PASS, FAIL or SKIP line each, and the exit code."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .answers import (
    ANSWER,
    CHAT,
    CHAT_METADATA,
    HAIKU,
    MODELS,
    NOVA,
    PASSAGES,
)
from .fakes import (
    TOKEN,
    Api,
    FakeStream,
    StreamingOpener,
    api_error,
    frame,
)


def script_every_route(opener: StreamingOpener, chat_stream: FakeStream | None = None) -> None:
    opener.reply("GET", "/health", 200, {"status": "ok"})
    opener.reply("GET", "/models", 200, MODELS)
    opener.reply("POST", "/chat", 200, CHAT)
    opener.stream("POST", "/chat/stream", chat_stream or FakeStream(frame("delta", {"text": "ready"}), frame("done")))
    opener.reply("POST", "/compare", 200, {"results": [CHAT, {**CHAT, "model": NOVA}]})
    opener.reply("POST", "/retrieve", 200, PASSAGES)
    opener.reply("POST", "/ask", 200, ANSWER)
    opener.reply("POST", "/agent", 200, {"answer": "The last sync completed.", "sessionId": "smoke-1"})


SMOKE_ROUTES = [
    ("GET", "/health"),
    ("GET", "/models"),
    ("POST", "/chat"),
    ("POST", "/chat/stream"),
    ("POST", "/compare"),
    ("POST", "/retrieve"),
    ("POST", "/ask"),
    ("POST", "/agent"),
]


def test_smoke_passes_when_every_route_answers(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    script_every_route(api.opener)

    assert api.run("smoke") == 0

    calls = api.opener.api_calls
    assert [(call.method, call.path) for call in calls] == SMOKE_ROUTES
    assert "Authorization" not in calls[0].headers
    assert all(call.headers["Authorization"] == f"Bearer {TOKEN}" for call in calls[1:])
    assert len(api.opener.token_requests) == 1
    assert calls[2].body["model"] == HAIKU
    assert calls[3].body == calls[2].body
    assert calls[3].headers["Accept"] == "text/event-stream"
    assert calls[4].body["models"] == [HAIKU, NOVA]
    assert "ticket" not in calls[7].body["input"].lower()
    out, err = capsys.readouterr()
    *lines, summary = out.splitlines()
    assert len(lines) == len(SMOKE_ROUTES)
    for line, (method, path) in zip(lines, SMOKE_ROUTES, strict=True):
        assert re.fullmatch(rf"PASS  {method} +{path} +200 +\d+ ms", line), line
    assert summary == "smoke: 8 passed, 0 failed"
    assert err == ""


@pytest.mark.parametrize(
    ("route", "reply", "problem"),
    [
        pytest.param(
            "/chat",
            (502, api_error("ModelError", "the model did not answer", "req-7")),
            r"ModelError: the model did not answer \(request req-7\)",
            id="error status",
        ),
        pytest.param(
            "/compare",
            (200, {"results": [CHAT, {"model": NOVA, "error": {"code": "AccessDenied", "message": "no access"}}]}),
            r"amazon\.nova-lite-v1:0: AccessDenied: no access",
            id="one model failed",
        ),
    ],
)
def test_smoke_fails_when_one_route_fails(
    api: Api, capsys: pytest.CaptureFixture[str], route: str, reply: tuple[int, dict[str, Any]], problem: str
) -> None:
    status, answer = reply
    script_every_route(api.opener)
    api.opener.answers[("POST", route)].clear()
    api.opener.reply("POST", route, status, answer)

    assert api.run("smoke") == 1

    out, err = capsys.readouterr()
    lines = out.splitlines()
    failed = [line for line in lines if line.startswith("FAIL")]
    assert len(failed) == 1
    assert re.fullmatch(rf"FAIL  POST {route} +{status} +\d+ ms  {problem}", failed[0]), failed[0]
    assert lines[-1] == "smoke: 7 passed, 1 failed"
    assert [(call.method, call.path) for call in api.opener.api_calls] == SMOKE_ROUTES
    assert err == ""


@pytest.mark.parametrize(
    ("chunks", "problem"),
    [
        pytest.param(
            [frame("delta", {"text": "ready"})],
            r"InvalidResponse: POST /chat/stream: the stream ended without a done event",
            id="no done",
        ),
        pytest.param(
            [
                frame("delta", {"text": "rea"}),
                frame("error", {"code": "Timeout", "message": "Too slow.", "requestId": "r-8"}),
            ],
            r"Timeout: Too slow\. \(request r-8\)",
            id="error event",
        ),
        pytest.param(
            [frame("metadata", CHAT_METADATA), frame("done")],
            r"no delta event: the stream carried no text",
            id="no text",
        ),
    ],
)
def test_smoke_fails_when_the_stream_fails(
    api: Api, capsys: pytest.CaptureFixture[str], chunks: list[bytes], problem: str
) -> None:
    script_every_route(api.opener, FakeStream(*chunks))

    assert api.run("smoke") == 1

    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("FAIL")] == [lines[3]]
    assert re.fullmatch(rf"FAIL  POST /chat/stream 200 +\d+ ms  {problem}", lines[3]), lines[3]
    assert lines[-1] == "smoke: 7 passed, 1 failed"


def test_smoke_reports_a_refused_stream_with_its_status(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    script_every_route(api.opener)
    api.opener.answers[("POST", "/chat/stream")].clear()
    api.opener.reply(
        "POST", "/chat/stream", 404, {"message": "Missing Authentication Token"}, {"x-amzn-RequestId": "g"}
    )

    assert api.run("smoke") == 1

    line = capsys.readouterr().out.splitlines()[3]
    assert re.fullmatch(
        r"FAIL  POST /chat/stream 404 +\d+ ms  Not Found: Missing Authentication Token \(request g\)", line
    )


def test_smoke_does_not_chat_without_models(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("GET", "/health", 200, {"status": "ok"})
    api.opener.reply("GET", "/models", 500, api_error("InternalError", "boom", "req-1"))
    for route, answer in [("/retrieve", PASSAGES), ("/ask", ANSWER), ("/agent", ANSWER)]:
        api.opener.reply("POST", route, 200, answer)

    assert api.run("smoke") == 1

    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"FAIL  GET  /models      500 +\d+ ms  InternalError: boom \(request req-1\)", lines[1])
    assert lines[2:5] == [
        "FAIL  POST /chat          -        -  not run: GET /models gave no model",
        "FAIL  POST /chat/stream   -        -  not run: GET /models gave no model",
        "FAIL  POST /compare       -        -  not run: GET /models gave no model",
    ]
    assert lines[-1] == "smoke: 4 passed, 4 failed"


def test_smoke_skips_compare_with_a_single_model(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("GET", "/health", 200, {"status": "ok"})
    api.opener.reply("GET", "/models", 200, {"models": MODELS["models"][:1]})
    for route, answer in [("/chat", CHAT), ("/retrieve", PASSAGES), ("/ask", ANSWER), ("/agent", ANSWER)]:
        api.opener.reply("POST", route, 200, answer)
    api.opener.stream("POST", "/chat/stream", FakeStream(frame("delta", {"text": "ready"}), frame("done")))

    assert api.run("smoke") == 0

    out = capsys.readouterr().out
    assert "SKIP  POST /compare       -        -  needs two models, GET /models listed one\n" in out
    assert out.endswith("smoke: 7 passed, 0 failed, 1 skipped\n")


def test_smoke_json(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    script_every_route(api.opener)

    assert api.run("smoke", "--json") == 0

    results = json.loads(capsys.readouterr().out)
    assert [result["route"] for result in results] == [f"{method} {path}" for method, path in SMOKE_ROUTES]
    assert {(result["result"], result["status"], result["problem"]) for result in results} == {("PASS", 200, "")}
