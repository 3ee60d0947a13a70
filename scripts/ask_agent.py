"""Ask the deployed Bedrock agent a question, from the command line (`make ask-agent ARGS='"..."'`).

Run it after `make deploy`, with AWS credentials for the stack's account and region that may call
cloudformation:DescribeStacks and bedrock:InvokeAgent on the agent's alias. It reads the `AgentId` and
`AgentAliasId` outputs of the Application stack, sends the question, and prints the answer and the documents
it cites. InvokeAgent answers with an event stream, which is why this is a script and not a one-line AWS CLI
call. Reuse --session-id to continue a conversation. The agent asks before it creates or closes a ticket: the
script shows what it wants to do and asks you (or answers for you with --yes or --no).

Exit codes: 0 answered, 2 could not ask (no credentials, stack or outputs not found, an AWS error).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError


@dataclass
class Answer:
    """What one InvokeAgent call returned: the text, the cited sources, and any question for the user."""

    text: str = ""
    sources: list[str] = field(default_factory=list)
    confirmation: Mapping[str, Any] | None = None


def read_completion(events: Iterable[Mapping[str, Any]]) -> Answer:
    """Assemble the streamed chunks of an InvokeAgent completion."""
    answer = Answer()
    for event in events:
        chunk = event.get("chunk")
        if chunk:
            answer.text += chunk.get("bytes", b"").decode("utf-8")
            for citation in chunk.get("attribution", {}).get("citations", []):
                for reference in citation.get("retrievedReferences", []):
                    uri = reference.get("location", {}).get("s3Location", {}).get("uri")
                    if uri and uri not in answer.sources:
                        answer.sources.append(uri)
        control = event.get("returnControl")
        if control:
            answer.confirmation = control
    return answer


def confirmation_state(control: Mapping[str, Any], confirm: bool) -> dict[str, Any]:
    """The session state that answers the agent's request to confirm a tool call."""
    state = "CONFIRM" if confirm else "DENY"
    results = [
        {
            "functionResult": {
                "actionGroup": invocation["functionInvocationInput"]["actionGroup"],
                "function": invocation["functionInvocationInput"]["function"],
                "confirmationState": state,
            }
        }
        for invocation in control.get("invocationInputs", [])
        if "functionInvocationInput" in invocation
    ]
    return {"invocationId": control["invocationId"], "returnControlInvocationResults": results}


def describe_request(control: Mapping[str, Any]) -> str:
    """One line per tool call the agent wants to make, with its parameters."""
    lines = []
    for invocation in control.get("invocationInputs", []):
        function = invocation.get("functionInvocationInput", {})
        parameters = ", ".join(f"{p['name']}={p['value']!r}" for p in function.get("parameters", []))
        lines.append(f"  {function.get('function', '?')}({parameters})")
    return "\n".join(lines)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def main(
    argv: Sequence[str] | None = None,
    *,
    runtime: Any = None,
    cloudformation: Any = None,
    ask: Callable[[str], str] = input,
) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", help="what to ask the agent")
    parser.add_argument("--stack-name", default="BedrockGenAi-Application")
    parser.add_argument("--session-id", default="", help="continue this conversation (default: a new one)")
    parser.add_argument("--region", default=None)
    decision = parser.add_mutually_exclusive_group()
    decision.add_argument("--yes", action="store_true", help="confirm any action the agent asks about")
    decision.add_argument("--no", action="store_true", help="decline any action the agent asks about")
    args = parser.parse_args(argv)
    session_id = args.session_id or str(uuid.uuid4())
    try:
        cloudformation = cloudformation or boto3.client("cloudformation", region_name=args.region)
        runtime = runtime or boto3.client("bedrock-agent-runtime", region_name=args.region)
        outputs = stack_outputs(cloudformation, args.stack_name)
        request: dict[str, Any] = {
            "agentId": outputs["AgentId"],
            "agentAliasId": outputs["AgentAliasId"],
            "sessionId": session_id,
            "inputText": args.question,
        }
        answer = read_completion(runtime.invoke_agent(**request)["completion"])
        while answer.confirmation:
            print(f"The agent wants to:\n{describe_request(answer.confirmation)}")
            confirm = args.yes or (not args.no and ask("Confirm? [y/N] ").strip().lower() in ("y", "yes"))
            request = {key: request[key] for key in ("agentId", "agentAliasId", "sessionId")}
            request["sessionState"] = confirmation_state(answer.confirmation, confirm)
            answer = read_completion(runtime.invoke_agent(**request)["completion"])
    except KeyError as missing:
        print(f"ask_agent: error: the stack {args.stack_name} has no output {missing}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"ask_agent: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    print(answer.text.strip() or "(no answer)")
    for source in answer.sources:
        print(f"  source: {source}")
    print(f"session: {session_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
