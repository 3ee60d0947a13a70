"""scripts/client.py, offline: stubbed CloudFormation and Cognito clients, and a fake urlopen for the token
endpoint and the API."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from api import sse
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from scripts.client import (
    ROUTES,
    ApiError,
    RunError,
    call_api,
    confirm_request,
    fetch_token,
    main,
    render_agent,
    render_ask,
    render_chat,
    render_models,
    render_retrieve,
)
from scripts.events import Event, ProtocolError, read_events

from .client_fakes import API_URL, TOKEN, TOKEN_URL, FakeOpener, FakeResponse
from .conftest import Settings, offline_client

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "client.py"
STACK = "BedrockGenAi-Application"
POOL = "us-east-1_AbCdEf123"
MACHINE = "machineclient123"
SECRET = "1example2secret3of4the5machine6client"  # noqa: S105 - a fake secret the stubbed Cognito hands out
OUTPUTS = {
    "ApiUrl": API_URL,
    "UserPoolId": POOL,
    "MachineClientId": MACHINE,
    "TokenUrl": TOKEN_URL,
    "PeopleClientId": "peopleclient456",
}
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


def never_ask(prompt: str) -> str:
    pytest.fail(f"the script asked {prompt!r}")


def describe_stacks(outputs: dict[str, str]) -> dict[str, Any]:
    stack = {"StackName": STACK, "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE"}
    return {"Stacks": [{**stack, "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}


def api_error(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "requestId": request_id}}


def frame(name: str, data: dict[str, Any] | None = None) -> bytes:
    """One server-sent event as the API writes it: `event:`, one line of JSON `data:`, a blank line."""
    return f"event: {name}\ndata: {json.dumps(data or {})}\n\n".encode()


class FakeStream(FakeResponse):
    """A streamed answer whose lines are handed out one readline at a time, as a socket's would be; before each,
    it notes what the client had printed (`printed`), which shows what was printed before the stream ended."""

    def __init__(self, *chunks: bytes | Exception) -> None:
        super().__init__(200, b"")
        self._lines = iter(
            [piece for chunk in chunks for piece in ([chunk] if isinstance(chunk, Exception) else _lines(chunk))]
        )
        self.watch: Callable[[], str] = lambda: ""
        self.printed: list[str] = []
        self.closed = False

    def readline(self) -> bytes:
        self.printed.append(self.watch())
        line = next(self._lines, b"")
        if isinstance(line, Exception):
            raise line
        return line

    def close(self) -> None:
        self.closed = True


def _lines(chunk: bytes) -> list[bytes]:
    return chunk.splitlines(keepends=True)


class StreamingOpener(FakeOpener):
    """The fake opener, which can also answer with a FakeStream, in turn with the replies scripted for its path."""

    def stream(self, method: str, path: str, fake: FakeStream) -> None:
        self.answers[(method, path)].append(fake)

    def __call__(self, request: urllib.request.Request, /, *, timeout: float) -> FakeResponse:
        queue = self.answers.get((request.get_method(), "/" + request.full_url.removeprefix(API_URL)))
        if queue and isinstance(queue[0], FakeStream):
            fake: FakeStream = queue.popleft()
            queue.appendleft((200, b"", {}))  # answered by the parent, which records the request
            super().__call__(request, timeout=timeout)
            return fake
        return super().__call__(request, timeout=timeout)


class Screen:
    """What the script printed so far: capsys's output, read without losing what was read before."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self.out = ""

    def __call__(self) -> str:
        self.out += self._capsys.readouterr().out
        return self.out

    def watch(self, *streams: FakeStream) -> None:
        for stream in streams:
            stream.watch = self


@dataclass(frozen=True)
class Api:
    """The clients of one run of the script: stubbed CloudFormation and Cognito, and the fake opener."""

    cloudformation: Any
    cognito: Any
    opener: StreamingOpener

    def run(self, *argv: str, ask: Callable[[str], str] | None = never_ask) -> int:
        return main(list(argv), cloudformation=self.cloudformation, cognito=self.cognito, opener=self.opener, ask=ask)


@pytest.fixture
def opener() -> Iterator[StreamingOpener]:
    fake = StreamingOpener()
    yield fake
    fake.assert_all_answered()


@pytest.fixture
def cognito() -> Any:
    return offline_client("cognito-idp")


@pytest.fixture
def cognito_stub(cognito: Any) -> Iterator[Stubber]:
    with Stubber(cognito) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def clients(
    cloudformation: Any, cloudformation_stub: Stubber, cognito: Any, cognito_stub: Stubber, opener: StreamingOpener
) -> Api:
    """No AWS call is answered yet: any unscripted call fails the test."""
    return Api(cloudformation, cognito, opener)


@pytest.fixture
def stack(clients: Api, cloudformation_stub: Stubber) -> Api:
    """The Application stack with every output, read once; Cognito is not expected to be called."""
    cloudformation_stub.add_response("describe_stacks", describe_stacks(OUTPUTS), {"StackName": STACK})
    return clients


