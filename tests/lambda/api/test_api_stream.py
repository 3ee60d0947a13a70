"""POST /chat/stream, /ask/stream and /agent/stream: the streaming app as the Lambda Web Adapter drives it.

The app (api.stream) is served by starlette's TestClient, which streams the body as the app sends it. Requests
carry what the adapter sends (tests/lambda/api/sse_client.py); bodies first pass the route's request model, as
API Gateway checks them. The model streams are real clients answered at the HTTP layer with event-stream
frames (tests/eventstream.py), so botocore parses them and raises their error frames as it would in Lambda.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from api import guardrail
from api.clients import CLIENT_CONFIG
from api.config import from_environ
from api.limits import WINDOW_SECONDS, Limiter
from api.services import Services, tool_groups
from api.sessions import AGENT, ASK
from api.toolbox import Toolbox
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto.core.models import botocore_stubber

from tests.aws import offline_client
from tests.eventstream import HttpStub, error_response, event, exception

from .api_fakes import (
    API_REQUEST_ID,
    BEDROCK_SESSION_ID,
    BLOCKED_OUTPUT_MESSAGE,
    CALLER_CALLS_PER_MINUTE,
    GENERATION_MODEL_ARN,
    GUARDRAIL_CONFIG,
    GUARDRAIL_ID,
    GUARDRAIL_USAGE,
    GUARDRAIL_VERSION,
    HAIKU,
    HARNESS_ARN,
    HARNESS_ENDPOINT,
    KB_ID,
    ORIGIN,
    OTHER_PERSON,
    REQUEST_ID,
    ask_params,
    bound,
    caller,
    converse_params,
    emitted,
    reference,
)
from .sse_client import (
    Event,
    StreamViolation,
    TestClient,
    answer,
    events_of,
    lambda_context,
    lwa_headers,
    names,
    parse,
    post,
)
from .test_api_telemetry import throttle_counts

# The limiter's clock: a fixed instant, so that a test never straddles two minutes of the budget.
NOW = 1_767_268_815.0
STREAM_TIMEOUT_SECONDS = 120
HELLO = [("user", "Hi there")]
USAGE = {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17}
QUESTION = "How do documents get into the knowledge base?"
# What an upstream error says: resource names and an account, none of which a caller may see.
UPSTREAM_DETAIL = f"Model {GENERATION_MODEL_ARN} failed for guardrail {GUARDRAIL_ID} in knowledge base {KB_ID}"
SECRETS = ("arn:", "123456789012", GUARDRAIL_ID, KB_ID, HARNESS_ARN, "failed for")
NEW_TICKET = {"subject": "Nightly sync failed", "description": "The 02:00 sync stopped.", "priority": "high"}
VIOLENCE = {"contentPolicy": {"filters": [{"type": "VIOLENCE", "confidence": "HIGH", "action": "BLOCKED"}]}}
VIOLENCE_SUMMARY = {"policy": "contentPolicy", "type": "VIOLENCE", "action": "BLOCKED"}


class Frames:
    """An event-stream body whose frames are made only when the client reads them; `made` counts them."""

    def __init__(self, frames: Iterable[bytes]) -> None:
        self._frames = iter(frames)
        self.made = 0

    def stream(self, **_: Any) -> Iterator[bytes]:
        for frame in self._frames:
            self.made += 1
            yield frame

    def close(self) -> None:
        """Nothing to release."""


def streamed(frames: Iterable[bytes], headers: Mapping[str, str] | None = None) -> AWSResponse:
    """A 200 event-stream response whose frames are produced lazily."""
    all_headers = {"content-type": "application/vnd.amazon.eventstream", **(headers or {})}
    return AWSResponse("https://stub.invalid", 200, all_headers, Frames(frames))


def http_stub(service: str, operation: str) -> HttpStub:
    """A client of `service` whose `operation` only the stub answers (moto, active for the tables, never)."""
    client = offline_client(service, CLIENT_CONFIG)
    client.meta.events.unregister("before-send", botocore_stubber)
    return HttpStub(client, operation)


@pytest.fixture
def converse_stream(environment: dict[str, str]) -> Iterator[HttpStub]:
    """bedrock-runtime whose ConverseStream calls are answered at the HTTP layer."""
    stub = http_stub("bedrock-runtime", "ConverseStream")
    yield stub
    stub.assert_done()


@pytest.fixture
def rag_stream(environment: dict[str, str]) -> Iterator[HttpStub]:
    """bedrock-agent-runtime whose RetrieveAndGenerateStream calls are answered at the HTTP layer."""
    stub = http_stub("bedrock-agent-runtime", "RetrieveAndGenerateStream")
    yield stub
    stub.assert_done()


@pytest.fixture
def stream_services(
    *,
    environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    converse_stream: HttpStub,
    rag_stream: HttpStub,
    harness: HttpStub,
    usage_table: Any,
    tickets_table: Any,
) -> Services:
    """What the streaming routes run with: the HTTP-stubbed streams, the moto tables, the ticket tools."""
    monkeypatch.setattr(guardrail, "MAX_PARALLEL", 1)
    return Services(
        settings=from_environ(environment),
        runtime=converse_stream.client,
        agent_runtime=rag_stream.client,
        agentcore=harness.client,
        toolbox=Toolbox(tool_groups(lambda _: tickets_table)),
        limiter=Limiter(usage_table, CALLER_CALLS_PER_MINUTE, clock=lambda: NOW),
    )


@pytest.fixture
def stream_app(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, stream_services: Services) -> ModuleType:
    """api.stream, loaded under the function's environment, running with `stream_services`."""
    monkeypatch.setenv("STREAM_TIMEOUT_SECONDS", str(STREAM_TIMEOUT_SECONDS))
    module = importlib.reload(importlib.import_module("api.stream"))
    monkeypatch.setattr(module, "services", stream_services)
    return module


