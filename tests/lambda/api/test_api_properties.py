"""Hostile callers through the stage (gateway.py), with every AWS call answered or failed at the HTTP layer.

For each buffered route, hypothesis sends bodies built from the route's request schema and hostile ones (huge
and odd strings, nested filters, wrong types, extra or missing fields, forged session and confirmation ids),
with any token or none, while each AWS call answers validly or fails as its service model says it can (4xx,
5xx, throttling, errors inside a stream) or times out. The clients are real, with the function's own config:
botocore builds, validates and signs every request, and parses every answer. Whatever happens:
- no 5xx, unless an upstream call failed on its side (502) or timed out (504);
- no body carries an ARN, an account id or a resource id of the deployment that the caller did not send;
- every Converse and RetrieveAndGenerate call asks for at most MAX_TOKENS_CEILING tokens;
- every 200 of /chat, /compare, /retrieve, /ask and /agent went through the guardrail.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
from api import compare, guardrail
from api.agent import Confirmations
from api.clients import CLIENT_CONFIG, TABLE_CONFIG
from api.config import from_environ
from api.errors import ApiError
from api.identity import Caller
from api.limits import Limiter
from api.registry import REGISTRY, Route
from api.services import Services
from api.sessions import AGENT, ASK, SessionBinder
from api.toolbox import Toolbox
from api.tools import ToolUse
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from botocore.validate import ParamValidator
from hypothesis import event as note
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.core.models import botocore_stubber as moto_stubber
from urllib3 import HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError as StreamReadTimeoutError

from tests.aws import offline_client
from tests.eventstream import error_response, event, exception

from .api_fakes import (
    ADMIN,
    API_REQUEST_ID,
    BEDROCK_SESSION_ID,
    GENERATION_MODEL_ARN,
    GUARDRAIL_CONFIG,
    GUARDRAIL_ID,
    GUARDRAIL_VERSION,
    HARNESS_ARN,
    KB_ID,
    MACHINE,
    MAX_TOKENS,
    MAX_TOKENS_CEILING,
    MODELS,
    OTHER_PERSON,
    PERSON,
    REGION,
    SESSION_KEY,
    TICKETS_TABLE,
    USAGE_TABLE,
    caller,
)
from .gateway import Gateway

ACCOUNT = "123456789012"
# What no answer may show unless the caller sent it: ARNs, account ids, and the deployment's resource ids.
SECRETS = (
    "arn:",
    GUARDRAIL_ID,
    KB_ID,
    HARNESS_ARN,
    HARNESS_ARN.rpartition("/")[2],
    TICKETS_TABLE,
    USAGE_TABLE,
    GENERATION_MODEL_ARN,
    SESSION_KEY,
)
ACCOUNT_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])")
BUCKET = f"genai-documents-{ACCOUNT}-{REGION}"
UPSTREAM_MESSAGE = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Api/fn is not authorized to perform bedrock:ApplyGuardrail on "
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/{GUARDRAIL_ID} (knowledge base {KB_ID}, table {USAGE_TABLE})"
)
ANSWER = "Documents sync within a minute."
MASKED = "Your {EMAIL} was masked."

# Tokens the stage knows, and the claims its Cognito authorizer passes on for each.
TOKENS: dict[str, Mapping[str, str]] = {
    "person": PERSON,
    "other": OTHER_PERSON,
    "machine": MACHINE,
    "admin": ADMIN,
    "no-sub": {"client_id": "people0client0id00000000", "scope": PERSON["scope"]},
    "odd-sub": {**PERSON, "sub": f"arn:aws:iam::{ACCOUNT}:root"},
    "no-scope": {**PERSON, "scope": "openid"},
}
CALLERS = ["person", "other", "machine", "admin"]
ANYONE = [*TOKENS, None, "forged.jwt.token"]
# Examples per route: requests of callers the stage lets through with bodies that fit, and anyone's anything.
# Examples per route: more for the routes with more to get wrong; every other route, a new one included, gets the
# default (fewer when it takes no body).
CALLER_EXAMPLES = {"chat": 80, "retrieve": 80, "agent": 100}
ANYONE_EXAMPLES = {"chat": 70, "retrieve": 80, "agent": 80}


def caller_examples(route: Route) -> int:
    return CALLER_EXAMPLES.get(route.name, 60)


def anyone_examples(route: Route) -> int:
    return ANYONE_EXAMPLES.get(route.name, 60 if route.request else 25)


@dataclass(frozen=True)
class Failure:
    """An AWS call failing: an HTTP error its operation declares, an error event inside its stream, or a timeout.

    A failure planned for another operation than the one called is not delivered: that call answers validly.
    """

    kind: str  # http, stream, timeout, connect, stream-timeout
    code: str = ""
    status: int = 0
    operation: str = ""  # any operation when empty

    def fits(self, operation: str) -> bool:
        return self.operation in ("", operation)

    @property
    def upstream_fault(self) -> bool:
        """A failure on the service's side (5xx, or 424: a dependency of the service failed), which may be a 502."""
        return self.kind in ("http", "stream") and (self.status >= 500 or self.status == 424)

    @property
    def timed_out(self) -> bool:
        return self.kind in ("timeout", "connect", "stream-timeout") or self.code == "ModelTimeoutException"