@pytest.fixture
def api(stack: Api, cognito_stub: Stubber) -> Api:
    """The stack, and the machine client's secret, read once."""
    pool_client = {"UserPoolId": POOL, "ClientName": "machine", "ClientId": MACHINE, "ClientSecret": SECRET}
    cognito_stub.add_response(
        "describe_user_pool_client", {"UserPoolClient": pool_client}, {"UserPoolId": POOL, "ClientId": MACHINE}
    )
    return stack


def assert_one_line_error(err: str, message: str) -> None:
    assert err == f"client: error: {message}\n"
    assert "Traceback" not in err


# --- token and API calls ---


def test_the_token_comes_from_the_client_credentials_flow(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/chat", 200, CHAT)

    assert api.run("chat", "Hello", "--model", HAIKU) == 0

    (token_request,) = api.opener.token_requests
    basic = base64.b64encode(f"{MACHINE}:{SECRET}".encode()).decode()
    assert (token_request.method, token_request.url) == ("POST", TOKEN_URL)
    assert token_request.headers["Authorization"] == f"Basic {basic}"
    assert token_request.headers["Content-type"] == "application/x-www-form-urlencoded"
    assert token_request.body == "grant_type=client_credentials&scope=genai/invoke"
    assert api.opener.sent.index(token_request) == 0


def test_health_needs_no_token_nor_secret(stack: Api, capsys: pytest.CaptureFixture[str]) -> None:
    stack.opener.reply("GET", "/health", 200, {"status": "ok", "version": "1.4.0"})

    assert stack.run("health") == 0

    (call,) = stack.opener.sent
    assert (call.method, call.url, call.body, call.timeout) == ("GET", API_URL + "health", None, 35.0)
    assert "Authorization" not in call.headers
    assert capsys.readouterr().out == "status: ok\nversion: 1.4.0\n"


def test_models_prints_a_table_of_id_and_name_and_the_max_tokens(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("GET", "/models", 200, MODELS)

    assert api.run("models") == 0

    (call,) = api.opener.api_calls
    assert (call.method, call.url, call.body) == ("GET", API_URL + "models", None)
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert capsys.readouterr().out == (
        "id                          name\n"
        "--------------------------  ----------------\n"
        "anthropic.claude-haiku-4-5  Claude Haiku 4.5\n"
        "amazon.nova-lite-v1:0       Nova Lite\n"
        "meta.llama3-8b              Llama 3 8B\n"
        "\n"
        "max tokens: 1024 unless asked (--max-tokens), 4096 at most\n"
    )


def test_render_models_without_max_tokens() -> None:
    assert render_models({"models": [{"id": "m", "name": "M"}]}) == "id  name\n--  ----\nm   M"


def test_the_routes_come_from_the_api_registry() -> None:
    """The client's routes are routes.json's: a route the API moved or stopped streaming moves in the client."""
    registry = json.loads((SCRIPT.parents[1] / "lambda" / "api" / "routes.json").read_text(encoding="utf-8"))
    declared = {route["name"]: (route["method"], route["path"]) for route in registry["routes"]}

    assert {name: (route.method, route.path) for name, route in ROUTES.items()} == declared
    assert [name for name, route in ROUTES.items() if route.stream] == ["chat", "ask", "agent"]
    assert [name for name, route in ROUTES.items() if route.public] == ["health"]
    assert ROUTES["chat"].stream_path == "/chat/stream"


# --- chat, compare ---


def test_chat_sends_the_prompt_and_options_and_prints_answer_and_metrics(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.opener.reply("POST", "/chat", 200, CHAT)

    argv = ["chat", "Hello", "--model", HAIKU, "--max-tokens", "200", "--temperature", "0.2"]
    assert api.run(*argv) == 0

    (call,) = api.opener.api_calls
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["Content-type"] == "application/json"
    assert call.body == {
        "model": HAIKU,
        "messages": [{"role": "user", "content": "Hello"}],
        "maxTokens": 200,
        "temperature": 0.2,
    }
    assert capsys.readouterr().out == (
        "Hello! How can I help?\nanthropic.claude-haiku-4-5 · end_turn · tokens 12/7 · 840 ms\n"
    )


def test_chat_takes_no_system_prompt(clients: Api, capsys: pytest.CaptureFixture[str]) -> None:
    """The system prompt is the API's configuration: the API refuses a body that carries one."""
    assert clients.run("chat", "Hello", "--system", "Be brief.") == 2

    assert capsys.readouterr().err.splitlines()[-1] == "client.py: error: unrecognized arguments: --system Be brief."
    assert clients.opener.sent == []


def test_chat_defaults_to_the_first_model_and_fetches_the_token_once(api: Api) -> None:
    api.opener.reply("GET", "/models", 200, MODELS)
    api.opener.reply("POST", "/chat", 200, CHAT)

    assert api.run("chat", "Hello") == 0

    assert [(call.method, call.path) for call in api.opener.api_calls] == [("GET", "/models"), ("POST", "/chat")]
    assert api.opener.api_calls[1].body == {"model": HAIKU, "messages": [{"role": "user", "content": "Hello"}]}
    assert len(api.opener.token_requests) == 1


def test_chat_marks_a_guardrail_intervention(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    blocked = {**CHAT, "answer": "Sorry, I can't help with that request.", "stopReason": "guardrail_intervened"}
    api.opener.reply("POST", "/chat", 200, {**blocked, "guardrail": {"action": "INTERVENED"}})

    assert api.run("chat", "Tell me a card number", "--model", HAIKU) == 0

    assert capsys.readouterr().out == (
        "Sorry, I can't help with that request.\n"
        "anthropic.claude-haiku-4-5 · guardrail_intervened · tokens 12/7 · 840 ms\n"
        "[guardrail intervened]\n"
    )


def test_render_chat_tolerates_missing_fields() -> None:
    assert render_chat({}) == "(no answer)\n? · ? · tokens ?/? · ? ms"


def test_compare_defaults_to_the_first_two_models_and_prints_a_block_per_model(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.opener.reply("GET", "/models", 200, MODELS)
    results = [
        {**CHAT, "answer": "Hello."},
        {"model": NOVA, "error": {"code": "ThrottlingException", "message": "Too many\nrequests"}},
    ]
    api.opener.reply("POST", "/compare", 200, {"results": results})

    assert api.run("compare", "Hi") == 0

    assert api.opener.api_calls[1].body == {"models": [HAIKU, NOVA], "prompt": "Hi"}
    assert capsys.readouterr().out == (
        "== anthropic.claude-haiku-4-5 ==\n"
        "840 ms · tokens 12/7 · end_turn\n"
        "Hello.\n"
        "\n"
        "== amazon.nova-lite-v1:0 ==\n"
        "error: ThrottlingException: Too many requests\n"
    )


def test_compare_sends_the_models_given(api: Api) -> None:
    api.opener.reply("POST", "/compare", 200, {"results": []})

    assert api.run("compare", "Hi", "--model", "a", "--model", "b", "--model", "c") == 0

    assert api.opener.api_calls[0].body == {"models": ["a", "b", "c"], "prompt": "Hi"}


@pytest.mark.parametrize("count", [1, 5])
def test_compare_takes_two_to_four_models(clients: Api, capsys: pytest.CaptureFixture[str], count: int) -> None:
    models = [arg for index in range(count) for arg in ("--model", f"m{index}")]

    assert clients.run("compare", "Hi", *models) == 2

    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"client.py: error: compare takes 2 to 4 --model options, got {count}"
    assert "Traceback" not in err


# --- retrieve, ask ---


def test_retrieve_prints_numbered_passages_with_score_and_source(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/retrieve", 200, PASSAGES)

    assert api.run("retrieve", "adding documents", "--top-k", "2") == 0

    assert api.opener.api_calls[0].body == {"query": "adding documents", "topK": 2}
    assert capsys.readouterr().out == (
        "1. score 0.82  ingest.md\n"
        "   Upload files under documents/.\n"
        "   They are ingested within minutes.\n"
        "2. score 0.50  faq.md\n"
        "   See the FAQ.\n"
    )


def test_ask_prints_the_answer_numbered_citations_and_session(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/ask", 200, ANSWER)

    assert api.run("ask", "How do I add documents?", "--session-id", "rag-1") == 0

    assert api.opener.api_calls[0].body == {"question": "How do I add documents?", "sessionId": "rag-1"}
    assert capsys.readouterr().out == (
        "Upload them under documents/ [1][2].\n  [1] ingest.md\n  [2] faq.md\nsession: rag-1\n"
    )


def test_renderers_say_when_there_is_nothing() -> None:
    assert render_retrieve({"results": []}) == "(no passages)"
    assert render_ask({"guardrail": {"action": "INTERVENED"}}) == "(no answer)\n[guardrail intervened]"


# --- agent ---


def test_agent_sends_the_input_and_prints_answer_citations_and_session(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.opener.reply("POST", "/agent", 200, AGENT_ANSWER)

    assert api.run("agent", "When did the last sync run?", "--session-id", "agent-1") == 0

    (call,) = api.opener.api_calls
    assert call.body == {"input": "When did the last sync run?", "sessionId": "agent-1"}
    assert api.opener.token_requests[0].body == "grant_type=client_credentials&scope=genai/invoke"
    assert capsys.readouterr().out == (
        "The last sync completed at 02:00 UTC.\n  [1] ops.md\n  [2] faq.md\nsession: agent-1\n"
    )


def test_agent_trace_asks_for_the_admin_scope_and_prints_the_steps(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    traced = {**AGENT_ANSWER, "trace": ["tool call: knowledge___sync_status", "tool result: sync_status success"]}
    api.opener.reply("POST", "/agent", 200, traced)

    assert api.run("agent", "When did the last sync run?", "--trace") == 0

    assert api.opener.token_requests[0].body == "grant_type=client_credentials&scope=genai/invoke+genai/admin"
    assert api.opener.api_calls[0].body == {"input": "When did the last sync run?", "trace": True}
    assert capsys.readouterr().out.splitlines()[:3] == [
        "trace: tool call: knowledge___sync_status",
        "trace: tool result: sync_status success",
        "The last sync completed at 02:00 UTC.",
    ]


def test_agent_prints_no_trace_unless_asked(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/agent", 200, {"answer": "Hi.", "sessionId": "s", "trace": ["step"]})

    assert api.run("agent", "Hi") == 0

    assert api.opener.api_calls[0].body == {"input": "Hi"}
    assert capsys.readouterr().out == "Hi.\nsession: s\n"


def test_a_refused_admin_scope_says_which_scope(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", TOKEN_URL, 400, {"error": "invalid_scope"})

    assert api.run("agent", "Hi", "--trace") == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "the token endpoint refused the machine client: 400 invalid_scope"
        " (scope genai/invoke genai/admin: may the machine client request it?)",
    )


SHOWN = (
    "The agent wants to run create_ticket with:\n"
    '  subject: "Nightly sync failed"\n'
    '  description: "The 02:00 sync stopped at\\n\\"documents/ops.md\\"."\n'
    '  priority: "high"\n'
)


@pytest.mark.parametrize(
    ("flags", "reply", "outcome"),
    [
        pytest.param(["--yes"], None, (True, "Approved (--yes).\n"), id="yes"),
        pytest.param(["--no"], None, (False, "Declined (--no).\n"), id="no"),
        pytest.param([], " Y ", (True, ""), id="interactive yes"),
        pytest.param([], "yes", (True, ""), id="interactive yes in full"),
        pytest.param([], "", (False, ""), id="interactive default"),
        pytest.param([], "ok", (False, ""), id="interactive anything else"),
    ],
)
def test_agent_confirmation_round_trip(
    api: Api, capsys: pytest.CaptureFixture[str], flags: list[str], reply: str | None, outcome: tuple[bool, str]
) -> None:
    approve, note = outcome
    api.opener.reply("POST", "/agent", 200, CONFIRMATION)
    done = "Ticket T-42 created." if approve else "OK, I did not open a ticket."
    api.opener.reply("POST", "/agent", 200, {"answer": done, "sessionId": "agent-2"})
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        assert reply is not None
        return reply

    assert api.run("agent", "Open a ticket: the nightly sync failed", *flags, ask=ask) == 0

    assert prompts == ([] if flags else ["Run it? [y/N] "])
    first, follow_up = api.opener.api_calls
    assert first.body == {"input": "Open a ticket: the nightly sync failed"}
    assert follow_up.body == {"sessionId": "agent-2", "confirm": {"id": CONFIRMATION_ID, "approve": approve}}
    assert capsys.readouterr().out == f"{SHOWN}{note}{done}\nsession: agent-2\n"


def test_agent_shows_what_it_said_before_asking(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/agent", 200, {**CONFIRMATION, "answer": "I will open this ticket."})
    api.opener.reply("POST", "/agent", 200, {"answer": "Done.", "sessionId": "agent-2"})

    assert api.run("agent", "Open a ticket", "--yes") == 0

    assert capsys.readouterr().out.startswith(f"I will open this ticket.\n{SHOWN}")


def test_agent_shows_a_tool_call_without_input(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    closing = {"id": CONFIRMATION_ID, "tool": "close_ticket", "input": {}}
    api.opener.reply("POST", "/agent", 200, {**CONFIRMATION, "confirmation": closing})
    api.opener.reply("POST", "/agent", 200, {"answer": "Which ticket?", "sessionId": "agent-2"})

    assert api.run("agent", "Close it", "--no") == 0

    assert capsys.readouterr().out.startswith("The agent wants to run close_ticket, with no input.\n")


def test_agent_declines_when_stdin_is_closed(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/agent", 200, CONFIRMATION)
    api.opener.reply("POST", "/agent", 200, {"answer": "OK.", "sessionId": "agent-2"})

    def closed(prompt: str) -> str:
        raise EOFError

    assert api.run("agent", "Open a ticket", ask=closed) == 0
    assert api.opener.api_calls[1].body["confirm"]["approve"] is False
    assert "Declined (no answer).\n" in capsys.readouterr().out


def test_agent_declines_without_asking_when_stdin_is_not_a_terminal(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped in: not an answer the user saw a question for
    api.opener.reply("POST", "/agent", 200, CONFIRMATION)
    api.opener.reply("POST", "/agent", 200, {"answer": "OK.", "sessionId": "agent-2"})

    assert api.run("agent", "Open a ticket", ask=None) == 0

    assert api.opener.api_calls[1].body["confirm"]["approve"] is False
    assert "Declined (stdin is not a terminal; pass --yes to approve).\n" in capsys.readouterr().out


def test_agent_keeps_the_trace_and_follows_each_confirmation(api: Api) -> None:
    second = {**CONFIRMATION, "sessionId": "agent-2", "confirmation": {**CONFIRMATION["confirmation"], "id": "c2.t"}}
    api.opener.reply("POST", "/agent", 200, CONFIRMATION)
    api.opener.reply("POST", "/agent", 200, second)
    api.opener.reply("POST", "/agent", 200, {"answer": "Both done.", "sessionId": "agent-2"})

    assert api.run("agent", "Open two tickets", "--session-id", "agent-2", "--yes", "--trace") == 0

    assert [call.body for call in api.opener.api_calls] == [
        {"input": "Open two tickets", "sessionId": "agent-2", "trace": True},
        {"sessionId": "agent-2", "confirm": {"id": CONFIRMATION_ID, "approve": True}, "trace": True},
        {"sessionId": "agent-2", "confirm": {"id": "c2.t", "approve": True}, "trace": True},
    ]


def test_agent_stops_after_five_confirmations_in_a_row(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(6):
        api.opener.reply("POST", "/agent", 200, CONFIRMATION)

    assert api.run("agent", "Open tickets forever", "--yes") == 2

    assert len(api.opener.api_calls) == 6
    assert [call.body.get("confirm", {}).get("approve") for call in api.opener.api_calls] == [None] + [True] * 5
    out, err = capsys.readouterr()
    assert out.count("The agent wants to run create_ticket") == 6
    assert_one_line_error(
        err,
        "the agent asked to confirm a tool call 6 times in a row; stopped without an answer"
        " (continue with --session-id agent-2)",
    )


def test_confirm_request_sends_the_id_and_the_decision() -> None:
    assert confirm_request("s-1", "payload.tag", approve=False) == {
        "sessionId": "s-1",
        "confirm": {"id": "payload.tag", "approve": False},
    }


def test_render_agent_tolerates_missing_fields() -> None:
    assert render_agent({}) == "(no answer)"
    assert render_agent({"confirmation": "not an object"}) == "(no answer)"
    assert render_agent({"confirmation": {"input": {"ticket_id": "T-1"}}}) == (
        'The agent wants to run ? with:\n  ticket_id: "T-1"'
    )


# --- --json ---


def test_json_prints_the_raw_response_and_works_after_the_subcommand(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.opener.reply("POST", "/chat", 200, CHAT)

    assert api.run("chat", "Hello", "--model", HAIKU, "--json") == 0

    assert json.loads(capsys.readouterr().out) == CHAT


def test_json_prints_each_agent_response(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/agent", 200, CONFIRMATION)
    api.opener.reply("POST", "/agent", 200, {"answer": "Done.", "sessionId": "agent-2"})

    assert api.run("--json", "agent", "Open a ticket", "--yes") == 0

    first, second = capsys.readouterr().out.split("\n}\n", 1)
    assert json.loads(first + "}") == CONFIRMATION
    assert json.loads(second) == {"answer": "Done.", "sessionId": "agent-2"}


# --- streams ---

CHAT_METADATA = {
    "model": HAIKU,
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19},
    "latencyMs": 840,
}
BLOCKED = "Sorry, I can't help with that request."


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


def test_an_error_event_exits_1_with_the_error_envelope(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    error = {"code": "UpstreamError", "message": "The model or service\nbehind the API failed.", "requestId": "r-5"}
    stream = FakeStream(frame("delta", {"text": "Once upon"}), frame("error", error), frame("done"))
    api.opener.stream("POST", "/chat/stream", stream)

    assert api.run("chat", "A story", "--model", HAIKU, "--stream") == 1

    out, err = capsys.readouterr()
    assert out == "Once upon\n"
    assert_one_line_error(err, "stream UpstreamError: The model or service behind the API failed. (request r-5)")
    assert stream.printed[-1] == ""  # nothing was read after the error event
    assert len(stream.printed) == 6
    assert stream.closed


def test_an_error_before_the_stream_is_an_ordinary_error_answer(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    refusal = api_error("RateLimited", "Too many model calls; retry after 42 s.", "r-6")
    api.opener.reply("POST", "/chat/stream", 429, refusal, {"Retry-After": "42"})

    assert api.run("chat", "Hello", "--model", HAIKU, "--stream") == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, "429 RateLimited: Too many model calls; retry after 42 s. (request r-6)")


@pytest.mark.parametrize(
    ("chunks", "problem"),
    [
        pytest.param([], "the stream ended without a done event", id="no done"),
        pytest.param([b"event: done\n"], "the stream ended inside an event", id="cut short"),
        pytest.param(
            [ConnectionResetError(104, "Connection reset by peer")],
            "the stream broke off: [Errno 104] Connection reset by peer",
            id="reset",
        ),
        pytest.param([TimeoutError("timed out")], "no event within 300 s", id="silent"),
        pytest.param([b'{"answer": "Hi"}\n'], 'line 4 is not an event or data field: \'{"answer": "Hi"}\'', id="json"),
    ],
)
def test_an_incomplete_stream_exits_1(
    api: Api, capsys: pytest.CaptureFixture[str], chunks: list[bytes | Exception], problem: str
) -> None:
    api.opener.stream("POST", "/chat/stream", FakeStream(frame("delta", {"text": "Hi"}), *chunks))

    assert api.run("chat", "Hello", "--model", HAIKU, "--stream") == 1

    out, err = capsys.readouterr()
    assert out == "Hi\n"
    assert_one_line_error(err, f"200 InvalidResponse: POST /chat/stream: {problem}")


def test_a_stream_that_cannot_be_opened_exits_2(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.fail("POST", "/chat/stream", urllib.error.URLError(OSError(-2, "Name or service not known")))

    assert api.run("chat", "Hello", "--model", HAIKU, "--stream") == 2

    assert_one_line_error(
        capsys.readouterr().err, f"cannot reach {API_URL}chat/stream: [Errno -2] Name or service not known"
    )


@pytest.mark.parametrize(
    ("flags", "reply", "note"),
    [
        pytest.param(["--yes"], None, "Approved (--yes).\n", id="yes"),
        pytest.param([], "y", "", id="interactive yes"),
        pytest.param([], "", "", id="interactive default"),
    ],
)
def test_agent_stream_confirms_then_streams_the_decision(
    api: Api, capsys: pytest.CaptureFixture[str], flags: list[str], reply: str | None, note: str
) -> None:
    approve = note.startswith("Approved") or reply == "y"
    asking = FakeStream(
        frame("session", {"sessionId": "agent-2"}),
        frame("delta", {"text": "I will open this ticket."}),
        frame("confirmation", CONFIRMATION["confirmation"]),
        frame("metadata", {"stopReason": "tool_use", "usage": USAGE}),
        frame("done"),
    )
    done = "Ticket T-42 created." if approve else "OK, I did not open a ticket."
    answering = FakeStream(
        frame("session", {"sessionId": "agent-2"}),
        frame("delta", {"text": done}),
        frame("citation", {"source": "ops.md"}),
        frame("metadata", {"stopReason": "end_turn", "usage": USAGE}),
        frame("done"),
    )
    api.opener.stream("POST", "/agent/stream", asking)
    api.opener.stream("POST", "/agent/stream", answering)
    screen = Screen(capsys)
    screen.watch(asking, answering)
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        assert reply is not None
        assert screen().endswith(SHOWN)  # the tool call is on screen when the question is asked
        return reply

    assert api.run("agent", "Open a ticket: the nightly sync failed", "--stream", *flags, ask=ask) == 0

    assert prompts == ([] if flags else ["Run it? [y/N] "])
    first, follow_up = api.opener.api_calls
    assert (first.path, follow_up.path) == ("/agent/stream", "/agent/stream")
    assert first.body == {"input": "Open a ticket: the nightly sync failed"}
    assert follow_up.body == {"sessionId": "agent-2", "confirm": {"id": CONFIRMATION_ID, "approve": approve}}
    assert screen() == f"I will open this ticket.\n{SHOWN}{note}{done}\n  [1] ops.md\nsession: agent-2\n"


def test_agent_stream_stops_after_five_confirmations_in_a_row(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(6):
        confirmation = FakeStream(
            frame("session", {"sessionId": "agent-2"}),
            frame("confirmation", CONFIRMATION["confirmation"]),
            frame("done"),
        )
        api.opener.stream("POST", "/agent/stream", confirmation)

    assert api.run("agent", "Open tickets forever", "--stream", "--yes") == 2

    assert [call.body.get("confirm", {}).get("approve") for call in api.opener.api_calls] == [None] + [True] * 5
    assert capsys.readouterr().err.startswith("client: error: the agent asked to confirm a tool call 6 times")


def test_agent_trace_is_not_streamed(clients: Api, capsys: pytest.CaptureFixture[str]) -> None:
    assert clients.run("agent", "Hi", "--stream", "--trace") == 2

    assert capsys.readouterr().err.splitlines()[-1] == (
        "client.py: error: agent --trace cannot be combined with --stream: the stream carries no trace"
    )


def test_json_stream_prints_each_event_as_a_line(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    events: list[tuple[str, dict[str, Any]]] = [
        ("session", {"sessionId": "rag-2"}),
        ("delta", {"text": "Déjà vu."}),
        ("citation", {"text": "Déjà vu.", "sources": ["faq.md"]}),
        ("done", {}),
    ]
    api.opener.stream("POST", "/ask/stream", FakeStream(*(frame(name, data) for name, data in events)))

    assert api.run("--json", "ask", "Again?", "--stream") == 0

    out = capsys.readouterr().out
    assert [json.loads(line) for line in out.splitlines()] == [{"event": n, "data": d} for n, d in events]
    assert "Déjà" in out


def test_stream_is_offered_only_where_the_api_streams(clients: Api, capsys: pytest.CaptureFixture[str]) -> None:
    assert clients.run("compare", "Hi", "--stream") == 2

    assert capsys.readouterr().err.splitlines()[-1] == "client.py: error: unrecognized arguments: --stream"


# --- reading server-sent events ---


def test_read_events_reads_the_api_vocabulary() -> None:
    lines = [
        b": a comment, skipped\n",
        b"event: session\n",
        b'data: {"sessionId": "s-1"}\n',
        b"\n",
        b"\n",
        b'data:{"text": "caf\xc3\xa9"}\r\n',
        b"event:delta\r\n",
        b"\r\n",
    ]

    assert list(read_events(lines)) == [Event("session", {"sessionId": "s-1"}), Event("delta", {"text": "café"})]


def test_read_events_yields_an_event_before_the_next_is_read() -> None:
    def lines() -> Iterator[bytes]:
        yield from frame("delta", {"text": "first"}).splitlines(keepends=True)
        pytest.fail("read past the first event before it was handed over")

    assert next(read_events(lines())) == Event("delta", {"text": "first"})


def test_read_events_reads_what_the_api_writes() -> None:
    """Every event of the API's vocabulary, encoded by the API's own writer, reads back unchanged."""
    data: dict[str, dict[str, Any]] = {
        "session": {"sessionId": "s"},
        "delta": {"text": "two\nlines, « quoted »"},
        "citation": {"source": "a b.md"},
        "guardrail": {"action": "INTERVENED", "message": BLOCKED},
        "confirmation": CONFIRMATION["confirmation"],
        "metadata": CHAT_METADATA,
        "error": {"code": "Timeout", "message": "Too slow.", "requestId": "r"},
        "done": {},
    }
    assert set(data) == set(sse.NAMES)
    encoded = b"".join(sse.Event(name, value).encode() for name, value in data.items())

    assert list(read_events(encoded.splitlines(keepends=True))) == [Event(n, v) for n, v in data.items()]


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        pytest.param([b"event: shout\n", b"data: {}\n", b"\n"], "unknown kind: 'shout'", id="unknown event"),
        pytest.param([b"event: delta\n", b"data: [1]\n", b"\n"], "data that is not a JSON object", id="not object"),
        pytest.param([b"event: delta\n", b"data: {\n", b"\n"], "data that is not a JSON object", id="not JSON"),
        pytest.param([b"event: done\n", b"\n"], "has no data field", id="no data"),
        pytest.param([b"data: {}\n", b"\n"], "has no event field", id="no name"),
        pytest.param([b"event: delta\n", b"data: {}\n", b"data: {}\n"], "line 3 repeats the data field", id="twice"),
        pytest.param([b"id: 7\n"], "line 1 is not an event or data field: 'id: 7'", id="other field"),
        pytest.param([b"event\n"], "line 1 is not an event or data field", id="no colon"),
        pytest.param([b"event: done\n", b"data: {}\n"], "the stream ended inside an event", id="cut short"),
        pytest.param([b"event: d\xe9lta\n"], "line 1 is not UTF-8", id="not UTF-8"),
    ],
)
def test_read_events_refuses_anything_else(lines: list[bytes], problem: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(problem)):
        list(read_events(lines))


# --- smoke ---


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


# --- errors ---


def test_an_api_error_exits_1_with_one_line(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/chat", 502, api_error("ModelError", "the model did not\nanswer in time", "req-9"))

    assert api.run("chat", "Hello", "--model", HAIKU) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, "502 ModelError: the model did not answer in time (request req-9)")


def test_an_api_gateway_error_uses_the_status_phrase_and_request_id_header(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.opener.reply("GET", "/models", 403, {"message": "Forbidden"}, {"x-amzn-RequestId": "gw-1"})

    assert api.run("models") == 1

    assert_one_line_error(capsys.readouterr().err, "403 Forbidden: Forbidden (request gw-1)")


def test_an_answer_that_is_not_json_exits_1(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("GET", "/models", 200, b"<html>hello</html>")

    assert api.run("models") == 1

    assert_one_line_error(
        capsys.readouterr().err, "200 InvalidResponse: GET /models answered with no JSON: <html>hello</html>"
    )


def test_a_missing_output_exits_2(
    clients: Api, cloudformation_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {key: value for key, value in OUTPUTS.items() if key != "TokenUrl"}
    cloudformation_stub.add_response("describe_stacks", describe_stacks(outputs), {"StackName": STACK})

    assert clients.run("models") == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "stack 'BedrockGenAi-Application' has no output TokenUrl"
        " (its outputs: ApiUrl, MachineClientId, PeopleClientId, UserPoolId); is the API deployed?",
    )
    assert clients.opener.sent == []


def test_the_stack_is_the_one_cdk_json_configures(
    clients: Api, cloudformation_stub: Stubber, cdk_json: Settings
) -> None:
    cdk_json({"stack_prefix": "Acme"})
    cloudformation_stub.add_response("describe_stacks", describe_stacks(OUTPUTS), {"StackName": "Acme-Application"})
    clients.opener.reply("GET", "/health", 200, {"status": "ok"})

    assert clients.run("health") == 0


def test_a_missing_stack_exits_2(
    clients: Api, cloudformation_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudformation_stub.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id Other does not exist",
        expected_params={"StackName": "Other"},
    )

    assert clients.run("--stack-name", "Other", "health") == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "stack 'Other' not found in us-east-1 (deploy it with `make deploy`, or pass --stack-name or --region)",
    )


def test_an_api_url_that_is_not_https_exits_2(
    clients: Api, cloudformation_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {**OUTPUTS, "ApiUrl": "http://abc123.execute-api.us-east-1.amazonaws.com/prod/"}
    cloudformation_stub.add_response("describe_stacks", describe_stacks(outputs), {"StackName": STACK})

    assert clients.run("health") == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "output ApiUrl is not an https URL: 'http://abc123.execute-api.us-east-1.amazonaws.com/prod/'",
    )
    assert clients.opener.sent == []


def test_a_refused_token_request_exits_2(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", TOKEN_URL, 400, {"error": "invalid_client"})

    assert api.run("models") == 2

    assert_one_line_error(capsys.readouterr().err, "the token endpoint refused the machine client: 400 invalid_client")
    assert api.opener.api_calls == []


def test_a_cognito_error_exits_2(stack: Api, cognito_stub: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    cognito_stub.add_client_error("describe_user_pool_client", "AccessDeniedException", "not\nallowed")

    assert stack.run("models") == 2

    assert_one_line_error(capsys.readouterr().err, "DescribeUserPoolClient failed: AccessDeniedException: not allowed")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        pytest.param(
            urllib.error.URLError(OSError(-2, "Name or service not known")),
            f"cannot reach {API_URL}health: [Errno -2] Name or service not known",
            id="connection",
        ),
        pytest.param(TimeoutError("timed out"), f"no answer from {API_URL}health within 35 s", id="timeout"),
        pytest.param(
            ConnectionResetError(104, "Connection reset by peer"),
            f"cannot reach {API_URL}health: [Errno 104] Connection reset by peer",
            id="reset",
        ),
    ],
)
def test_a_connection_error_exits_2(
    stack: Api, capsys: pytest.CaptureFixture[str], error: Exception, message: str
) -> None:
    stack.opener.fail("GET", "/health", error)

    assert stack.run("health") == 2

    assert_one_line_error(capsys.readouterr().err, message)


def test_no_credentials_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    class NoCredentials:
        def describe_stacks(self, **request: Any) -> dict[str, Any]:
            raise NoCredentialsError

    assert main(["health"], cloudformation=NoCredentials(), opener=FakeOpener()) == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "no AWS credentials found: configure them for the stack's account (AWS_PROFILE, aws sso login...)",
    )


def test_no_region_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    assert main(["health"], opener=FakeOpener()) == 2

    assert_one_line_error(
        capsys.readouterr().err, "no AWS region configured: pass --region, or set AWS_REGION or a profile's region"
    )


# --- the pure functions, and the program ---


def test_fetch_token_and_call_api() -> None:
    opener = FakeOpener()
    opener.reply("POST", "/ask", 201, {"answer": "yes"})

    token = fetch_token(opener, TOKEN_URL, "id", "secret")
    status, answer = call_api("POST", "/ask", {"question": "?"}, token, api_url=API_URL, opener=opener)

    assert (token, status, answer) == (TOKEN, 201, {"answer": "yes"})
    assert opener.sent[1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_fetch_token_without_an_access_token_raises() -> None:
    opener = FakeOpener()
    opener.reply("POST", TOKEN_URL, 200, {"token_type": "Bearer"})

    with pytest.raises(RunError, match="without an access_token"):
        fetch_token(opener, TOKEN_URL, "id", "secret")


def test_call_api_raises_api_error() -> None:
    opener = FakeOpener()
    opener.reply("POST", "/retrieve", 429, api_error("Throttled", "slow down", "r-1"))

    with pytest.raises(ApiError) as raised:
        call_api("POST", "/retrieve", {"query": "q"}, "t", api_url=API_URL, opener=opener)

    assert (raised.value.status, raised.value.code, raised.value.request_id) == (429, "Throttled", "r-1")
    assert str(raised.value) == "429 Throttled: slow down (request r-1)"


def test_help_is_the_module_docstring(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    usage = " ".join(out.split("\n\n", 1)[0].split())
    assert usage == "usage: client.py [-h] [--stack-name NAME] [--region REGION] [--json] COMMAND ..."
    for text in ("make smoke", 'scripts/client.py chat "Hello"', "cognito-idp:DescribeUserPoolClient", "Exit codes:"):
        assert text in out


def test_script_runs_as_a_program(tmp_path: Path) -> None:
    """`python scripts/client.py` from anywhere: --help works, and bad arguments exit 2 without a traceback."""
    help_run = subprocess.run(
        [sys.executable, str(SCRIPT), "agent", "--help"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    error_run = subprocess.run(
        [sys.executable, str(SCRIPT), "compare", "Hi", "--model", "only-one"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert help_run.returncode == 0
    assert "--session-id S" in help_run.stdout
    assert (error_run.returncode, error_run.stdout) == (2, "")
    assert error_run.stderr.splitlines()[-1] == "client.py: error: compare takes 2 to 4 --model options, got 1"
    assert "Traceback" not in error_run.stderr
