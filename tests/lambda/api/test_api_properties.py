"""Property: whatever arrives, the function answers JSON, never a 5xx but the mapped 504, never a stack trace.

Random bodies (text, JSON of any shape, near-valid requests, binary), headers, paths and methods go to the
handler, with every Bedrock client replaced by a fake that answers validly or raises a random mapped error.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EventStreamError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from .api_fakes import (
    GUARDRAIL_CONFIG,
    HAIKU,
    MAPPED_ERRORS,
    NOVA,
    SONNET,
    FakeContext,
    ask_response,
    client_error,
    converse_response,
    rest_event,
    retrieve_response,
)

ROUTES = [
    ("GET", "/health"),
    ("GET", "/models"),
    ("POST", "/chat"),
    ("POST", "/compare"),
    ("POST", "/retrieve"),
    ("POST", "/ask"),
    ("POST", "/agent"),
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
ERROR_MESSAGES = ["Input is too long for requested model.", ""]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
texts = st.text(min_size=1, max_size=30)
allowed_models = st.sampled_from([HAIKU, SONNET, NOVA])
session_ids = st.from_regex(r"[0-9a-zA-Z._:-]{2,12}", fullmatch=True)


def _turns(count: int) -> list[str]:
    return ["user" if index % 2 == 0 else "assistant" for index in range(count)]


# Bodies that fit each route's schema, so the requests reach the (fake) Bedrock clients.
conversations = st.integers(0, 2).flatmap(
    lambda pairs: st.lists(texts, min_size=2 * pairs + 1, max_size=2 * pairs + 1).map(
        lambda contents: [
            {"role": role, "content": text} for role, text in zip(_turns(len(contents)), contents, strict=True)
        ]
    )
)
generation = {"system": texts, "maxTokens": st.integers(1, 4096), "temperature": st.floats(0, 1)}
confirm = st.fixed_dictionaries({"id": texts, "approve": st.booleans()})
VALID = {
    "/health": st.none(),
    "/models": st.none(),
    "/chat": st.fixed_dictionaries(
        {"model": allowed_models, "messages": conversations}, optional={**generation, "topP": st.floats(0, 1)}
    ),
    "/compare": st.fixed_dictionaries(
        {"models": st.lists(allowed_models, min_size=2, max_size=3, unique=True), "prompt": texts},
        optional=generation,
    ),
    "/retrieve": st.fixed_dictionaries(
        {"query": texts},
        optional={"topK": st.integers(1, 25), "filter": st.just({"equals": {"key": "category", "value": "faq"}})},
    ),
    "/ask": st.fixed_dictionaries({"question": texts}, optional={"sessionId": session_ids, "topK": st.integers(1, 25)}),
    "/agent": st.one_of(
        st.fixed_dictionaries({"input": texts}, optional={"sessionId": session_ids, "trace": st.booleans()}),
        st.fixed_dictionaries({"confirm": confirm, "sessionId": session_ids}, optional={"trace": st.booleans()}),
    ),
}
# Near misses: any route's fields, out-of-range values, unknown models, turns in any order.
near_misses = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from([HAIKU, "unknown.model-v1:0"]),
        "models": st.lists(st.sampled_from([HAIKU, SONNET, "unknown.model-v1:0"]), max_size=5),
        "messages": st.lists(
            st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system"]), "content": texts}),
            max_size=4,
        ),
        "prompt": texts,
        "query": texts,
        "question": texts,
        "input": texts,
        "confirm": confirm,
        "sessionId": st.text(max_size=12),
        "maxTokens": st.integers(-1, 5000),
        "temperature": st.floats(-0.5, 1.5, allow_nan=False),
        "topK": st.integers(0, 30),
        "trace": json_values,
    },
)
random_bodies = st.one_of(
    st.none(),
    st.text(max_size=50),
    json_values.map(json.dumps),
    near_misses.map(json.dumps),
    st.binary(max_size=50).map(lambda raw: raw.decode("latin-1")),
)


def _encode(body: object) -> str | None:
    return None if body is None else json.dumps(body)


routed = st.sampled_from(ROUTES).flatmap(
    lambda route: st.tuples(
        st.just(route[0]),
        st.just(route[1]),
        st.one_of(VALID[route[1]].map(_encode), VALID[route[1]].map(_encode), random_bodies),
    )
)
anywhere = st.tuples(
    st.sampled_from(METHODS) | st.text(max_size=8),
    st.sampled_from([path for _, path in ROUTES]) | st.text(max_size=20).map(lambda text: "/" + text),
    random_bodies,
)
requests = st.one_of(routed, routed, routed, anywhere)
headers = st.dictionaries(
    st.sampled_from(["Origin", "origin", "Content-Type", "Accept-Encoding", "X-Anything"]) | st.text(max_size=10),
    st.sampled_from(["https://app.example.com", "gzip", "application/json"]) | st.text(max_size=20),
    max_size=4,
)
# Most calls fail, in every mapped way; a few answer. (Hypothesis favours the first entries.)
FAILURES: list[BaseException | None] = [
    *(client_error(code, message) for code in sorted(MAPPED_ERRORS) for message in ERROR_MESSAGES),
    EventStreamError({"Error": {"Code": "throttlingException", "Message": "Slow down"}}, "InvokeAgent"),
    EventStreamError({"Error": {"Code": "validationException", "Message": "Bad input"}}, "InvokeAgent"),
    ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://bedrock-agent-runtime.us-east-1.amazonaws.com"),
    *[None] * 5,
]


@dataclass
class FakeBedrock:
    """Both Bedrock clients at once: valid minimal answers, or `failure` raised from every call."""

    failure: BaseException | None
    mid_stream: bool

    def _answer(self, response: dict[str, Any]) -> dict[str, Any]:
        if self.failure is not None:
            raise self.failure
        return response

    def converse(self, **request: Any) -> dict[str, Any]:
        assert request["guardrailConfig"] == GUARDRAIL_CONFIG
        return self._answer(converse_response())

    def retrieve(self, **request: Any) -> dict[str, Any]:
        return self._answer(retrieve_response())

    def retrieve_and_generate(self, **request: Any) -> dict[str, Any]:
        generation = request["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"][
            "generationConfiguration"
        ]
        assert generation["guardrailConfiguration"]["guardrailId"]
        return self._answer(ask_response())

    def apply_guardrail(self, **request: Any) -> dict[str, Any]:
        return {"action": "NONE", "outputs": [], "assessments": []}

    def invoke_harness(self, **request: Any) -> dict[str, Any]:
        assert set(request) <= {"harnessArn", "qualifier", "runtimeSessionId", "actorId", "messages", "timeoutSeconds"}
        events: list[Any] = [
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hi"}}},
            {"messageStop": {"stopReason": "end_turn"}},
        ]
        if self.mid_stream and self.failure is not None:
            return {"stream": _raising_stream([events[0], self.failure])}
        return self._answer({"stream": iter(events)})


def _raising_stream(events: list[Any]) -> Any:
    for event in events:
        if isinstance(event, BaseException):
            raise event
        yield event


def _event(request: tuple[str, str, str | None], request_headers: dict[str, str], encode: bool) -> dict[str, Any]:
    method, path, body = request
    if encode and body is not None:
        body = base64.b64encode(body.encode("utf-8", errors="surrogatepass")).decode()
    return rest_event(method, path, headers=request_headers, raw_body=body, base64_encoded=encode)


fakes = st.builds(FakeBedrock, st.sampled_from(FAILURES), st.booleans())
events = st.builds(_event, requests, headers, st.booleans())


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(bedrock=fakes, event=events)
def test_every_answer_is_json_and_never_an_unmapped_5xx(
    api: ModuleType, monkeypatch: pytest.MonkeyPatch, bedrock: FakeBedrock, event: dict[str, Any]
) -> None:
    monkeypatch.setattr(api, "bedrock_runtime", bedrock)
    monkeypatch.setattr(api, "bedrock_agent_runtime", bedrock)
    monkeypatch.setattr(api, "agentcore", bedrock)
    monkeypatch.setattr(api, "COMPARE_WORKERS", 4)

    response = api.handler(event, FakeContext())

    status = response["statusCode"]
    payload = json.loads(response["body"])
    note_event(f"{status} {payload.get('error', {}).get('code', 'OK')}")
    failure = bedrock.failure
    timed_out = isinstance(failure, ReadTimeoutError | ConnectTimeoutError) or (
        isinstance(failure, ClientError) and failure.response["Error"]["Code"] == "ModelTimeoutException"
    )
    assert status < 500 or (status == 504 and timed_out), response
    assert isinstance(payload, dict)
    assert "Traceback" not in response["body"]
    assert 'File "' not in response["body"]
    if status >= 400:
        assert set(payload) == {"error"}
        assert set(payload["error"]) == {"code", "message", "requestId"}