@cache
def service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def declared_errors(service: str, operation: str) -> list[Failure]:
    """The errors the service model says `operation` can answer with, at their HTTP status."""
    shapes = service_model(service).operation_model(operation).error_shapes
    return [Failure("http", shape.name, int(shape.metadata["error"]["httpStatusCode"]), operation) for shape in shapes]


def stream_errors(service: str, operation: str) -> list[Failure]:
    """The exception events the operation's event stream declares."""
    stream = service_model(service).operation_model(operation).output_shape.members["stream"]
    return [
        Failure("stream", name, int(shape.metadata["error"]["httpStatusCode"]), operation)
        for name, shape in stream.members.items()
        if shape.metadata.get("exception")
    ]


OPERATIONS = {
    "bedrock-runtime": ("Converse", "ApplyGuardrail"),
    "bedrock-agent-runtime": ("Retrieve", "RetrieveAndGenerate"),
    "bedrock-agentcore": ("InvokeHarness",),
}
SERVICE_OF = {operation: service for service, operations in OPERATIONS.items() for operation in operations}
FAILURES = {
    operation: [
        *declared_errors(service, operation),
        Failure("http", "InternalFailure", 500),
        Failure("http", "ServiceUnavailable", 503),
        Failure("timeout"),
        Failure("connect"),
        *(
            [*stream_errors(service, operation), Failure("stream-timeout", operation=operation)]
            if service_model(service).operation_model(operation).has_event_stream_output
            else []
        ),
    ]
    for operation, service in SERVICE_OF.items()
}
OK, INTERVENED = "ok", "intervened"


def guardrail_trace() -> dict[str, Any]:
    """A Converse guardrail trace naming the guardrail by id and ARN, with a PII match: none of it may show."""
    assessment = {
        "topicPolicy": {"topics": [{"name": "Investment advice", "type": "DENY", "action": "BLOCKED"}]},
        "sensitiveInformationPolicy": {
            "piiEntities": [{"match": ACCOUNT, "type": "PHONE", "action": "BLOCKED"}],
            "regexes": [{"name": "account", "match": ACCOUNT, "regex": "[0-9]{12}", "action": "BLOCKED"}],
        },
        "appliedGuardrailDetails": {
            "guardrailId": GUARDRAIL_ID,
            "guardrailVersion": GUARDRAIL_VERSION,
            "guardrailArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/{GUARDRAIL_ID}",
            "guardrailOwnership": "SELF",
        },
    }
    return {"guardrail": {"inputAssessment": {GUARDRAIL_ID: assessment}, "outputAssessments": {}}}


def converse(answer: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": ANSWER}]}},
        "stopReason": "guardrail_intervened" if answer == INTERVENED else "end_turn",
        "usage": {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17},
        "metrics": {"latencyMs": 420},
        **({"trace": guardrail_trace()} if answer == INTERVENED else {}),
    }


def apply_guardrail(answer: str) -> dict[str, Any]:
    if answer == OK:
        return {"action": "NONE", "outputs": [], "assessments": [], "usage": GUARDRAIL_USAGE}
    return {
        "action": "GUARDRAIL_INTERVENED",
        "outputs": [{"text": MASKED}],
        "assessments": [guardrail_trace()["guardrail"]["inputAssessment"][GUARDRAIL_ID]],
        "usage": GUARDRAIL_USAGE,
    }


GUARDRAIL_USAGE = {
    "topicPolicyUnits": 1,
    "contentPolicyUnits": 1,
    "wordPolicyUnits": 1,
    "sensitiveInformationPolicyUnits": 1,
    "sensitiveInformationPolicyFreeUnits": 1,
    "contextualGroundingPolicyUnits": 0,
}
PASSAGES = 3  # the passages with text of every Retrieve answer


