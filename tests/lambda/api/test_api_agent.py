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
from api.errors import ApiError
from api.limits import Limiter
from api.registry import REGISTRY
from api.services import Services
from api.sessions import SessionBinder
from botocore.stub import Stubber

from common.schema import SchemaViolation, validate
from tests.eventstream import HttpStub, error_response, event, exception, stream_response

from .api_fakes import (
    ADMIN,
    BLOCKED_OUTPUT_MESSAGE,
    CALLER_CALLS_PER_MINUTE,
    GENERATION_MODEL_ARN,
    GUARDRAIL_ID,
    GUARDRAIL_USAGE,
    GUARDRAIL_VERSION,
    HARNESS_ARN,
    HARNESS_ENDPOINT,
    KB_ID,
    MACHINE,
    OTHER_PERSON,
    PERSON,
    SESSION_KEY,
    TICKETS_TABLE,
    USAGE_TABLE,
    FakeContext,
    body_of,
    bound,
    caller,
    calls_by_caller,
    error_of,
    header,
    rest_event,
)

RUNTIME_SESSION_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-_]{32,99}")
# What API Gateway checks every /agent body against before the function runs.
AGENT_REQUEST: Mapping[str, Any] = REGISTRY.schemas[str(REGISTRY.route("agent").request)]
# The buffered function's timeout (stacks/constructs/api.py): a turn must end before it, with time to reply.
FUNCTION_TIMEOUT_SECONDS = 28
# What no response body may name: the account, and the resources the function is configured with.
ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
RESOURCE_IDS = (HARNESS_ARN, HARNESS_ARN.rsplit("/", 1)[1], GUARDRAIL_ID, KB_ID, TICKETS_TABLE, USAGE_TABLE)


# A confirmation id of the shape the API issues (a payload and a 32-digit tag), issued to no one.
WELL_FORMED_ID = "eyJ0b29sIjoiY3JlYXRlX3RpY2tldCJ9." + "0" * 32


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


