"""POST /agent over the AgentCore harness: sessions bound to the verified caller, tools run as that caller,
state changes only after an explicit confirmation, the guardrail on both sides of a turn.

InvokeHarness is answered at the HTTP layer (tests/eventstream.py), so botocore validates every request
against the real bedrock-agentcore model and parses real event-stream frames.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import pytest
from api.clients import OPERATIONS
from botocore.stub import Stubber

from tests.eventstream import HttpStub, error_response, event, exception, stream_response

from .api_fakes import (
    ADMIN,
    GUARDRAIL_ID,
    GUARDRAIL_USAGE,
    GUARDRAIL_VERSION,
    HARNESS_ARN,
    HARNESS_ENDPOINT,
    MACHINE,
    OTHER_PERSON,
    PERSON,
    FakeContext,
    body_of,
    error_of,
    rest_event,
)

RUNTIME_SESSION_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-_]{32,99}")
ALLOWED_REQUEST_KEYS = {"harnessArn", "qualifier", "runtimeSessionId", "actorId", "messages", "timeoutSeconds"}


def text_turn(text: str, stop: str = "end_turn") -> list[bytes]:
    """The frames of a turn that answers with text."""
    return [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text[: len(text) // 2]}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text[len(text) // 2 :]}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": stop}),
        event(
            "metadata",
            {"usage": {"inputTokens": 10, "outputTokens": 4, "totalTokens": 14}, "metrics": {"latencyMs": 9}},
        ),
    ]


def tool_turn(name: str, arguments: Mapping[str, Any], tool_use_id: str = "tooluse_1", text: str = "") -> list[bytes]:
    """The frames of a turn that ends by handing an inline tool call back; the input arrives in fragments."""
    encoded = json.dumps(arguments)
    frames = [event("messageStart", {"role": "assistant"})]
    if text:
        frames.append(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}}))
    start = {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": tool_use_id, "name": name, "type": "tool_use"}}}
    frames += [
        event("contentBlockStart", start),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": encoded[:5]}}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": encoded[5:]}}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event("messageStop", {"stopReason": "tool_use"}),
    ]
    return frames


def search_turn(*sources: str) -> list[bytes]:
    """A gateway search the harness ran itself, then the answer: the tool result names the documents."""
    result = json.dumps({"results": [{"text": "…", "source": source, "score": 0.9} for source in sources]})
    use = {"toolUseId": "tooluse_s", "name": "knowledge___search_documents", "type": "mcp_tool_use"}
    return [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": use}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"query": "sync"}'}}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolResult": {"toolUseId": "tooluse_s"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolResult": [{"text": result}]}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        *text_turn("Documents sync within a minute.")[1:],
    ]


def guardrail_params(text: str, source: str) -> dict[str, Any]:
    return {
        "guardrailIdentifier": GUARDRAIL_ID,
        "guardrailVersion": GUARDRAIL_VERSION,
        "source": source,
        "content": [{"text": {"text": text}}],
    }


def passes(runtime_stub: Stubber, text: str, source: str) -> None:
    """The guardrail lets `text` through."""
    response = {"usage": GUARDRAIL_USAGE, "action": "NONE", "outputs": [], "assessments": []}
    runtime_stub.add_response("apply_guardrail", response, guardrail_params(text, source))


def call(api: ModuleType, body: Mapping[str, Any], claims: Mapping[str, str] | None = PERSON) -> dict[str, Any]:
    response: dict[str, Any] = api.handler(rest_event("POST", "/agent", body, claims=claims), FakeContext())
    return response


def ask(api: ModuleType, stub: Stubber, harness: HttpStub, text: str, answer: str, **body: Any) -> dict[str, Any]:
    """One plain turn: the guardrail passes the message and the answer."""
    passes(stub, text, "INPUT")
    harness.responses.append(stream_response(text_turn(answer)))
    passes(stub, answer, "OUTPUT")
    response = call(api, {"input": text, **body})
    assert response["statusCode"] == 200, response["body"]
    return dict(body_of(response))


def test_a_new_conversation_gets_a_server_issued_session_and_the_callers_actor(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub
) -> None:
    body = ask(agent_api, runtime_stub, harness, "How do I add documents?", "Upload them under documents/.")

    assert body["answer"] == "Upload them under documents/."
    assert body["stopReason"] == "end_turn"
    assert body["guardrail"] == {"action": "NONE"}
    assert body["usage"] == {"inputTokens": 10, "outputTokens": 4, "totalTokens": 14}
    [request] = harness.calls
    assert request == {
        "harnessArn": HARNESS_ARN,
        "qualifier": HARNESS_ENDPOINT,
        "runtimeSessionId": body["sessionId"],
        "actorId": f"user-{PERSON['sub']}",
        "messages": [{"role": "user", "content": [{"text": "How do I add documents?"}]}],
        "timeoutSeconds": agent_api.AGENT_TIMEOUT_SECONDS,
    }
    assert RUNTIME_SESSION_ID.fullmatch(body["sessionId"])


def test_the_harness_configuration_is_never_overridden(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub
) -> None:
    ask(agent_api, runtime_stub, harness, "Hello", "Hi.")

    # No model, system prompt, tools, allowed tools or limits: the harness's own, guarded configuration holds.
    assert set(harness.calls[0]) <= ALLOWED_REQUEST_KEYS
    assert "InvokeHarness" in OPERATIONS["bedrock-agentcore"]


def test_two_callers_never_share_a_session_or_an_actor(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub
) -> None:
    first = ask(agent_api, runtime_stub, harness, "Hello", "Hi.")
    passes(runtime_stub, "Hello", "INPUT")
    harness.responses.append(stream_response(text_turn("Hi.")))
    passes(runtime_stub, "Hi.", "OUTPUT")
    second = body_of(call(agent_api, {"input": "Hello"}, claims=OTHER_PERSON))

    assert first["sessionId"] != second["sessionId"]
    assert [r["runtimeSessionId"] for r in harness.calls] == [first["sessionId"], second["sessionId"]]
    assert [r["actorId"] for r in harness.calls] == [f"user-{PERSON['sub']}", f"user-{OTHER_PERSON['sub']}"]


@pytest.mark.parametrize("thief", [OTHER_PERSON, MACHINE], ids=["another person", "a machine client"])
def test_another_callers_session_id_is_refused_and_reaches_nothing(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, thief: Mapping[str, str]
) -> None:
    session = ask(agent_api, runtime_stub, harness, "Hello", "Hi.")["sessionId"]

    response = call(agent_api, {"input": "What did I ask?", "sessionId": session}, claims=thief)

    assert response["statusCode"] == 403
    assert error_of(response)["code"] == "SessionNotYours"
    assert len(harness.calls) == 1


@pytest.mark.parametrize(
    "forged",
    ["session-0001", "a" * 65, "0123456789abcdef0123456789abcdef-0123456789abcdef0123456789abcdef"],
    ids=["a client-chosen id", "no tag", "a wrong tag"],
)
def test_a_forged_session_id_is_refused(agent_api: ModuleType, harness: HttpStub, forged: str) -> None:
    response = call(agent_api, {"input": "Hello", "sessionId": forged})

    assert response["statusCode"] == 403
    assert error_of(response)["code"] == "SessionNotYours"
    assert harness.calls == []


def test_the_caller_continues_their_own_session(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub
) -> None:
    session = ask(agent_api, runtime_stub, harness, "Hello", "Hi.")["sessionId"]

    again = ask(agent_api, runtime_stub, harness, "And now?", "Still here.", sessionId=session)

    assert again["sessionId"] == session
    assert [r["runtimeSessionId"] for r in harness.calls] == [session, session]


def test_a_request_without_verified_claims_is_401(agent_api: ModuleType, harness: HttpStub) -> None:
    response = call(agent_api, {"input": "Hello"}, claims=None)

    assert response["statusCode"] == 401
    assert error_of(response)["code"] == "Unauthorized"
    assert harness.calls == []


def test_a_read_tool_runs_at_once_as_the_caller_and_resumes_the_harness(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    tickets_table.put_item(Item=ticket("TCK-MINE000001", owner=f"user-{PERSON['sub']}"))
    tickets_table.put_item(Item=ticket("TCK-THEIRS0001", owner=f"user-{OTHER_PERSON['sub']}"))
    passes(runtime_stub, "My tickets?", "INPUT")
    harness.responses.append(stream_response(tool_turn("list_tickets", {"status": "open"})))
    harness.responses.append(stream_response(text_turn("You have one open ticket.")))
    passes(runtime_stub, "You have one open ticket.", "OUTPUT")

    body = body_of(call(agent_api, {"input": "My tickets?"}))

    assert body["answer"] == "You have one open ticket."
    assert "confirmation" not in body
    resumed = harness.calls[1]
    assert resumed["runtimeSessionId"] == body["sessionId"]
    [block] = resumed["messages"][0]["content"]
    assert block["toolResult"]["toolUseId"] == "tooluse_1"
    assert block["toolResult"]["status"] == "success"
    listed = block["toolResult"]["content"][0]["json"]["tickets"]
    assert [t["ticket_id"] for t in listed] == ["TCK-MINE000001"]


def confirmation_for(
    api: ModuleType, stub: Stubber, harness: HttpStub, arguments: Mapping[str, Any], tool: str = "create_ticket"
) -> dict[str, Any]:
    """Ask for a state change: the answer carries the confirmation and nothing has run yet."""
    passes(stub, "Open a ticket", "INPUT")
    harness.responses.append(stream_response(tool_turn(tool, arguments, text="I will open this ticket.")))
    passes(stub, "I will open this ticket.", "OUTPUT")
    body = body_of(call(api, {"input": "Open a ticket"}))
    assert body["confirmation"]["tool"] == tool
    assert body["confirmation"]["input"] == arguments
    return dict(body)


NEW_TICKET = {"subject": "Nightly sync failed", "description": "The 02:00 sync stopped.", "priority": "high"}


def test_a_state_change_waits_for_the_users_confirmation(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    confirmation_for(agent_api, runtime_stub, harness, NEW_TICKET)

    assert tickets_table.scan()["Items"] == []
    assert len(harness.calls) == 1


def confirm(api: ModuleType, stub: Stubber, harness: HttpStub, body: Mapping[str, Any], approve: bool) -> Any:
    harness.responses.append(stream_response(text_turn("Done.")))
    passes(stub, "Done.", "OUTPUT")
    decision = {"sessionId": body["sessionId"], "confirm": {"id": body["confirmation"]["id"], "approve": approve}}
    response = call(api, decision)
    assert response["statusCode"] == 200, response["body"]
    return harness.calls[-1]["messages"][0]["content"][0]["toolResult"]


def test_an_approved_action_runs_as_the_caller_and_resumes_the_harness(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    body = confirmation_for(agent_api, runtime_stub, harness, NEW_TICKET)

    result = confirm(agent_api, runtime_stub, harness, body, approve=True)

    [item] = tickets_table.scan()["Items"]
    assert item["owner"] == f"user-{PERSON['sub']}"
    assert item["subject"] == NEW_TICKET["subject"]
    assert result["toolUseId"] == "tooluse_1"
    assert result["status"] == "success"
    assert result["content"][0]["json"]["ticket_id"] == item["ticket_id"]


def test_a_confirmation_retried_after_a_lost_response_makes_no_second_ticket(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    body = confirmation_for(agent_api, runtime_stub, harness, NEW_TICKET)

    first = confirm(agent_api, runtime_stub, harness, body, approve=True)
    second = confirm(agent_api, runtime_stub, harness, body, approve=True)

    assert len(tickets_table.scan()["Items"]) == 1
    assert first["content"] == second["content"]


def test_a_declined_action_changes_nothing(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    body = confirmation_for(agent_api, runtime_stub, harness, NEW_TICKET)

    result = confirm(agent_api, runtime_stub, harness, body, approve=False)

    assert tickets_table.scan()["Items"] == []
    assert result["status"] == "error"
    assert "declined" in result["content"][0]["json"]["error"]


def test_an_action_without_an_explicit_approval_does_not_run(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    body = confirmation_for(agent_api, runtime_stub, harness, NEW_TICKET)

    response = call(agent_api, {"sessionId": body["sessionId"], "confirm": {"id": body["confirmation"]["id"]}})

    assert response["statusCode"] == 400
    assert tickets_table.scan()["Items"] == []
    assert len(harness.calls) == 1


def test_another_callers_ticket_cannot_be_closed_through_a_confirmation(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    theirs = ticket("TCK-THEIRS0001", owner=f"user-{OTHER_PERSON['sub']}")
    tickets_table.put_item(Item=theirs)
    body = confirmation_for(agent_api, runtime_stub, harness, {"ticket_id": "TCK-THEIRS0001"}, tool="close_ticket")

    result = confirm(agent_api, runtime_stub, harness, body, approve=True)

    assert result["status"] == "error"
    assert result["content"][0]["json"] == {"error": "You have no ticket TCK-THEIRS0001."}
    assert tickets_table.get_item(Key={"ticket_id": "TCK-THEIRS0001"})["Item"]["status"] == "open"


@pytest.mark.parametrize("who", ["another caller", "another session", "a tampered id"])
def test_a_confirmation_is_valid_only_for_its_caller_session_and_action(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any, who: str
) -> None:
    body = confirmation_for(agent_api, runtime_stub, harness, NEW_TICKET)
    decision = {"sessionId": body["sessionId"], "confirm": {"id": body["confirmation"]["id"], "approve": True}}
    claims: Mapping[str, str] = PERSON
    if who == "another caller":
        claims = OTHER_PERSON
    elif who == "another session":
        decision["sessionId"] = ask(agent_api, runtime_stub, harness, "Hello", "Hi.")["sessionId"]
    else:
        payload, tag = body["confirmation"]["id"].rsplit(".", 1)
        decision["confirm"]["id"] = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + tag
    calls_before = len(harness.calls)

    response = call(agent_api, decision, claims=claims)

    assert response["statusCode"] == 403
    assert error_of(response)["code"] in {"SessionNotYours", "ConfirmationNotYours"}
    assert tickets_table.scan()["Items"] == []
    assert len(harness.calls) == calls_before


def test_only_an_admin_may_see_the_trace(agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub) -> None:
    refused = call(agent_api, {"input": "Hello", "trace": True}, claims=MACHINE)
    passes(runtime_stub, "Hello", "INPUT")
    harness.responses.append(stream_response(search_turn("guides/sync.md")))
    passes(runtime_stub, "Documents sync within a minute.", "OUTPUT")
    allowed = body_of(call(agent_api, {"input": "Hello", "trace": True}, claims=ADMIN))

    assert refused["statusCode"] == 403
    assert error_of(refused)["code"] == "TraceNotAllowed"
    assert allowed["trace"] == [
        "tool call: knowledge___search_documents",
        "tool result: knowledge___search_documents success",
    ]


def test_citations_come_from_the_search_tools_results(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub
) -> None:
    passes(runtime_stub, "How fast do documents sync?", "INPUT")
    harness.responses.append(stream_response(search_turn("guides/sync.md", "faq.md", "guides/sync.md")))
    passes(runtime_stub, "Documents sync within a minute.", "OUTPUT")

    body = body_of(call(agent_api, {"input": "How fast do documents sync?"}))

    assert body["citations"] == [{"source": "guides/sync.md"}, {"source": "faq.md"}]


def test_a_blocked_message_never_reaches_the_harness(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub
) -> None:
    blocked = {
        "usage": GUARDRAIL_USAGE,
        "action": "GUARDRAIL_INTERVENED",
        "outputs": [{"text": "Sorry, I can't help with that request."}],
        "assessments": [
            {"topicPolicy": {"topics": [{"name": "Investment advice", "type": "DENY", "action": "BLOCKED"}]}}
        ],
    }
    runtime_stub.add_response("apply_guardrail", blocked, guardrail_params("Which stock should I buy?", "INPUT"))

    body = body_of(call(agent_api, {"input": "Which stock should I buy?"}))

    assert body["answer"] == "Sorry, I can't help with that request."
    assert body["guardrail"]["action"] == "INTERVENED"
    assert body["guardrail"]["assessments"][0]["type"] == "Investment advice"
    assert harness.calls == []


def test_the_answer_goes_through_the_guardrail_before_it_is_returned(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub
) -> None:
    passes(runtime_stub, "Who owns ticket 1?", "INPUT")
    harness.responses.append(stream_response(text_turn("Write to ana@example.com.")))
    masked = {
        "usage": GUARDRAIL_USAGE,
        "action": "GUARDRAIL_INTERVENED",
        "outputs": [{"text": "Write to {EMAIL}."}],
        "assessments": [],
    }
    runtime_stub.add_response("apply_guardrail", masked, guardrail_params("Write to ana@example.com.", "OUTPUT"))

    body = body_of(call(agent_api, {"input": "Who owns ticket 1?"}))

    assert body["answer"] == "Write to {EMAIL}."
    assert body["guardrail"]["action"] == "INTERVENED"


def test_a_harness_error_before_the_stream_is_mapped(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub
) -> None:
    passes(runtime_stub, "Hello", "INPUT")
    harness.responses.append(error_response(429, "ThrottlingException", "Rate exceeded"))

    response = call(agent_api, {"input": "Hello"})

    assert response["statusCode"] == 429
    assert error_of(response)["code"] == "Throttled"


def test_an_error_inside_the_stream_is_mapped(agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub) -> None:
    passes(runtime_stub, "Hello", "INPUT")
    harness.responses.append(
        stream_response([event("messageStart", {"role": "assistant"}), exception("internalServerException", "boom")])
    )

    response = call(agent_api, {"input": "Hello"})

    assert response["statusCode"] >= 500
    assert "boom" not in response["body"]


def ticket(ticket_id: str, *, owner: str) -> dict[str, str]:
    created = "2026-11-30T10:00:00.000000Z"
    return {
        "ticket_id": ticket_id,
        "owner": owner,
        "idempotency_key": f"seed/{ticket_id}",
        "subject": "Printer",
        "description": "It jams.",
        "priority": "normal",
        "status": "open",
        "status_created": f"open#{created}",
        "created_at": created,
        "updated_at": created,
    }