def retrieve(_: str) -> dict[str, Any]:
    """Passages whose Bedrock metadata and locations name the bucket, the account and the data source."""

    def passage(key: str, text: str) -> dict[str, Any]:
        return {
            "content": {"text": text},
            "location": {"type": "S3", "s3Location": {"uri": f"s3://{BUCKET}/{key}"}},
            "score": 0.5,
            "metadata": {
                "category": "faq",
                "x-amz-bedrock-kb-source-uri": f"s3://{BUCKET}/{key}",
                "x-amz-bedrock-kb-data-source-id": f"{KB_ID}DS",
                "x-amz-bedrock-kb-chunk-id": f"arn:aws:s3:::{BUCKET}/{key}#1",
            },
        }

    return {
        "retrievalResults": [
            passage("documents/sync.md", ANSWER),
            passage("documents/guides/faq.md", "Ask the operators."),
            passage(f"elsewhere/{ACCOUNT}/notes.md", "Notes."),
            passage("documents/empty.md", ""),
        ]
    }


def retrieve_and_generate(answer: str) -> dict[str, Any]:
    reference = {
        "content": {"text": "A passage."},
        "location": {"type": "S3", "s3Location": {"uri": f"s3://{BUCKET}/documents/sync.md"}},
    }
    return {
        "output": {"text": ANSWER},
        "citations": [
            {"generatedResponsePart": {"textResponsePart": {"text": ANSWER}}, "retrievedReferences": [reference]}
        ],
        "guardrailAction": "INTERVENED" if answer == INTERVENED else "NONE",
        "sessionId": BEDROCK_SESSION_ID,
    }


ANSWERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "Converse": converse,
    "ApplyGuardrail": apply_guardrail,
    "Retrieve": retrieve,
    "RetrieveAndGenerate": retrieve_and_generate,
}