def search_frames(*sources: str) -> list[bytes]:
    """A gateway search the harness runs itself, inside a message: the tool result names the documents."""
    result = json.dumps({"results": [{"text": "…", "source": source, "score": 0.9} for source in sources]})
    use = {"toolUseId": "tooluse_s", "name": "knowledge___search_documents", "type": "mcp_tool_use"}
    return [
        event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": use}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"query": "sync"}'}}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolResult": {"toolUseId": "tooluse_s"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolResult": [{"text": result}]}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
    ]


def search_turn(*sources: str) -> list[bytes]:
    """A gateway search, then the answer."""
    [start, *answer] = text_turn("Documents sync within a minute.")
    return [start, *search_frames(*sources), *answer]


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
    """POST /agent with a body API Gateway lets through (it answers 400 to any other before the function runs)."""
    validate(AGENT_REQUEST, dict(body))
    response: dict[str, Any] = api.handler(rest_event("POST", "/agent", body, claims=claims), FakeContext())
    return response


def ask(
    api: ModuleType,
    stub: Stubber,
    harness: HttpStub,
    text: str,
    answer: str,
    *,
    claims: Mapping[str, str] = PERSON,
    **body: Any,
) -> dict[str, Any]:
    """One plain turn: the guardrail passes the message and the answer."""
    passes(stub, text, "INPUT")
    harness.responses.append(stream_response(text_turn(answer)))
    passes(stub, answer, "OUTPUT")
    response = call(api, {"input": text, **body}, claims=claims)
    assert response["statusCode"] == 200, response["body"]
    return dict(body_of(response))


def harness_request(
    session_id: str, content: list[dict[str, Any]], claims: Mapping[str, str] = PERSON
) -> dict[str, Any]:
    """The exact InvokeHarness request, timeout aside: no model, prompt, tools or limits of the caller's choosing."""
    return {
        "harnessArn": HARNESS_ARN,
        "qualifier": HARNESS_ENDPOINT,
        "runtimeSessionId": session_id,
        "actorId": f"user-{claims['sub']}",
        "messages": [{"role": "user", "content": content}],
    }


def sent(harness: HttpStub) -> list[dict[str, Any]]:
    """The InvokeHarness requests made, each checked to stop the turn while the function can still reply."""
    requests = []
    for call_params in harness.calls:
        request = dict(call_params)
        timeout = request.pop("timeoutSeconds")
        # Left over: the output guardrail's check and the reply.
        assert 10 <= timeout <= FUNCTION_TIMEOUT_SECONDS - 3
        requests.append(request)
    return requests


def spent(usage_table: Any, claims: Mapping[str, str] = PERSON) -> int:
    """The model calls counted against the caller's budget, all minutes together."""
    return calls_by_caller(usage_table).get(caller(claims).id, 0)


def assert_generic(response: Mapping[str, Any]) -> None:
    """The body names no account and none of the resources behind the API."""
    body = body_of(response)
    # The session id is random hex: it may hold twelve decimal digits in a row.
    text = json.dumps({name: value for name, value in body.items() if name != "sessionId"})
    assert "arn:" not in text
    assert not ACCOUNT_ID.search(text)
    assert not [resource for resource in RESOURCE_IDS if resource in text]


def test_a_new_conversation_gets_a_server_issued_session_and_the_callers_actor(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub
) -> None:
    body = ask(agent_api, runtime_stub, harness, "How do I add documents?", "Upload them under documents/.")

    assert body["answer"] == "Upload them under documents/."
    assert body["stopReason"] == "end_turn"
    assert body["guardrail"] == {"action": "NONE"}
    assert body["usage"] == {"inputTokens": 10, "outputTokens": 4, "totalTokens": 14}
    assert sent(harness) == [harness_request(body["sessionId"], [{"text": "How do I add documents?"}])]
    assert RUNTIME_SESSION_ID.fullmatch(body["sessionId"])
    value = body["sessionId"].rsplit("-", 1)[0]
    assert bound("agent", value) == body["sessionId"] != bound("agent", value, OTHER_PERSON)
    # The pattern of AgentRequest.sessionId accepts it back.
    validate(AGENT_REQUEST, {"input": "Again", "sessionId": body["sessionId"]})


def test_every_harness_request_keeps_the_harness_configuration(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    """A message, a read the API ran and a confirmed action: three requests, none overriding the harness."""
    # The harness's configuration (stacks/constructs/agent.py) holds the guardrail of every model call, maxTokens
    # per call and per turn, the iterations, instruction and tools; naming any of them here would replace them.
    passes(runtime_stub, "Open a ticket", "INPUT")
    harness.responses.append(stream_response(tool_turn("list_tickets", {}, tool_use_id="tooluse_r")))
    harness.responses.append(stream_response(tool_turn("create_ticket", NEW_TICKET, tool_use_id="tooluse_w")))
    first = body_of(call(agent_api, {"input": "Open a ticket"}))
    session = first["sessionId"]
    confirm(agent_api, runtime_stub, harness, first, approve=True)
    [stored] = tickets_table.scan()["Items"]
    created = {
        name: value for name, value in stored.items() if name not in ("owner", "idempotency_key", "status_created")
    }

    listed = {"toolUseId": "tooluse_r", "content": [{"json": {"tickets": []}}], "status": "success"}
    made = {"toolUseId": "tooluse_w", "content": [{"json": created}], "status": "success"}
    assert sent(harness) == [
        harness_request(session, [{"text": "Open a ticket"}]),
        harness_request(session, [{"toolResult": listed}]),
        harness_request(session, [{"toolResult": made}]),
    ]
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


@pytest.mark.parametrize("decision", [{}, {"approve": "true"}, {"approve": 1}, {"approve": None}])
def test_only_a_boolean_decision_reaches_the_function(decision: dict[str, Any]) -> None:
    """API Gateway answers 400 to a decision without approve true or false; the function only sees those two."""
    body = {"sessionId": "s" * 65, "confirm": {"id": WELL_FORMED_ID, **decision}}

    with pytest.raises(SchemaViolation, match="approve"):
        validate(AGENT_REQUEST, body)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"trace": True},
        {"input": "Hello", "confirm": {"id": WELL_FORMED_ID, "approve": True}},
        {"confirm": {"id": WELL_FORMED_ID, "approve": True}},
    ],
    ids=["nothing", "only trace", "a message and a decision", "a decision without its session"],
)
def test_a_body_that_is_not_one_message_or_one_decision_is_400(
    agent_api: ModuleType, harness: HttpStub, usage_table: Any, body: dict[str, Any]
) -> None:
    response = call(agent_api, body, claims=ADMIN)

    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "BadRequest"
    assert harness.calls == []
    assert spent(usage_table, ADMIN) == 0


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


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("another caller in the owner's session", "SessionNotYours"),
        ("another caller in their own session", "ConfirmationNotYours"),
        ("the owner in another session", "ConfirmationNotYours"),
        ("a tampered id", "ConfirmationNotYours"),
        ("a forged tag", "ConfirmationNotYours"),
        ("a tag with non-ASCII characters", "ConfirmationNotYours"),
    ],
)
def test_a_confirmation_is_valid_only_for_its_caller_session_and_action(
    *, agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any, who: str, code: str
) -> None:
    body = confirmation_for(agent_api, runtime_stub, harness, NEW_TICKET)
    confirmation_id = body["confirmation"]["id"]
    decision = {"sessionId": body["sessionId"], "confirm": {"id": confirmation_id, "approve": True}}
    payload, tag = confirmation_id.rsplit(".", 1)
    claims: Mapping[str, str] = PERSON
    if who.startswith("another caller"):
        claims = OTHER_PERSON
    if who == "another caller in their own session":
        decision["sessionId"] = ask(agent_api, runtime_stub, harness, "Hello", "Hi.", claims=OTHER_PERSON)["sessionId"]
    elif who == "the owner in another session":
        decision["sessionId"] = ask(agent_api, runtime_stub, harness, "Hello", "Hi.")["sessionId"]
    elif who == "a tampered id":
        decision["confirm"]["id"] = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + tag
    elif who == "a forged tag":
        decision["confirm"]["id"] = f"{payload}.{'0' * len(tag)}"
    elif who == "a tag with non-ASCII characters":
        decision["confirm"]["id"] = f"{payload}.{tag[:-1]}é"
    calls_before = len(harness.calls)

    if who == "a tag with non-ASCII characters":
        # API Gateway's pattern refuses it first; the function refuses it too, should one get through.
        with pytest.raises(SchemaViolation):
            validate(AGENT_REQUEST, decision)
        response = agent_api.handler(rest_event("POST", "/agent", decision, claims=claims), FakeContext())
    else:
        response = call(agent_api, decision, claims=claims)

    assert response["statusCode"] == 403
    assert error_of(response)["code"] == code
    assert tickets_table.scan()["Items"] == []
    assert len(harness.calls) == calls_before


