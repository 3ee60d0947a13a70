"""scripts/client.py's subcommands, offline: the request each sends, what it prints, the agent's confirmations,
--json and --stream, and the program's arguments."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.client import main
from scripts.client_commands import confirm_request

from .answers import (
    AGENT_ANSWER,
    ANSWER,
    CHAT,
    CONFIRMATION,
    CONFIRMATION_ID,
    HAIKU,
    MODELS,
    NOVA,
    PASSAGES,
    USAGE,
)
from .fakes import (
    API_URL,
    TOKEN,
    Api,
    FakeStream,
    Screen,
    assert_one_line_error,
    frame,
)

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "client.py"


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