def harness_frames() -> list[bytes]:
    return [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": ANSWER}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "end_turn"}),
        event(
            "metadata",
            {"usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}, "metrics": {"latencyMs": 9}},
        ),
    ]


class _Frames:
    """A streamed HTTP body: its frames, then (when set) the error that cut the stream."""

    def __init__(self, frames: Sequence[bytes], error: BaseException | None = None) -> None:
        self._frames, self._error = frames, error

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield from self._frames
        if self._error is not None:
            raise self._error

    def read(self, *_: Any) -> bytes:
        return b"".join(self._frames)

    def close(self) -> None:
        """Nothing to release."""


def _json_response(payload: Mapping[str, Any], content_type: str = "application/json") -> AWSResponse:
    return AWSResponse(
        "https://stub.invalid", 200, {"content-type": content_type}, _Frames([json.dumps(payload).encode()])
    )


@dataclass
class Upstream:
    """Answers the clients' calls at the HTTP layer, in order from `plan` (then validly); records every call."""

    plan: list[str | Failure] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    delivered: list[Failure] = field(default_factory=list)

    def attach(self, client: Any, operations: Sequence[str]) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        # While another test of the package runs moto, it would answer (or refuse) every request it knows too.
        client.meta.events.unregister("before-send", moto_stubber)
        for operation in operations:
            client.meta.events.register(f"before-parameter-build.{service}.{operation}", self._recorder(operation))
            client.meta.events.register(f"before-send.{service}.{operation}", self._sender(operation))

    def reset(self, plan: Sequence[str | Failure]) -> None:
        self.plan, self.calls, self.delivered = list(plan), [], []

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def _recorder(self, operation: str) -> Callable[..., None]:
        def record(params: Mapping[str, Any], **_: Any) -> None:
            if operation != "UpdateItem":
                self.calls.append((operation, json.loads(json.dumps(params))))

        return record

    def _sender(self, operation: str) -> Callable[..., AWSResponse]:
        def send(request: Any, **_: Any) -> AWSResponse:
            if operation == "UpdateItem":
                return _json_response({}, "application/x-amz-json-1.0")
            outcome = self.plan.pop(0) if self.plan else OK
            if isinstance(outcome, Failure) and not outcome.fits(operation):
                outcome = OK
            if isinstance(outcome, Failure):
                self.delivered.append(outcome)
                return self._fail(operation, outcome, request.url)
            if operation == "InvokeHarness":
                return AWSResponse(
                    "https://stub.invalid",
                    200,
                    {"content-type": "application/vnd.amazon.eventstream"},
                    _Frames(harness_frames()),
                )
            return _json_response(ANSWERS[operation](outcome))

        return send

    def _fail(self, operation: str, failure: Failure, url: str) -> AWSResponse:
        if failure.kind == "timeout":
            raise ReadTimeoutError(endpoint_url=url)
        if failure.kind == "connect":
            raise ConnectTimeoutError(endpoint_url=url)
        if failure.kind == "http":
            return error_response(failure.status, failure.code, UPSTREAM_MESSAGE)
        frames = harness_frames()[:2]
        cut: BaseException | None = None
        if failure.kind == "stream":
            frames.append(exception(failure.code, UPSTREAM_MESSAGE, reason="x"))
        else:
            # What urllib3 raises when the stream's socket times out between frames.
            cut = StreamReadTimeoutError(HTTPSConnectionPool(urlsplit(url).netloc), None, "Read timed out.")
        headers = {"content-type": "application/vnd.amazon.eventstream"}
        return AWSResponse("https://stub.invalid", 200, headers, _Frames(frames, cut))


def test_the_answers_fit_the_service_models() -> None:
    """What the upstream answers is what the services could answer (as Stubber checks its responses)."""
    for operation, answer in ANSWERS.items():
        shape = service_model(SERVICE_OF[operation]).operation_model(operation).output_shape
        for variant in (OK, INTERVENED):
            report = ParamValidator().validate(answer(variant), shape)
            assert not report.has_errors(), report.generate_report()


def _objects(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    if "properties" not in schema:
        return filters
    properties = {name: from_schema(sub) for name, sub in schema["properties"].items()}
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {name: value for name, value in properties.items() if name in required},
        optional={name: value for name, value in properties.items() if name not in required},
    )


def _arrays(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    unique = schema.get("uniqueItems", False)
    return st.lists(
        from_schema(schema["items"]),
        min_size=schema["minItems"],
        max_size=schema["maxItems"],
        unique_by=(lambda item: json.dumps(item, sort_keys=True)) if unique else None,
    )


def _strings(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    if "pattern" in schema:
        return st.from_regex(schema["pattern"].removeprefix("^").removesuffix("$"), fullmatch=True)
    return st.one_of(
        st.text(min_size=schema["minLength"], max_size=min(schema["maxLength"], 40)),
        long_texts(schema["minLength"], schema["maxLength"]),
    )


def _numbers(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    low, high = schema["minimum"], schema["maximum"]
    values = st.integers(low, high) if schema["type"] == "integer" else st.floats(low, high)
    return values | st.sampled_from([low, high])


STRATEGIES: dict[str, Callable[[Mapping[str, Any]], st.SearchStrategy[Any]]] = {
    "object": _objects,
    "array": _arrays,
    "string": _strings,
    "integer": _numbers,
    "number": _numbers,
    "boolean": lambda _: st.booleans(),
}


def from_schema(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values that fit a request schema (the draft-04 subset of common.schema), bounds included."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    return STRATEGIES[schema["type"]](schema)


def long_texts(least: int, most: int) -> st.SearchStrategy[str]:
    """Strings of one repeated character, up to the longest the schema allows (cheap for hypothesis to draw)."""
    return st.builds(
        lambda char, size: char * size,
        st.characters(codec="utf-8") | st.sampled_from(["'", '"', "\\", "\n", "\u2028", "\U0001f600", "\ud800"]),
        st.sampled_from(sorted({max(least, 1), max(least, most // 2), most})),
    )


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
)
keys = st.sampled_from(["category", "year", "x-amz-bedrock-kb-source-uri", "", "a.b", "$where"]) | st.text(max_size=8)
conditions = st.builds(
    lambda operator, key, value: {operator: {"key": key, "value": value}},
    st.sampled_from(["equals", "notEquals", "greaterThan", "in", "startsWith", "listContains", "stringContains"]),
    keys,
    JSON_SCALARS | st.lists(st.text(max_size=5), max_size=3),
)


def _deep(depth: int, group: str) -> dict[str, Any]:
    """Groups nested `depth` levels deep, two conditions at each level."""
    node: dict[str, Any] = {"equals": {"key": "k", "value": 1}}
    for _ in range(depth):
        node = {group: [node, {"equals": {"key": "k", "value": 2}}]}
    return node


filters = st.one_of(
    conditions,
    st.builds(
        lambda group, items: {group: items}, st.sampled_from(["andAll", "orAll"]), st.lists(conditions, max_size=4)
    ),
    st.builds(_deep, st.integers(0, 200), st.sampled_from(["andAll", "orAll"])),
    st.builds(
        lambda width: {"orAll": [{"equals": {"key": "k", "value": n}} for n in range(width)]}, st.integers(2, 60)
    ),
    st.dictionaries(st.text(max_size=10), json_values, max_size=3),
)
ALLOWED = [model["id"] for model in MODELS]


def conversations(size: int) -> st.SearchStrategy[list[dict[str, str]]]:
    """Conversations of `size` messages whose roles alternate, starting and ending with the user."""
    contents = from_schema(REGISTRY.schemas["ChatRequest"]["properties"]["messages"]["items"]["properties"]["content"])
    return st.lists(contents, min_size=size, max_size=size).map(
        lambda texts: [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(texts)]
    )


def owner(token: str | None) -> Caller:
    """Whose session and confirmation ids a caller with this token holds (a person's, without a usable token)."""
    try:
        return caller(TOKENS.get(token or "", PERSON))
    except ApiError:
        return caller(PERSON)


def sessions(purpose: str, value: str, holder: Caller) -> st.SearchStrategy[str]:
    """Session ids a caller may send: their own (half the time), another caller's, or forged ones that fit."""
    binder = SessionBinder(SESSION_KEY.encode())
    own = binder.bind(purpose, holder, value)
    others = [binder.bind(purpose, caller(claims), value) for claims in (PERSON, OTHER_PERSON, MACHINE)]
    tag = own.rpartition("-")[2]
    forged = [f"{value}-{'0' * 32}", value, "ab", f"{value}-{tag.upper()}", f"{value}x-{tag}"]
    return st.just(own) | st.sampled_from([*others, *forged])


AGENT_SESSION = "a1b2c3d4" * 4
CONFIRMED = ToolUse("tooluse_1", "create_ticket", {"subject": "Printer", "description": "It is on fire."})


def confirmation_ids(holder: Caller) -> st.SearchStrategy[str]:
    """The confirmation id issued to the caller in their session (half the time), or a tampered or foreign one."""
    binder = SessionBinder(SESSION_KEY.encode())
    session = binder.bind(AGENT, holder, AGENT_SESSION)
    issued = Confirmations(binder).issue(holder, session, CONFIRMED)
    payload, _, tag = issued.rpartition(".")
    foreign = Confirmations(binder).issue(caller(OTHER_PERSON), session, CONFIRMED)
    # The caller's own id with an odd character: only the tag tells it from theirs.
    odd = [f"{payload}{char}.{tag}" for char in ("\ud800", "\u00e9", "\x00", "=")]
    tampered = [f"{payload}.{'0' * 32}", f"{payload[:-2]}.{tag}", "x.y", "."]
    return st.just(issued) | st.sampled_from(odd) | st.sampled_from([foreign, *tampered])


def semantic(route: str, holder: Caller) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies that fit the schema and also mean something: allow-listed models, real and forged ids."""
    base = from_schema(REGISTRY.schemas[REGISTRY.route(route).request or ""])
    if route == "chat":
        return st.tuples(base, st.sampled_from(ALLOWED), st.sampled_from([1, 3, 5]).flatmap(conversations)).map(
            lambda parts: {**parts[0], "model": parts[1], "messages": parts[2]}
        )
    if route == "compare":
        models = st.lists(st.sampled_from(ALLOWED), min_size=2, max_size=3, unique=True)
        return st.tuples(base, models).map(lambda parts: {**parts[0], "models": parts[1]})
    if route == "ask":
        session = sessions(ASK, BEDROCK_SESSION_ID, holder)
        return st.tuples(base, st.none() | session).map(
            lambda parts: {**parts[0], **({"sessionId": parts[1]} if parts[1] else {})}
        )
    if route == "agent":
        session = sessions(AGENT, AGENT_SESSION, holder)
        text = from_schema(REGISTRY.schemas["AgentRequest"]["properties"]["input"])
        message = st.fixed_dictionaries({"input": text}, optional={"sessionId": session, "trace": st.booleans()})
        decision = st.fixed_dictionaries(
            {
                "confirm": st.fixed_dictionaries({"id": confirmation_ids(holder), "approve": st.booleans()}),
                "sessionId": session,
            }
        )
        return st.one_of(message, decision)
    return base


def mutations(body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The body with one field added, dropped or replaced by any JSON value or a huge string."""
    names = sorted(body) or ["body"]
    extra = st.tuples(
        st.sampled_from(["system", "caller", "sub", "guardrailConfig", "modelId"]) | st.text(max_size=8), json_values
    )
    return st.one_of(
        extra.map(lambda pair: {**body, pair[0]: pair[1]}),
        st.sampled_from(names).map(lambda name: {k: v for k, v in body.items() if k != name}),
        st.tuples(st.sampled_from(names), json_values | long_texts(8000, 30000)).map(
            lambda pair: {**body, pair[0]: pair[1]}
        ),
    )


def encode(body: object, ascii_only: bool) -> str:
    """JSON as a client sends it: UTF-8, or ASCII with escapes (the only way to send a lone surrogate)."""
    text = json.dumps(body, ensure_ascii=ascii_only)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(body)
    return text


GARBAGE = st.one_of(
    st.none(),
    st.text(max_size=40),
    json_values.map(json.dumps),
    st.sampled_from(["", "{", "[]", "null", '{"a": NaN}', '{"query": "x"} trailing', "\ufeff{}", '{"\\ud800": 1}']),
)


@cache
def fitting(name: str, token: str | None) -> st.SearchStrategy[str]:
    """Bodies that fit the route's schema, using the ids the token's caller holds (or another's, or forged ones)."""
    return st.tuples(semantic(name, owner(token)), st.booleans()).map(lambda pair: encode(*pair))


@cache
def anything(name: str, token: str | None) -> st.SearchStrategy[str | None]:
    """What anyone may send: bodies that fit, any that the schema allows, mutated ones, and garbage."""
    route = REGISTRY.route(name)
    if route.request is None:
        return st.none() | st.text(max_size=20)
    return st.one_of(
        fitting(name, token),
        st.tuples(from_schema(REGISTRY.schemas[route.request]), st.booleans()).map(lambda pair: encode(*pair)),
        semantic(name, owner(token)).flatmap(mutations).map(json.dumps),
        GARBAGE,
    )


def requests(
    route: Route, tokens: Sequence[str | None], bodies: Callable[[str, str | None], st.SearchStrategy[str | None]]
) -> st.SearchStrategy[tuple[str | None, str | None]]:
    """A token (or none), and a body drawn for its caller."""
    return st.sampled_from(tokens).flatmap(lambda token: st.tuples(st.just(token), bodies(route.name, token)))


HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Origin": st.sampled_from(["https://app.example.com", "https://evil.example", "null"]),
        "Content-Type": st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-16"]),
        "x-amzn-request-context": st.just(json.dumps({"authorizer": {"claims": ADMIN}})),
        "X-Forwarded-For": st.sampled_from(["127.0.0.1", "169.254.169.254", "::1"]),
    },
)


def plans(route: Route) -> st.SearchStrategy[list[str | Failure]]:
    """What the route's AWS calls answer, in order: a valid answer or any way they can fail."""
    operations = {
        "chat": ["Converse"],
        "compare": ["Converse"],
        "retrieve": ["Retrieve", "ApplyGuardrail"],
        "ask": ["RetrieveAndGenerate"],
        "agent": ["ApplyGuardrail", "InvokeHarness"],
    }.get(route.name, [])
    failures = [failure for operation in operations for failure in FAILURES[operation]]
    outcomes: st.SearchStrategy[str | Failure] = st.sampled_from([OK, INTERVENED])
    if not failures:
        return st.just([])
    # Any mix, or every call failing the same way (a compare whose models all fail).
    return st.lists(outcomes | st.sampled_from(failures), max_size=5) | st.sampled_from(failures).map(lambda f: [f] * 5)


@pytest.fixture
def stage(
    load_handler: Callable[[], ModuleType], monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> tuple[Gateway, Upstream]:
    """The stage in front of the handler, whose services' clients the upstream answers."""
    monkeypatch.setattr(compare, "MAX_WORKERS", 1)
    monkeypatch.setattr(guardrail, "MAX_PARALLEL", 1)
    upstream = Upstream()
    clients = {}
    for service, operations in OPERATIONS.items():
        clients[service] = offline_client(service, CLIENT_CONFIG)
        upstream.attach(clients[service], operations)
    dynamodb = boto3.resource(
        "dynamodb",
        config=TABLE_CONFIG,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy credential; nothing leaves the process
    )
    upstream.attach(dynamodb.meta.client, ["UpdateItem"])
    module = load_handler()
    monkeypatch.setattr(
        module,
        "services",
        Services(
            settings=from_environ(environment),
            runtime=clients["bedrock-runtime"],
            agent_runtime=clients["bedrock-agent-runtime"],
            agentcore=clients["bedrock-agentcore"],
            toolbox=Toolbox({}),
            # The budget is not what is tested here: a caller never runs out of it.
            limiter=Limiter(dynamodb.Table(USAGE_TABLE), 10**9),
        ),
    )
    return Gateway(module.handler, TOKENS), upstream


def _canonical(text: str | None) -> str:
    """The request as sent, and as its parsed JSON reads, for finding what a response echoes of it."""
    if text is None:
        return ""
    try:
        return text + json.dumps(json.loads(text), ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def _as_object(text: str | None) -> dict[str, Any]:
    """The body as the function reads it, when it is a JSON object."""
    try:
        value = json.loads(text or "")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def check_no_leak(sent: str, response_body: str) -> None:
    shown = response_body + json.dumps(json.loads(response_body), ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in shown or secret in sent, f"the answer shows {secret!r}: {response_body[:300]}"
    for found in ACCOUNT_ID.findall(shown):
        assert found in sent, f"the answer shows the account-like {found}: {response_body[:300]}"


def check_status(status: int, upstream: Upstream) -> None:
    if status < 500:
        return
    allowed = {
        502: any(f.upstream_fault for f in upstream.delivered),
        504: any(f.timed_out for f in upstream.delivered),
    }
    assert allowed.get(status), f"{status} after {upstream.delivered}"


def check_model_calls(body: Mapping[str, Any], upstream: Upstream) -> None:
    """Every model call has the guardrail and maxTokens: the caller's, else the default, never above the ceiling."""
    asked = body.get("maxTokens")
    expected = min(asked, MAX_TOKENS_CEILING) if isinstance(asked, int) else MAX_TOKENS
    for params in upstream.params("Converse"):
        assert params["inferenceConfig"]["maxTokens"] == expected <= MAX_TOKENS_CEILING
        assert params["guardrailConfig"] == GUARDRAIL_CONFIG
    for params in upstream.params("RetrieveAndGenerate"):
        generation = params["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]["generationConfiguration"]
        assert generation["inferenceConfig"]["textInferenceConfig"]["maxTokens"] == expected <= MAX_TOKENS_CEILING
        assert generation["guardrailConfiguration"] == {
            "guardrailId": GUARDRAIL_ID,
            "guardrailVersion": GUARDRAIL_VERSION,
        }


def check_sessions(route: str, token: str | None, body: Mapping[str, Any], upstream: Upstream) -> None:
    """A conversation continued upstream is one the API issued to this caller, under this purpose."""
    binder = SessionBinder(SESSION_KEY.encode())
    if route == "ask" and "sessionId" in body:
        [params] = upstream.params("RetrieveAndGenerate")
        assert body["sessionId"] == binder.bind(ASK, caller(TOKENS[token or ""]), params["sessionId"])
    if route == "agent" and "sessionId" in body:
        value, _, _ = body["sessionId"].rpartition("-")
        assert body["sessionId"] == binder.bind(AGENT, caller(TOKENS[token or ""]), value)
        assert {params["runtimeSessionId"] for params in upstream.params("InvokeHarness")} <= {body["sessionId"]}


def check_guardrail(route: str, body: Mapping[str, Any], payload: Mapping[str, Any], upstream: Upstream) -> None:
    """A 200 of a route that returns model or knowledge-base text went through the guardrail."""
    operations = [name for name, _ in upstream.calls]
    checks = upstream.params("ApplyGuardrail")
    if route == "chat":
        assert operations == ["Converse"]
    elif route == "compare":
        assert operations == ["Converse"] * len(body["models"])
    elif route == "retrieve":
        assert operations == ["Retrieve"] + ["ApplyGuardrail"] * PASSAGES
        assert [check["source"] for check in checks] == [
            "INPUT"
        ] * PASSAGES  # text a model reads next: the prompt-attack filter sees it
        assert len(payload["results"]) + payload["guardrail"]["withheld"] == PASSAGES
    elif route == "ask":
        assert operations == ["RetrieveAndGenerate"]
    elif route == "agent" and "input" in body:
        assert operations[0] == "ApplyGuardrail"
        assert checks[0]["source"] == "INPUT"
        assert checks[0]["content"] == [{"text": {"text": body["input"]}}]
        if "InvokeHarness" in operations:
            assert operations[-1] == "ApplyGuardrail"
            assert checks[-1]["source"] == "OUTPUT"


def run(
    route: Route,
    stage: tuple[Gateway, Upstream],
    request: st.SearchStrategy[tuple[str | None, str | None]],
    examples: int,
) -> Counter[str]:
    """Check the properties on `examples` requests to the route; how many got each status and code."""
    gateway, upstream = stage
    ran: list[str] = []

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None)
    @given(request=request, headers=HEADERS, plan=plans(route))
    def one(request: tuple[str | None, str | None], headers: dict[str, str], plan: list[str | Failure]) -> None:
        token, body = request
        upstream.reset(plan)
        forwarded = len(gateway.forwarded)
        response = gateway.send(route.method, route.path, body, authorization=token, headers=headers)

        status = response["statusCode"]
        payload = json.loads(response["body"])
        assert isinstance(payload, dict)
        if status >= 400:
            assert list(payload) == ["error"]
            assert set(payload["error"]) == {"code", "message", "requestId"}
        ran.append(f"{status} {payload.get('error', {}).get('code', '')}".strip())
        note(ran[-1])
        if len(gateway.forwarded) == forwarded:
            assert upstream.calls == [], "the stage refused the request, yet AWS was called"
        check_status(status, upstream)
        check_no_leak(_canonical(body), response["body"])
        parsed = _as_object(body)
        check_model_calls(parsed, upstream)
        if status == 200 and route.request is not None:
            check_guardrail(route.name, parsed, payload, upstream)
            check_sessions(route.name, token, parsed, upstream)
            # Only the admin scope of a verified token shows the agent's trace, whatever the headers say.
            assert "trace" not in payload or TOKENS[token or ""] == ADMIN

    one()
    return Counter(ran)


def report(capsys: pytest.CaptureFixture[str], route: Route, who: str, answers: Counter[str]) -> None:
    """Print how many requests ran and what they were answered, so the count can be quoted."""
    seen = ", ".join(f"{answer} x{count}" for answer, count in sorted(answers.items()))
    with capsys.disabled():
        print(f"\n{route.method} {route.path}: {answers.total()} requests from {who} ({seen})")


WITH_BODIES = [route for route in REGISTRY.routes if route.request]


@pytest.mark.parametrize("route", WITH_BODIES, ids=[f"{r.name}-{caller_examples(r)}" for r in WITH_BODIES])
def test_callers_get_no_5xx_no_secrets_and_only_guarded_answers(
    route: Route, stage: tuple[Gateway, Upstream], capsys: pytest.CaptureFixture[str]
) -> None:
    answers = run(route, stage, requests(route, CALLERS, fitting), caller_examples(route))

    report(capsys, route, "callers with a token", answers)
    assert answers.total() == caller_examples(route)
    assert answers["200"] > 0


@pytest.mark.parametrize("route", REGISTRY.routes, ids=[f"{r.name}-{anyone_examples(r)}" for r in REGISTRY.routes])
def test_anyone_sending_anything_gets_no_5xx_and_no_secrets(
    route: Route, stage: tuple[Gateway, Upstream], capsys: pytest.CaptureFixture[str]
) -> None:
    answers = run(route, stage, requests(route, ANYONE, anything), anyone_examples(route))

    report(capsys, route, "anyone", answers)
    assert answers.total() >= anyone_examples(route) // 2


def test_the_stage_refuses_a_caller_without_a_token_before_the_function_runs(stage: tuple[Gateway, Upstream]) -> None:
    gateway, _ = stage

    response = gateway.send("POST", "/chat", json.dumps({"model": ALLOWED[0], "messages": []}))

    assert response["statusCode"] == 401
    assert json.loads(response["body"]) == {
        "error": {"code": "UNAUTHORIZED", "message": "Unauthorized", "requestId": API_REQUEST_ID}
    }
    assert gateway.forwarded == []


def test_the_stage_names_the_field_a_body_gets_wrong(stage: tuple[Gateway, Upstream]) -> None:
    gateway, _ = stage

    response = gateway.send("POST", "/chat", json.dumps({"model": ALLOWED[0]}), authorization="person")

    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {
        "error": {"code": "BadRequest", "message": "messages: is required", "requestId": API_REQUEST_ID}
    }
    assert gateway.forwarded == []


def test_an_issued_confirmation_id_with_a_lone_surrogate_is_refused_by_the_stage(
    stage: tuple[Gateway, Upstream],
) -> None:
    # The id's HMAC covers its UTF-8 bytes, and a lone surrogate, which JSON can carry, has none: a 500 before.
    gateway, upstream = stage
    binder = SessionBinder(SESSION_KEY.encode())
    session = binder.bind(AGENT, caller(PERSON), AGENT_SESSION)
    payload, _, tag = Confirmations(binder).issue(caller(PERSON), session, CONFIRMED).rpartition(".")
    body = {"confirm": {"id": f"{payload}\ud800.{tag}", "approve": True}, "sessionId": session}
    upstream.reset([])

    response = gateway.send("POST", "/agent", json.dumps(body), authorization="person")

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["message"].startswith("confirm.id: ")
    assert gateway.forwarded == []
    assert upstream.calls == []