def test_the_owner_can_still_use_a_confirmation_another_caller_was_refused(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    body = confirmation_for(agent_api, runtime_stub, harness, NEW_TICKET)
    theirs = ask(agent_api, runtime_stub, harness, "Hello", "Hi.", claims=OTHER_PERSON)["sessionId"]
    stolen = {"sessionId": theirs, "confirm": {"id": body["confirmation"]["id"], "approve": True}}

    refused = call(agent_api, stolen, claims=OTHER_PERSON)
    result = confirm(agent_api, runtime_stub, harness, body, approve=True)

    assert refused["statusCode"] == 403
    assert result["status"] == "success"
    assert [item["owner"] for item in tickets_table.scan()["Items"]] == [f"user-{PERSON['sub']}"]


def test_the_model_cannot_choose_a_tickets_owner(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    body = confirmation_for(agent_api, runtime_stub, harness, {**NEW_TICKET, "owner": f"user-{OTHER_PERSON['sub']}"})

    result = confirm(agent_api, runtime_stub, harness, body, approve=True)

    assert result["status"] == "error"
    assert "owner" in result["content"][0]["json"]["error"]
    assert tickets_table.scan()["Items"] == []


def test_another_callers_ticket_cannot_be_read_through_the_agent(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    tickets_table.put_item(Item=ticket("TCK-THEIRS0001", owner=f"user-{OTHER_PERSON['sub']}"))
    passes(runtime_stub, "Show TCK-THEIRS0001", "INPUT")
    harness.responses.append(stream_response(tool_turn("get_ticket", {"ticket_id": "TCK-THEIRS0001"})))
    harness.responses.append(stream_response(text_turn("You have no such ticket.")))
    passes(runtime_stub, "You have no such ticket.", "OUTPUT")

    body = body_of(call(agent_api, {"input": "Show TCK-THEIRS0001"}))

    assert body["answer"] == "You have no such ticket."
    result = harness.calls[1]["messages"][0]["content"][0]["toolResult"]
    assert result["status"] == "error"
    assert result["content"] == [{"json": {"error": "You have no ticket TCK-THEIRS0001."}}]
    assert "Printer" not in json.dumps(harness.calls)


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


def test_a_blocked_answer_comes_without_the_action_it_proposed_or_its_sources(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, tickets_table: Any
) -> None:
    passes(runtime_stub, "Open a ticket", "INPUT")
    [start, *proposal] = tool_turn("create_ticket", NEW_TICKET, text="I will open this.")
    harness.responses.append(stream_response([start, *search_frames("guides/sync.md"), *proposal]))
    blocked = {
        "usage": GUARDRAIL_USAGE,
        "action": "GUARDRAIL_INTERVENED",
        "outputs": [{"text": BLOCKED_OUTPUT_MESSAGE}],
        "assessments": [
            {"contentPolicy": {"filters": [{"type": "VIOLENCE", "confidence": "HIGH", "action": "BLOCKED"}]}}
        ],
    }
    runtime_stub.add_response("apply_guardrail", blocked, guardrail_params("I will open this.", "OUTPUT"))

    body = body_of(call(agent_api, {"input": "Open a ticket"}))

    assert body["answer"] == BLOCKED_OUTPUT_MESSAGE
    assert body["guardrail"]["action"] == "INTERVENED"
    assert body["citations"] == []
    assert "confirmation" not in body
    assert tickets_table.scan()["Items"] == []


# The caller's budget


def test_each_request_spends_one_model_call_of_the_callers_budget(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, usage_table: Any
) -> None:
    ask(agent_api, runtime_stub, harness, "Hello", "Hi.")
    body = confirmation_for(agent_api, runtime_stub, harness, NEW_TICKET)
    assert spent(usage_table) == 2

    confirm(agent_api, runtime_stub, harness, body, approve=True)

    assert spent(usage_table) == 3
    assert spent(usage_table, OTHER_PERSON) == 0


@pytest.fixture
def half_past(agent_services: Services, usage_table: Any) -> Services:
    """The budget counted at a fixed moment, 30 s into a minute."""
    agent_services.limiter = Limiter(usage_table, CALLER_CALLS_PER_MINUTE, clock=lambda: 1_767_268_830.0)
    return agent_services


def test_a_spent_budget_is_429_before_the_guardrail_or_the_harness(
    agent_api: ModuleType, half_past: Services, runtime_stub: Stubber, harness: HttpStub, usage_table: Any
) -> None:
    half_past.limiter.spend(caller(PERSON), CALLER_CALLS_PER_MINUTE)

    response = call(agent_api, {"input": "Hello"})

    assert response["statusCode"] == 429
    assert error_of(response)["code"] == "RateLimited"
    assert header(response, "Retry-After") == "30"
    assert harness.calls == []
    assert spent(usage_table) == CALLER_CALLS_PER_MINUTE
    # Another caller's budget is their own.
    ask(agent_api, runtime_stub, harness, "Hello", "Hi.", claims=OTHER_PERSON)
    assert spent(usage_table, OTHER_PERSON) == 1


def test_a_refused_caller_spends_nothing(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, usage_table: Any
) -> None:
    session = ask(agent_api, runtime_stub, harness, "Hello", "Hi.")["sessionId"]

    foreign = call(agent_api, {"input": "Hi", "sessionId": session}, claims=OTHER_PERSON)
    anonymous = call(agent_api, {"input": "Hi"}, claims=None)

    assert (foreign["statusCode"], anonymous["statusCode"]) == (403, 401)
    assert spent(usage_table, OTHER_PERSON) == 0
    assert [item["caller_window"].split("#")[0] for item in usage_table.scan()["Items"]] == [caller(PERSON).id]


# Errors: mapped, and generic


LEAKY = f"User arn:aws:sts::123456789012:assumed-role/api may not InvokeHarness on {HARNESS_ARN} with {GUARDRAIL_ID}"


@pytest.mark.parametrize(
    ("status", "code", "expected", "expected_code"),
    [
        (400, "ValidationException", 400, "BadRequest"),
        (403, "AccessDeniedException", 403, "AccessDenied"),
        (404, "ResourceNotFoundException", 404, "NotFound"),
        (429, "ThrottlingException", 429, "Throttled"),
        (402, "ServiceQuotaExceededException", 429, "Throttled"),
        (500, "InternalServerException", 502, "UpstreamError"),
    ],
)
def test_a_harness_error_before_the_stream_is_mapped_without_its_detail(
    *,
    agent_api: ModuleType,
    runtime_stub: Stubber,
    harness: HttpStub,
    status: int,
    code: str,
    expected: int,
    expected_code: str,
) -> None:
    passes(runtime_stub, "Hello", "INPUT")
    harness.responses.append(error_response(status, code, LEAKY))

    response = call(agent_api, {"input": "Hello"})

    assert response["statusCode"] == expected
    assert error_of(response)["code"] == expected_code
    assert (header(response, "Retry-After") is not None) == (expected == 429)
    assert_generic(response)


@pytest.mark.parametrize(
    ("name", "expected", "expected_code"),
    [("internalServerException", 502, "UpstreamError"), ("validationException", 400, "BadRequest")],
)
def test_an_error_inside_the_stream_is_mapped_without_its_detail(
    *, agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, name: str, expected: int, expected_code: str
) -> None:
    passes(runtime_stub, "Hello", "INPUT")
    frames = [*text_turn("Partial answer")[:2], exception(name, LEAKY)]
    harness.responses.append(stream_response(frames))

    response = call(agent_api, {"input": "Hello"})

    assert response["statusCode"] == expected
    assert error_of(response)["code"] == expected_code
    assert "Partial" not in response["body"]
    assert_generic(response)


@pytest.mark.parametrize("where", ["before the stream", "inside the stream"])
def test_a_failing_harness_runtime_is_an_error_without_its_detail(
    agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub, where: str
) -> None:
    passes(runtime_stub, "Hello", "INPUT")
    if where == "before the stream":
        harness.responses.append(error_response(424, "RuntimeClientError", LEAKY))
    else:
        harness.responses.append(stream_response([exception("runtimeClientError", LEAKY)]))

    response = call(agent_api, {"input": "Hello"})

    assert response["statusCode"] >= 400
    assert error_of(response)["code"] != "InternalError"
    assert_generic(response)


def test_a_successful_answer_names_no_resource(agent_api: ModuleType, runtime_stub: Stubber, harness: HttpStub) -> None:
    passes(runtime_stub, "Hello", "INPUT")
    harness.responses.append(stream_response(search_turn("guides/sync.md")))
    passes(runtime_stub, "Documents sync within a minute.", "OUTPUT")

    response = call(agent_api, {"input": "Hello", "trace": True}, claims=ADMIN)

    assert response["statusCode"] == 200
    assert set(body_of(response)) >= {"answer", "sessionId", "citations", "trace"}
    assert_generic(response)
    assert GENERATION_MODEL_ARN not in response["body"]
    assert SESSION_KEY not in response["body"]


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


@pytest.mark.parametrize("purpose", ["agent", "ask"])
def test_a_session_id_with_non_ascii_characters_is_refused_not_a_crash(purpose: str) -> None:
    binder = SessionBinder(SESSION_KEY.encode())
    issued = binder.new(purpose, caller(PERSON))

    with pytest.raises(ApiError) as refused:
        binder.value(purpose, caller(PERSON), issued[:-1] + "é")

    assert (refused.value.status, refused.value.code) == (403, "SessionNotYours")
    assert binder.value(purpose, caller(PERSON), issued) == issued.rsplit("-", 1)[0]
