"""scripts/ask_agent.py: reading the agent's streamed answer and answering its confirmation requests."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from scripts.ask_agent import confirmation_state, main, read_completion

STACK = "BedrockGenAi-Application"
CONTROL = {
    "invocationId": "inv-1",
    "invocationInputs": [
        {
            "functionInvocationInput": {
                "actionGroup": "SupportTickets",
                "function": "create_ticket",
                "parameters": [{"name": "subject", "type": "string", "value": "Sync fails"}],
            }
        }
    ],
}


def chunk(text: str, *uris: str) -> dict[str, Any]:
    references = [{"location": {"s3Location": {"uri": uri}}} for uri in uris]
    return {"chunk": {"bytes": text.encode(), "attribution": {"citations": [{"retrievedReferences": references}]}}}


class FakeRuntime:
    """bedrock-agent-runtime returning one scripted completion per call, recording the requests."""

    def __init__(self, *completions: list[dict[str, Any]]) -> None:
        self.completions = list(completions)
        self.requests: list[dict[str, Any]] = []

    def invoke_agent(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"completion": iter(self.completions.pop(0))}


@pytest.fixture
def agent_stack(cloudformation: Any, cloudformation_stub: Stubber) -> Any:
    """CloudFormation answering with the Application stack's agent outputs."""
    outputs = [
        {"OutputKey": "AgentId", "OutputValue": "AGENT12345"},
        {"OutputKey": "AgentAliasId", "OutputValue": "ALIAS12345"},
    ]
    stack = {"StackName": STACK, "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "CREATE_COMPLETE"}
    cloudformation_stub.add_response(
        "describe_stacks", {"Stacks": [{**stack, "Outputs": outputs}]}, {"StackName": STACK}
    )
    return cloudformation


def test_completion_chunks_are_joined_and_sources_listed_once() -> None:
    answer = read_completion(
        [chunk("The stack ", "s3://b/documents/a.md"), chunk("is retained.", "s3://b/documents/a.md")]
    )

    assert answer.text == "The stack is retained."
    assert answer.sources == ["s3://b/documents/a.md"]
    assert answer.confirmation is None


def test_confirmation_state_answers_every_requested_call() -> None:
    assert confirmation_state(CONTROL, confirm=False) == {
        "invocationId": "inv-1",
        "returnControlInvocationResults": [
            {
                "functionResult": {
                    "actionGroup": "SupportTickets",
                    "function": "create_ticket",
                    "confirmationState": "DENY",
                }
            }
        ],
    }


def test_a_question_is_sent_to_the_alias_and_answered(agent_stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    runtime = FakeRuntime([chunk("Hello.", "s3://b/documents/x.md")])

    code = main(["Hi", "--session-id", "s1"], runtime=runtime, cloudformation=agent_stack)

    assert code == 0
    assert runtime.requests == [
        {"agentId": "AGENT12345", "agentAliasId": "ALIAS12345", "sessionId": "s1", "inputText": "Hi"}
    ]
    assert capsys.readouterr().out == "Hello.\n  source: s3://b/documents/x.md\nsession: s1\n"


@pytest.mark.parametrize(("reply", "state"), [("y", "CONFIRM"), ("", "DENY")])
def test_the_user_confirms_or_declines_what_the_agent_asks(
    agent_stack: Any, capsys: pytest.CaptureFixture[str], reply: str, state: str
) -> None:
    runtime = FakeRuntime([{"returnControl": CONTROL}], [chunk("Done.")])
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return reply

    code = main(["Open a ticket", "--session-id", "s1"], runtime=runtime, cloudformation=agent_stack, ask=ask)

    assert code == 0
    assert prompts == ["Confirm? [y/N] "]
    follow_up = runtime.requests[1]
    assert "inputText" not in follow_up
    assert (
        follow_up["sessionState"]["returnControlInvocationResults"][0]["functionResult"]["confirmationState"] == state
    )
    assert "create_ticket(subject='Sync fails')" in capsys.readouterr().out


def test_yes_confirms_without_asking(agent_stack: Any) -> None:
    runtime = FakeRuntime([{"returnControl": CONTROL}], [chunk("Done.")])

    assert main(["Open a ticket", "--yes"], runtime=runtime, cloudformation=agent_stack, ask=pytest.fail) == 0
    assert runtime.requests[1]["sessionState"]["invocationId"] == "inv-1"


def test_aws_errors_exit_2_with_one_line(agent_stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    class Denied:
        def invoke_agent(self, **request: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no\naccess"}}, "InvokeAgent")

    assert main(["Hi"], runtime=Denied(), cloudformation=agent_stack) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "AccessDeniedException" in error
    assert "Traceback" not in error