@pytest.fixture
def client(stream_app: ModuleType) -> Iterator[TestClient]:
    with TestClient(stream_app.app) as test_client:
        yield test_client


@pytest.fixture
def agent_client(client: TestClient, stream_services: Services, runtime_stub: Stubber) -> TestClient:
    """The app with bedrock-runtime's ApplyGuardrail answered by `runtime_stub` (the agent's guardrail)."""
    stream_services.runtime = runtime_stub.client
    return client


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    """A JSON error response, not an event stream: the envelope, with the Lambda request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert not response.content.startswith(b"event:")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "requestId"}
    assert error["code"] == code
    assert error["requestId"] == REQUEST_ID
    return error


def assert_failed_without_detail(events: list[Event], code: str, raw: bytes) -> None:
    """The stream ends with an `error` event in the envelope; nothing upstream said reaches the client."""
    assert events[-1].name == "error"
    assert "done" not in names(events)
    assert set(events[-1].data) == {"code", "message", "requestId"}
    assert events[-1].data["code"] == code
    assert events[-1].data["requestId"] == REQUEST_ID
    for secret in SECRETS:
        assert secret not in raw.decode()


# --- the client's parser -------------------------------------------------------------------------------------------


def test_the_parser_reads_events_as_a_browser_does() -> None:
    body = b'\xef\xbb\xbf: ping\r\nevent: delta\r\ndata: {"text":\r\ndata:"Hi"}\r\n\r\nevent:done\ndata: {}\n\n'

    assert parse(body) == [Event("delta", {"text": "Hi"}), Event("done", {})]


@pytest.mark.parametrize(
    "body",
    [
        b'event: chunk\ndata: {"text": "Hi"}\n\n',
        b'data: {"text": "Hi"}\n\n',
        b"event: delta\ndata: Hi\n\n",
        b'event: delta\ndata: ["Hi"]\n\n',
        b"event: done\n\n",
        b"event: done\ndata: {}\n",
        b"event: done\ndata: {}",
        b"event: done\nevent: delta\ndata: {}\n\n",
        b"event: done\nvalue: 1\ndata: {}\n\n",
    ],
)
def test_the_parser_refuses_what_a_strict_client_would(body: bytes) -> None:
    with pytest.raises(StreamViolation):
        parse(body)


# --- /chat/stream -------------------------------------------------------------------------------------------------


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": HAIKU, "messages": [{"role": role, "content": text} for role, text in HELLO], **extra}


def converse_frames(*pieces: str, stop: str = "end_turn", trace: Mapping[str, Any] | None = None) -> list[bytes]:
    """A ConverseStream answer: the text in pieces, its stop reason, then its metadata."""
    frames = [event("messageStart", {"role": "assistant"})]
    frames += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}}) for piece in pieces]
    frames += [event("contentBlockStop", {"contentBlockIndex": 0}), event("messageStop", {"stopReason": stop})]
    metadata: dict[str, Any] = {"usage": USAGE, "metrics": {"latencyMs": 321}}
    if trace is not None:
        metadata["trace"] = trace
    return [*frames, event("metadata", metadata)]


def test_chat_streams_the_answer_as_it_is_generated(client: TestClient, converse_stream: HttpStub) -> None:
    converse_stream.responses.append(streamed(converse_frames("Hel", "lo, ", "Ana!")))

    response = post(client, "chat", chat_body())

    events = events_of(response)
    assert events == [
        Event("delta", {"text": "Hel"}),
        Event("delta", {"text": "lo, "}),
        Event("delta", {"text": "Ana!"}),
        Event("metadata", {"model": HAIKU, "stopReason": "end_turn", "usage": USAGE, "latencyMs": 321}),
        Event("done", {}),
    ]
    assert answer(events) == "Hello, Ana!"
    assert response.headers["cache-control"] == "no-cache"
    assert converse_stream.calls == [converse_params(HAIKU, HELLO, stream=True)]


def test_chat_stream_passes_the_callers_inference_settings(client: TestClient, converse_stream: HttpStub) -> None:
    converse_stream.responses.append(streamed(converse_frames("Hi.")))

    events_of(post(client, "chat", chat_body(maxTokens=4500, temperature=0.2, topP=0.9)))

    [request] = converse_stream.calls
    assert request["inferenceConfig"] == {"maxTokens": 4096, "temperature": 0.2, "topP": 0.9}


def test_the_first_event_leaves_before_the_model_has_finished(client: TestClient, converse_stream: HttpStub) -> None:
    # The model's later frames are made only once the client holds the first event: a response that waited for
    # them would make the producer wait out its gate.
    gate = threading.Event()
    waited_out: list[bool] = []

    def frames() -> Iterator[bytes]:
        first, *rest = converse_frames("Hel", "lo")
        yield first
        yield rest[0]
        waited_out.append(not gate.wait(timeout=5))
        yield from rest[1:]

    response_frames = streamed(frames())
    converse_stream.responses.append(response_frames)
    path = "/chat/stream"
    with client.stream("POST", path, json=chat_body(), headers=lwa_headers(path)) as response:
        chunks = response.iter_raw()
        first = next(chunks)
        made_before = response_frames.raw.made
        gate.set()
        rest = b"".join(chunks)

    assert parse(first) == [Event("delta", {"text": "Hel"})]
    assert made_before == 2
    assert waited_out == [False]
    assert names(parse(first + rest)) == ["delta", "delta", "metadata", "done"]


def test_a_guardrail_intervention_mid_stream_replaces_the_answer(
    client: TestClient, converse_stream: HttpStub, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = {"guardrail": {"outputAssessments": {GUARDRAIL_ID: [VIOLENCE]}}}
    converse_stream.responses.append(
        streamed(converse_frames("First, take ", "the", stop="guardrail_intervened", trace=trace))
    )

    events = events_of(post(client, "chat", chat_body()))

    assert names(events) == ["delta", "delta", "guardrail", "metadata", "done"]
    assert events[2].data == {
        "action": "INTERVENED",
        "message": BLOCKED_OUTPUT_MESSAGE,
        "assessments": [{"stage": "output", **VIOLENCE_SUMMARY}],
    }
    assert events[3].data["stopReason"] == "guardrail_intervened"
    [request] = converse_stream.calls
    assert request["guardrailConfig"] == {**GUARDRAIL_CONFIG, "streamProcessingMode": "sync"}
    [record] = emitted(capsys.readouterr().out)
    assert record == {"route": "chat-stream", "metrics": {"Requests": [1.0], "GuardrailInterventions": [1.0]}}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("internalServerException", "UpstreamError"),
        ("modelStreamErrorException", "UpstreamError"),
        ("serviceUnavailableException", "UpstreamError"),
        ("throttlingException", "Throttled"),
    ],
)
def test_an_upstream_error_mid_stream_ends_it_with_an_error_event(
    client: TestClient, converse_stream: HttpStub, frame: str, code: str
) -> None:
    *frames, _, _, _ = converse_frames("Hel", "lo")
    converse_stream.responses.append(streamed([*frames, exception(frame, UPSTREAM_DETAIL)]))

    response = post(client, "chat", chat_body())

    events = events_of(response)
    assert names(events) == ["delta", "delta", "error"]
    assert_failed_without_detail(events, code, response.content)


def test_an_error_before_the_first_event_is_a_json_error(client: TestClient, converse_stream: HttpStub) -> None:
    converse_stream.responses.append(streamed([exception("internalServerException", UPSTREAM_DETAIL)]))

    response = post(client, "chat", chat_body())

    refused(response, 502, "UpstreamError")
    assert not any(secret in response.text for secret in SECRETS)


@pytest.mark.parametrize(
    ("status", "aws_code", "code"),
    [(403, "AccessDeniedException", "AccessDenied"), (429, "ThrottlingException", "Throttled")],
)
def test_a_refused_stream_request_is_a_json_error(
    client: TestClient, converse_stream: HttpStub, status: int, aws_code: str, code: str
) -> None:
    converse_stream.responses.append(error_response(status, aws_code, UPSTREAM_DETAIL))

    response = post(client, "chat", chat_body())

    refused(response, status, code)
    assert not any(secret in response.text for secret in SECRETS)


def test_an_unknown_model_is_a_400_before_any_call(client: TestClient) -> None:
    response = post(client, "chat", chat_body(model="anthropic.claude-v2"))

    assert "model" in refused(response, 400, "BadRequest")["message"]


def test_a_request_over_the_text_limit_is_a_413_before_any_call(client: TestClient) -> None:
    turns = [("user", "a" * 8000), ("assistant", "b" * 8000), ("user", "c" * 8000)]
    body = chat_body(messages=[{"role": role, "content": text} for role, text in turns])

    refused(post(client, "chat", body), 413, "TooLarge")


# --- every streaming route ----------------------------------------------------------------------------------------

BODIES = {
    "chat": chat_body(),
    "ask": {"question": QUESTION},
    "agent": {"input": "Hello"},
}


@pytest.mark.parametrize("route", sorted(BODIES))
def test_a_request_without_verified_claims_is_a_401(client: TestClient, route: str) -> None:
    refused(post(client, route, BODIES[route], claims=None), 401, "Unauthorized")


@pytest.mark.parametrize("route", sorted(BODIES))
def test_a_caller_whose_budget_is_spent_gets_a_429(client: TestClient, usage_table: Any, route: str) -> None:
    window = int(NOW // WINDOW_SECONDS)
    usage_table.put_item(Item={"caller_window": f"{caller().id}#{window}", "calls": CALLER_CALLS_PER_MINUTE})

    response = post(client, route, BODIES[route])

    refused(response, 429, "RateLimited")
    assert int(response.headers["retry-after"]) == (window + 1) * WINDOW_SECONDS - int(NOW)


@pytest.mark.parametrize(("route", "purpose"), [("ask", ASK), ("agent", AGENT)])
def test_another_callers_session_is_refused_before_any_call(client: TestClient, route: str, purpose: str) -> None:
    theirs = bound(purpose, "a" * 32, OTHER_PERSON)

    refused(post(client, route, {**BODIES[route], "sessionId": theirs}), 403, "SessionNotYours")


def test_the_readiness_check_answers(client: TestClient) -> None:
    response = client.get("/ready")

    assert response.status_code == 200


@pytest.mark.parametrize(("origin", "allowed"), [(ORIGIN, True), ("https://elsewhere.example", False)])
def test_a_configured_origin_may_read_the_stream_and_its_errors(
    client: TestClient, converse_stream: HttpStub, origin: str, allowed: bool
) -> None:
    converse_stream.responses.append(streamed(converse_frames("Hi.")))

    streamed_response = post(client, "chat", chat_body(), headers={"origin": origin})
    refusal = post(client, "chat", chat_body(), claims=None, headers={"origin": origin})

    for response in (streamed_response, refusal):
        assert response.headers.get("access-control-allow-origin") == (origin if allowed else None)


def test_a_refusal_is_not_logged_under_the_previous_caller(
    stream_app: ModuleType, client: TestClient, converse_stream: HttpStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    converse_stream.responses.append(streamed(converse_frames("Hi.")))
    events_of(post(client, "chat", chat_body()))
    log = io.StringIO()
    monkeypatch.setattr(stream_app.logger.registered_handler, "stream", log)

    refused(post(client, "chat", chat_body(), claims=None), 401, "Unauthorized")

    records = [json.loads(line) for line in log.getvalue().splitlines()]
    [refusal] = [record for record in records if record["message"] == "Request refused"]
    assert refusal["request_id"] == REQUEST_ID
    assert "caller" not in refusal
    # The same correlation id as the buffered function's records: API Gateway's request id.
    assert refusal["correlation_id"] == API_REQUEST_ID


# --- /ask/stream --------------------------------------------------------------------------------------------------

SYNC_MD = "s3://genai-documents-123456789012/documents/guides/sync.md"
FAQ_MD = "s3://genai-documents-123456789012/documents/faq.md"


def rag_citation(text: str, *uris: str) -> bytes:
    part = {"textResponsePart": {"text": text, "span": {"start": 0, "end": len(text) - 1}}}
    return event("citation", {"generatedResponsePart": part, "retrievedReferences": [reference(uri) for uri in uris]})


def rag_session(frames: Iterable[bytes]) -> AWSResponse:
    """A RetrieveAndGenerateStream response: Bedrock names the session in a header."""
    return streamed(frames, {"x-amzn-bedrock-knowledge-base-session-id": BEDROCK_SESSION_ID})


def test_ask_streams_the_session_the_answer_and_its_citations(client: TestClient, rag_stream: HttpStub) -> None:
    rag_stream.responses.append(
        rag_session(
            [
                event("output", {"text": "Upload the file under documents/"}),
                rag_citation("Upload the file under documents/", SYNC_MD, FAQ_MD, SYNC_MD),
                event("output", {"text": "; it syncs within a minute."}),
            ]
        )
    )

    response = post(client, "ask", {"question": QUESTION})

    events = events_of(response)
    assert events == [
        Event("session", {"sessionId": bound(ASK, BEDROCK_SESSION_ID)}),
        Event("delta", {"text": "Upload the file under documents/"}),
        Event("citation", {"source": "guides/sync.md", "text": "Upload the file under documents/"}),
        Event("citation", {"source": "faq.md", "text": "Upload the file under documents/"}),
        Event("delta", {"text": "; it syncs within a minute."}),
        Event("metadata", {"guardrail": {"action": "NONE"}}),
        Event("done", {}),
    ]
    assert answer(events) == "Upload the file under documents/; it syncs within a minute."
    assert "s3://" not in response.text
    assert rag_stream.calls == [ask_params(QUESTION)]


def test_ask_stream_continues_the_callers_own_session(client: TestClient, rag_stream: HttpStub) -> None:
    rag_stream.responses.append(rag_session([event("output", {"text": "Yes."})]))

    events = events_of(post(client, "ask", {"question": QUESTION, "sessionId": bound(ASK, BEDROCK_SESSION_ID)}))

    assert events[0] == Event("session", {"sessionId": bound(ASK, BEDROCK_SESSION_ID)})
    assert rag_stream.calls == [ask_params(QUESTION, sessionId=BEDROCK_SESSION_ID)]


def test_ask_stream_reports_a_guardrail_intervention(
    client: TestClient, rag_stream: HttpStub, capsys: pytest.CaptureFixture[str]
) -> None:
    rag_stream.responses.append(
        rag_session([event("output", {"text": "Here is "}), event("guardrail", {"action": "INTERVENED"})])
    )

    events = events_of(post(client, "ask", {"question": QUESTION}))

    assert events[1:] == [
        Event("delta", {"text": "Here is "}),
        Event("guardrail", {"action": "INTERVENED", "message": BLOCKED_OUTPUT_MESSAGE}),
        Event("metadata", {"guardrail": {"action": "INTERVENED"}}),
        Event("done", {}),
    ]
    [record] = emitted(capsys.readouterr().out)
    assert record["metrics"]["GuardrailInterventions"] == [1.0]


def test_ask_stream_ends_with_an_error_event_when_bedrock_fails(client: TestClient, rag_stream: HttpStub) -> None:
    frames = [event("output", {"text": "Upload"}), exception("dependencyFailedException", UPSTREAM_DETAIL)]
    rag_stream.responses.append(rag_session(frames))

    response = post(client, "ask", {"question": QUESTION})

    events = events_of(response)
    assert names(events) == ["session", "delta", "error"]
    assert_failed_without_detail(events, "UpstreamError", response.content)


# --- /agent/stream ------------------------------------------------------------------------------------------------

FIRST = "To add documents, upload them to the documents bucket under the documents/ prefix, in a folder you choose."
SECOND = "The knowledge base syncs new and changed files within a minute, and I can search them once it finishes."
LAST = "Ask me again then."


def tokens(text: str) -> list[str]:
    """Text as a model streams it: words with their leading space, punctuation on its own."""
    pieces = re.findall(r" ?\w+| ?[^\w ]", text)
    assert "".join(pieces) == text
    return pieces


def text_turn(text: str, *, ending: Iterable[bytes] | None = None) -> list[bytes]:
    """A harness turn answering `text` token by token; `ending` replaces its stop and metadata frames."""
    frames = [event("messageStart", {"role": "assistant"})]
    frames += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in tokens(text)]
    if ending is not None:
        return [*frames, *ending]
    return [
        *frames,
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "end_turn"}),
        event("metadata", {"usage": USAGE, "metrics": {"latencyMs": 9}}),
    ]


def tool_turn(name: str, arguments: Mapping[str, Any], text: str) -> list[bytes]:
    """A harness turn that says `text`, then hands an inline tool call back."""
    use = {"toolUseId": "tooluse_1", "name": name, "type": "tool_use"}
    return [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}}),
        event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": use}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": json.dumps(arguments)}}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event("messageStop", {"stopReason": "tool_use"}),
        event("metadata", {"usage": USAGE, "metrics": {"latencyMs": 9}}),
    ]


def checks(stub: Stubber, text: str, source: str, response: Mapping[str, Any] | None = None) -> None:
    """The guardrail checks exactly `text` (and lets it through unless told otherwise)."""
    params = {
        "guardrailIdentifier": GUARDRAIL_ID,
        "guardrailVersion": GUARDRAIL_VERSION,
        "source": source,
        "content": [{"text": {"text": text}}],
    }
    passed = {"usage": GUARDRAIL_USAGE, "action": "NONE", "outputs": [], "assessments": []}
    stub.add_response("apply_guardrail", response or passed, params)


BLOCKED = {
    "usage": GUARDRAIL_USAGE,
    "action": "GUARDRAIL_INTERVENED",
    "outputs": [{"text": BLOCKED_OUTPUT_MESSAGE}],
    "assessments": [VIOLENCE],
}


def test_agent_streams_the_answer_a_checked_sentence_piece_at_a_time(
    agent_client: TestClient, runtime_stub: Stubber, harness: HttpStub
) -> None:
    checks(runtime_stub, "How do I add documents?", "INPUT")
    harness.responses.append(streamed(text_turn(f"{FIRST} {SECOND} {LAST}")))
    # Released at the last sentence end once a piece is long enough; the rest when the turn ends.
    checks(runtime_stub, f"{FIRST} {SECOND} ", "OUTPUT")
    checks(runtime_stub, LAST, "OUTPUT")

    events = events_of(post(agent_client, "agent", {"input": "How do I add documents?"}))

    session = events[0].data["sessionId"]
    assert events == [
        Event("session", {"sessionId": session}),
        Event("delta", {"text": f"{FIRST} {SECOND} "}),
        Event("delta", {"text": LAST}),
        Event("metadata", {"stopReason": "end_turn", "usage": USAGE}),
        Event("done", {}),
    ]
    [request] = harness.calls
    assert request == {
        "harnessArn": HARNESS_ARN,
        "qualifier": HARNESS_ENDPOINT,
        "runtimeSessionId": session,
        "actorId": caller().id,
        "messages": [{"role": "user", "content": [{"text": "How do I add documents?"}]}],
        "timeoutSeconds": STREAM_TIMEOUT_SECONDS - 15,
    }


def test_agent_stream_asks_to_confirm_a_state_change_and_runs_it_once_approved(
    agent_client: TestClient, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    checks(runtime_stub, "Open a ticket", "INPUT")
    harness.responses.append(streamed(tool_turn("create_ticket", NEW_TICKET, "I will open this ticket.")))
    checks(runtime_stub, "I will open this ticket.", "OUTPUT")

    events = events_of(post(agent_client, "agent", {"input": "Open a ticket"}))

    assert names(events) == ["session", "delta", "confirmation", "metadata", "done"]
    confirmation = events[2].data
    assert {key: confirmation[key] for key in ("tool", "input")} == {"tool": "create_ticket", "input": NEW_TICKET}
    assert events[3].data["stopReason"] == "tool_use"
    assert tickets_table.scan()["Items"] == []

    session = events[0].data["sessionId"]
    harness.responses.append(streamed(text_turn("Done.")))
    checks(runtime_stub, "Done.", "OUTPUT")
    decision = {"sessionId": session, "confirm": {"id": confirmation["id"], "approve": True}}

    approved = events_of(post(agent_client, "agent", decision))

    assert approved[0] == Event("session", {"sessionId": session})
    assert answer(approved) == "Done."
    [ticket] = tickets_table.scan()["Items"]
    assert ticket["owner"] == caller().id
    assert ticket["subject"] == NEW_TICKET["subject"]
    [block] = harness.calls[1]["messages"][0]["content"]
    assert block["toolResult"]["status"] == "success"


def test_agent_stream_separates_the_answers_of_two_turns(
    agent_client: TestClient, runtime_stub: Stubber, harness: HttpStub
) -> None:
    checks(runtime_stub, "What are my tickets?", "INPUT")
    harness.responses.append(streamed(tool_turn("list_tickets", {}, "Let me look.")))
    checks(runtime_stub, "Let me look.", "OUTPUT")
    harness.responses.append(streamed(text_turn("You have none.")))
    checks(runtime_stub, "\n\nYou have none.", "OUTPUT")

    events = events_of(post(agent_client, "agent", {"input": "What are my tickets?"}))

    assert answer(events) == "Let me look.\n\nYou have none."
    assert "confirmation" not in names(events)


def test_agent_stream_cites_the_documents_its_search_returned(
    agent_client: TestClient, runtime_stub: Stubber, harness: HttpStub
) -> None:
    checks(runtime_stub, "How fast is the sync?", "INPUT")
    result = json.dumps({"results": [{"text": "…", "source": source} for source in ("guides/sync.md", "faq.md")]})
    use = {"toolUseId": "tooluse_s", "name": "knowledge___search_documents", "type": "mcp_tool_use"}
    harness.responses.append(
        streamed(
            [
                event("messageStart", {"role": "assistant"}),
                event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": use}}),
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{}"}}}),
                event("contentBlockStop", {"contentBlockIndex": 0}),
                event(
                    "contentBlockStart", {"contentBlockIndex": 1, "start": {"toolResult": {"toolUseId": "tooluse_s"}}}
                ),
                event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolResult": [{"text": result}]}}),
                event("contentBlockStop", {"contentBlockIndex": 1}),
                *text_turn("Within a minute.")[1:],
            ]
        )
    )
    checks(runtime_stub, "Within a minute.", "OUTPUT")

    events = events_of(post(agent_client, "agent", {"input": "How fast is the sync?"}))

    assert [event.data for event in events if event.name == "citation"] == [
        {"source": "guides/sync.md"},
        {"source": "faq.md"},
    ]
    assert names(events)[-2:] == ["metadata", "done"]


def test_agent_stream_stops_at_the_piece_the_guardrail_blocks(
    agent_client: TestClient, runtime_stub: Stubber, harness: HttpStub, capsys: pytest.CaptureFixture[str]
) -> None:
    checks(runtime_stub, "Tell me a story", "INPUT")
    harness.responses.append(streamed(text_turn(f"{FIRST} {SECOND} {FIRST} {SECOND} {LAST}")))
    checks(runtime_stub, f"{FIRST} {SECOND} ", "OUTPUT")
    checks(runtime_stub, f"{FIRST} {SECOND} ", "OUTPUT", BLOCKED)

    events = events_of(post(agent_client, "agent", {"input": "Tell me a story"}))

    assert names(events) == ["session", "delta", "guardrail", "metadata", "done"]
    assert events[2].data == {
        "action": "INTERVENED",
        "message": BLOCKED_OUTPUT_MESSAGE,
        "assessments": [{"stage": "output", **VIOLENCE_SUMMARY}],
    }
    assert LAST not in answer(events)
    [record] = emitted(capsys.readouterr().out)
    assert record == {"route": "agent-stream", "metrics": {"Requests": [1.0], "GuardrailInterventions": [1.0]}}


def test_agent_stream_never_sends_a_message_the_guardrail_blocks_to_the_harness(
    agent_client: TestClient, runtime_stub: Stubber, harness: HttpStub
) -> None:
    checks(runtime_stub, "Which stock should I buy?", "INPUT", BLOCKED)

    events = events_of(post(agent_client, "agent", {"input": "Which stock should I buy?"}))

    assert names(events) == ["session", "guardrail", "metadata", "done"]
    assert events[1].data["message"] == BLOCKED_OUTPUT_MESSAGE
    assert harness.calls == []


def test_agent_stream_ends_with_an_error_event_when_the_harness_fails(
    agent_client: TestClient, runtime_stub: Stubber, harness: HttpStub
) -> None:
    checks(runtime_stub, "How do I add documents?", "INPUT")
    failure = exception("internalServerException", f"{HARNESS_ARN} failed for {GUARDRAIL_ID}")
    harness.responses.append(streamed(text_turn(f"{FIRST} {SECOND} {LAST}", ending=[failure])))
    checks(runtime_stub, f"{FIRST} {SECOND} ", "OUTPUT")

    response = post(agent_client, "agent", {"input": "How do I add documents?"})

    events = events_of(response)
    assert names(events) == ["session", "delta", "error"]
    assert LAST not in response.text
    assert_failed_without_detail(events, "UpstreamError", response.content)


def test_only_an_admin_may_ask_the_stream_for_a_trace(agent_client: TestClient) -> None:
    response = post(agent_client, "agent", {"input": "Hello", "trace": True})

    refused(response, 403, "TraceNotAllowed")


# --- run.sh: how the adapter starts the app -----------------------------------------------------------------------

RUN_SH = Path(__file__).resolve().parents[3] / "lambda" / "api" / "run.sh"
# Prints what it was started with instead of running the app.
FAKE_PYTHON = """#!/bin/sh
exec "{python}" -c 'import json, os, sys
print(json.dumps({{"argv": sys.argv[1:], "pid": os.getpid(), "pythonpath": os.environ.get("PYTHONPATH")}}))' "$@"
"""


def test_run_sh_is_an_executable_bash_script() -> None:
    text = RUN_SH.read_bytes()

    assert text.startswith(b"#!/bin/bash\n")
    assert b"\r" not in text
    assert os.access(RUN_SH, os.X_OK)
    subprocess.run(["/bin/bash", "-n", str(RUN_SH)], check=True)


def python3_on_path(directory: Path, script: str) -> str:
    """A PATH whose python3 is `script`."""
    directory.mkdir()
    python3 = directory / "python3"
    python3.write_text(script)
    python3.chmod(0o755)
    return f"{directory}:/usr/bin:/bin"


@pytest.mark.parametrize(
    ("ports", "port"),
    [
        ({"AWS_LWA_PORT": "8080"}, "8080"),
        ({"AWS_LWA_PORT": "9001", "PORT": "7000"}, "9001"),
        ({"PORT": "7000"}, "7000"),
        ({}, "8080"),
    ],
)
def test_run_sh_starts_uvicorn_where_the_adapter_calls(tmp_path: Path, ports: dict[str, str], port: str) -> None:
    path = python3_on_path(tmp_path / "bin", FAKE_PYTHON.format(python=sys.executable))
    # As Lambda's bootstrap does: the handler path, run from the task root.
    environ = {"PATH": path, "LAMBDA_TASK_ROOT": "/var/task", "PYTHONPATH": "/var/runtime", **ports}
    process = subprocess.Popen([str(RUN_SH)], env=environ, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    output, _ = process.communicate(timeout=30)

    started = json.loads(output)
    argv = started["argv"]
    assert argv[:3] == ["-m", "uvicorn", "api.stream:app"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == port
    # The package's own packages come before the runtime's (its boto3 predates InvokeHarness).
    entries = started["pythonpath"].split(":")
    assert entries[0] == "/var/task"
    assert entries.index("/var/runtime") > 0
    # exec: the server is the process the adapter started, and gets its signals.
    assert started["pid"] == process.pid


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_sh_serves_the_app_from_the_deployment_packages_layout(tmp_path: Path, environment: dict[str, str]) -> None:
    """The package lands at the task root as api/ and common/ (stacks/constructs/packaging.py)."""
    task = tmp_path / "task"
    task.mkdir()
    for package in ("api", "common"):
        (task / package).symlink_to(RUN_SH.parents[1] / package, target_is_directory=True)
    path = python3_on_path(tmp_path / "bin", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    port = free_port()
    environ = {**environment, "PATH": path, "LAMBDA_TASK_ROOT": str(task), "AWS_LWA_PORT": str(port)}
    process = subprocess.Popen([str(RUN_SH)], env=environ, cwd=task, stderr=subprocess.PIPE, text=True)
    try:
        ready = wait_until_ready(f"http://127.0.0.1:{port}/ready", process)
        refusal = request_json(f"http://127.0.0.1:{port}/chat/stream", chat_body())
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert ready == 200
    assert refusal == (401, "Unauthorized")


def wait_until_ready(url: str, process: subprocess.Popen[str], attempts: int = 300) -> int:
    """Poll as the adapter does until the app answers; fail with its output if it exits first."""
    for _ in range(attempts):
        if process.poll() is not None:
            pytest.fail(f"run.sh exited {process.returncode}: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - a local http URL
                return int(response.status)
        except OSError:
            time.sleep(0.05)
    pytest.fail("the app never answered its readiness check")


def request_json(url: str, body: Mapping[str, Any]) -> tuple[int, str]:
    """POST as the adapter forwards a request without claims: the status and error code."""
    data = json.dumps(body).encode()
    headers = lwa_headers("/chat/stream", claims=None)
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - local URL
    try:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - a local http URL
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["error"]["code"]
    pytest.fail("the request without claims was answered")


def test_aws_calls_join_the_invocations_xray_trace(
    client: TestClient, converse_stream: HttpStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lambda sets the trace header for the runtime only; the adapter passes it in the Lambda context.
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    converse_stream.responses.append(streamed(converse_frames("Hi")))

    post(client, "chat", chat_body())

    assert os.environ["_X_AMZN_TRACE_ID"] == lambda_context()["xray_trace_id"]


def test_a_throttled_stream_is_counted_too(
    client: TestClient, converse_stream: HttpStub, capsys: pytest.CaptureFixture[str]
) -> None:
    converse_stream.responses.append(error_response(429, "ThrottlingException", "Slow down."))

    response = post(client, "chat", chat_body())

    assert response.status_code == 429
    [(dimension_sets, dimensions, value)] = throttle_counts(capsys.readouterr().out)
    assert (dimension_sets, value) == ([["service"]], 1.0)
    assert dimensions["service"] == "genai-api"
