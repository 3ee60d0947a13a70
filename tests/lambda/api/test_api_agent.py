"""POST /agent: InvokeAgent's request, its event stream (chunks, citations, confirmations, traces) and its errors."""

from __future__ import annotations

import uuid
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import EventStreamError
from urllib3 import HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError

from .api_fakes import (
    AGENT_ALIAS_ID,
    AGENT_ID,
    SESSION_ID,
    FakeAgentRuntime,
    FakeContext,
    body_of,
    chunk,
    client_error,
    emitted,
    error_of,
    header,
    rest_event,
    return_control,
    trace_event,
)

SYNC = "s3://documents/documents/sync.md"
AGENT_HOST = "bedrock-agent-runtime.us-east-1.amazonaws.com"


def agent_call(agent_api: ModuleType, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = agent_api.handler(rest_event("POST", "/agent", body), FakeContext())
    return result


def test_a_message_is_answered_with_citations(agent_api: ModuleType, fake_agent: FakeAgentRuntime) -> None:
    fake_agent.completions.append([chunk("Upload files under documents/. ", SYNC), chunk("They sync in a minute.")])

    response = agent_call(agent_api, {"input": "How do I add documents?", "sessionId": SESSION_ID})

    assert response["statusCode"] == 200
    assert body_of(response) == {
        "answer": "Upload files under documents/. They sync in a minute.",
        "sessionId": SESSION_ID,
        "citations": [{"text": "Upload files under documents/.", "sources": [SYNC]}],
    }
    assert fake_agent.requests == [
        {
            "agentId": AGENT_ID,
            "agentAliasId": AGENT_ALIAS_ID,
            "sessionId": SESSION_ID,
            "enableTrace": False,
            "inputText": "How do I add documents?",
        }
    ]


def test_a_new_conversation_gets_a_session_id(agent_api: ModuleType, fake_agent: FakeAgentRuntime) -> None:
    fake_agent.completions.append([chunk("Hi!")])

    body = body_of(agent_call(agent_api, {"input": "Hello"}))

    assert uuid.UUID(body["sessionId"]).version == 4
    assert fake_agent.requests[0]["sessionId"] == body["sessionId"]


def test_a_confirmation_request_is_returned_with_its_actions(
    agent_api: ModuleType, fake_agent: FakeAgentRuntime
) -> None:
    fake_agent.completions.append([chunk("I can open that ticket."), return_control("inv-42")])

    body = body_of(agent_call(agent_api, {"input": "Open a ticket: the nightly sync failed", "sessionId": SESSION_ID}))

    assert body["confirmation"] == {
        "invocationId": "inv-42",
        "actions": [
            {
                "actionGroup": "SupportTickets",
                "function": "create_ticket",
                "parameters": {"subject": "Nightly sync failed", "priority": "high"},
            }
        ],
    }


@pytest.mark.parametrize(("approve", "state"), [(True, "CONFIRM"), (False, "DENY")])
def test_a_confirmation_answers_every_pending_function(
    agent_api: ModuleType, fake_agent: FakeAgentRuntime, approve: bool, state: str
) -> None:
    fake_agent.completions.append([chunk("Done: TCK-ABC123." if approve else "OK, I won't.")])
    actions = [
        {"actionGroup": "SupportTickets", "function": "create_ticket"},
        {"actionGroup": "SupportTickets", "function": "close_ticket"},
    ]
    confirm = {"invocationId": "inv-42", "approve": approve, "actions": actions}

    response = agent_call(agent_api, {"confirm": confirm, "sessionId": SESSION_ID})

    assert response["statusCode"] == 200
    assert fake_agent.requests == [
        {
            "agentId": AGENT_ID,
            "agentAliasId": AGENT_ALIAS_ID,
            "sessionId": SESSION_ID,
            "enableTrace": False,
            "sessionState": {
                "invocationId": "inv-42",
                "returnControlInvocationResults": [
                    {"functionResult": {**action, "confirmationState": state}} for action in actions
                ],
            },
        }
    ]


def test_the_trace_is_summarized_one_line_per_step(
    agent_api: ModuleType, fake_agent: FakeAgentRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_agent.completions.append(
        [
            trace_event({"guardrailTrace": {"action": "NONE"}}),
            trace_event({"preProcessingTrace": {"modelInvocationOutput": {"parsedResponse": {"isValid": True}}}}),
            trace_event({"orchestrationTrace": {"rationale": {"text": "The user asks\nabout syncing."}}}),
            trace_event(
                {
                    "orchestrationTrace": {
                        "invocationInput": {
                            "knowledgeBaseLookupInput": {"text": "document sync", "knowledgeBaseId": "KB"}
                        }
                    }
                }
            ),
            trace_event(
                {
                    "orchestrationTrace": {
                        "invocationInput": {
                            "actionGroupInvocationInput": {
                                "actionGroupName": "Status",
                                "verb": "get",
                                "apiPath": "/time",
                            }
                        }
                    }
                }
            ),
            trace_event({"orchestrationTrace": {"observation": {"type": "FINAL_RESPONSE"}}}),
            trace_event({"postProcessingTrace": {"modelInvocationOutput": {"parsedResponse": {"text": "x"}}}}),
            trace_event({"failureTrace": {"failureReason": "Lambda timed out"}}),
            trace_event({"guardrailTrace": {"action": "INTERVENED"}}),
            chunk("Sorry, I can't share that answer."),
        ]
    )

    response = agent_call(agent_api, {"input": "How does sync work?", "sessionId": SESSION_ID, "trace": True})

    assert fake_agent.requests[0]["enableTrace"] is True
    assert body_of(response)["trace"] == [
        "guardrail: NONE",
        "pre-processing: input accepted",
        "rationale: The user asks about syncing.",
        "knowledge base lookup: document sync",
        "action: Status.get /time",
        "observation: FINAL_RESPONSE",
        "post-processing: done",
        "failure: Lambda timed out",
        "guardrail: INTERVENED",
    ]
    assert emitted(capsys.readouterr().out) == [
        {"route": "agent", "metrics": {"Requests": [1.0], "GuardrailInterventions": [1.0]}}
    ]


def test_the_trace_is_left_out_unless_asked_for(agent_api: ModuleType, fake_agent: FakeAgentRuntime) -> None:
    fake_agent.completions.append([trace_event({"guardrailTrace": {"action": "NONE"}}), chunk("Hi")])

    assert "trace" not in body_of(agent_call(agent_api, {"input": "Hi", "sessionId": SESSION_ID}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "body: send exactly one of input (a message) and confirm (an answer to a confirmation)."),
        (
            {
                "input": "Hi",
                "confirm": {"invocationId": "i", "approve": True, "actions": [{"actionGroup": "a", "function": "f"}]},
            },
            "body: send exactly one of input (a message) and confirm (an answer to a confirmation).",
        ),
        (
            {"confirm": {"invocationId": "i", "approve": True, "actions": [{"actionGroup": "a", "function": "f"}]}},
            "sessionId: is required with confirm; send the sessionId of the answer that asked.",
        ),
        (
            {"confirm": {"invocationId": "i", "approve": True, "actions": []}},
            "confirm.actions: must have at least 1 item(s)",
        ),
        ({"confirm": {"invocationId": "i", "approve": "yes", "actions": []}}, "confirm.approve: must be true or false"),
        ({"input": "Hi", "trace": "on"}, "trace: must be true or false"),
    ],
)
def test_the_body_is_checked(
    agent_api: ModuleType, fake_agent: FakeAgentRuntime, body: dict[str, Any], message: str
) -> None:
    response = agent_call(agent_api, body)

    assert (response["statusCode"], error_of(response)["message"]) == (400, message)
    assert fake_agent.requests == []


@pytest.mark.parametrize(
    ("code", "status", "api_code"),
    [
        ("ValidationException", 400, "ValidationError"),
        ("AccessDeniedException", 403, "AccessDenied"),
        ("ResourceNotFoundException", 404, "ResourceNotFound"),
        ("ConflictException", 409, "Conflict"),
        ("ThrottlingException", 429, "Throttled"),
        ("ServiceQuotaExceededException", 429, "Throttled"),
        ("DependencyFailedException", 500, "InternalError"),
    ],
)
def test_errors_of_the_call_are_mapped(
    agent_api: ModuleType, fake_agent: FakeAgentRuntime, code: str, status: int, api_code: str
) -> None:
    fake_agent.completions.append(client_error(code, operation="InvokeAgent"))

    response = agent_call(agent_api, {"input": "Hi", "sessionId": SESSION_ID})

    assert (response["statusCode"], error_of(response)["code"]) == (status, api_code)


def test_access_denied_names_the_alias(agent_api: ModuleType, fake_agent: FakeAgentRuntime) -> None:
    fake_agent.completions.append(client_error("AccessDeniedException", operation="InvokeAgent"))

    message = error_of(agent_call(agent_api, {"input": "Hi", "sessionId": SESSION_ID}))["message"]

    assert message == (
        f"Bedrock denied access to agent {AGENT_ID} alias {AGENT_ALIAS_ID}: allow the function's role "
        f"bedrock:InvokeAgent on the agent {AGENT_ID} alias {AGENT_ALIAS_ID}."
    )


@pytest.mark.parametrize(
    ("event", "status", "api_code"),
    [
        ({"throttlingException": {"message": "Rate exceeded"}}, 429, "Throttled"),
        ({"validationException": {"message": "Bad invocationId"}}, 400, "ValidationError"),
        ({"accessDeniedException": {"message": "no"}}, 403, "AccessDenied"),
        ({"dependencyFailedException": {"message": "the action group Lambda failed"}}, 500, "InternalError"),
    ],
)
def test_error_events_in_the_stream_are_mapped(
    agent_api: ModuleType, fake_agent: FakeAgentRuntime, event: dict[str, Any], status: int, api_code: str
) -> None:
    fake_agent.completions.append([chunk("Partial answer"), event, chunk("never read")])

    response = agent_call(agent_api, {"input": "Hi", "sessionId": SESSION_ID})

    assert (response["statusCode"], error_of(response)["code"]) == (status, api_code)
    assert header(response, "Retry-After") == ("5" if status == 429 else None)
    assert "Partial answer" not in response["body"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (client_error("ThrottlingException", operation="InvokeAgent"), 429),
        # How botocore raises an error event of the stream: coded after the event, not the exception.
        (EventStreamError({"Error": {"Code": "throttlingException", "Message": "Slow down"}}, "InvokeAgent"), 429),
        (EventStreamError({"Error": {"Code": "accessDeniedException", "Message": "no"}}, "InvokeAgent"), 403),
        (EventStreamError({"Error": {"Code": "internalServerException", "Message": "oops"}}, "InvokeAgent"), 500),
        (ReadTimeoutError(HTTPSConnectionPool(AGENT_HOST), "/agents", "Read timed out."), 504),
    ],
)
def test_errors_raised_while_the_stream_is_read_are_mapped(
    agent_api: ModuleType, fake_agent: FakeAgentRuntime, error: Exception, status: int
) -> None:
    fake_agent.completions.append([chunk("Partial"), error])

    response = agent_call(agent_api, {"input": "Hi", "sessionId": SESSION_ID})

    assert response["statusCode"] == status


def test_a_multibyte_character_split_across_chunks_is_kept(agent_api: ModuleType, fake_agent: FakeAgentRuntime) -> None:
    encoded = "Grüße".encode()
    fake_agent.completions.append([{"chunk": {"bytes": encoded[:3]}}, {"chunk": {"bytes": encoded[3:]}}])

    assert body_of(agent_call(agent_api, {"input": "Hi", "sessionId": SESSION_ID}))["answer"] == "Grüße"
