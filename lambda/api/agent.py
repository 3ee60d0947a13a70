"""POST /agent: a turn with the Bedrock agent (its guardrail is attached server-side), read from its event stream."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from api.config import Settings
from api.errors import BEDROCK_ERRORS, Target, bad_request, from_bedrock, one_line
from api.reply import Reply
from api.retrieval import citations

MAX_TRACE_STEPS = 50
TRACE_STEP_LENGTH = 200
# The error events of InvokeAgent's stream; botocore raises most of them itself while the stream is read.
ERROR_EVENTS = (
    "accessDeniedException",
    "badGatewayException",
    "conflictException",
    "dependencyFailedException",
    "internalServerException",
    "modelNotReadyException",
    "resourceNotFoundException",
    "serviceQuotaExceededException",
    "throttlingException",
    "validationException",
)


def agent_request(settings: Settings, body: Mapping[str, Any], session_id: str) -> dict[str, Any]:
    """The InvokeAgent request: a message, or the user's answer to a confirmation for every pending function."""
    if ("input" in body) == ("confirm" in body):
        raise bad_request("body: send exactly one of input (a message) and confirm (an answer to a confirmation).")
    if "confirm" in body and "sessionId" not in body:
        raise bad_request("sessionId: is required with confirm; send the sessionId of the answer that asked.")
    request: dict[str, Any] = {
        "agentId": settings.get("AGENT_ID"),
        "agentAliasId": settings.get("AGENT_ALIAS_ID"),
        "sessionId": session_id,
        "enableTrace": bool(body.get("trace", False)),
    }
    if "input" in body:
        request["inputText"] = body["input"]
        return request
    confirm = body["confirm"]
    state = "CONFIRM" if confirm["approve"] else "DENY"
    results = [
        {"functionResult": {"actionGroup": a["actionGroup"], "function": a["function"], "confirmationState": state}}
        for a in confirm["actions"]
    ]
    request["sessionState"] = {"invocationId": confirm["invocationId"], "returnControlInvocationResults": results}
    return request


def confirmation(control: Mapping[str, Any]) -> dict[str, Any]:
    """What the agent asks the user to confirm: the function calls it wants to make, with their parameters."""
    actions = []
    for invocation in control.get("invocationInputs", []):
        function = invocation.get("functionInvocationInput")
        if not isinstance(function, dict):
            continue
        parameters = {p.get("name", ""): p.get("value", "") for p in function.get("parameters", [])}
        actions.append(
            {
                "actionGroup": function.get("actionGroup", ""),
                "function": function.get("function", ""),
                "parameters": parameters,
            }
        )
    return {"invocationId": control.get("invocationId", ""), "actions": actions}


def _orchestration_steps(step: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    rationale = step.get("rationale", {}).get("text")
    if rationale:
        lines.append(f"rationale: {rationale}")
    invocation = step.get("invocationInput", {})
    action = invocation.get("actionGroupInvocationInput")
    if action:
        operation = action.get("function") or f"{action.get('verb', '')} {action.get('apiPath', '')}".strip()
        lines.append(f"action: {action.get('actionGroupName', '?')}.{operation}")
    lookup = invocation.get("knowledgeBaseLookupInput")
    if lookup:
        lines.append(f"knowledge base lookup: {lookup.get('text', '')}")
    observation = step.get("observation", {})
    if observation.get("type"):
        lines.append(f"observation: {observation['type']}")
    return lines


def trace_steps(event: Mapping[str, Any]) -> tuple[list[str], int]:
    """One-line summaries of a trace event, and 1 if it is a guardrail intervention."""
    part = event.get("trace", {})
    lines: list[str] = []
    interventions = 0
    guardrail = part.get("guardrailTrace")
    if guardrail:
        lines.append(f"guardrail: {guardrail.get('action', '?')}")
        interventions = int(guardrail.get("action") == "INTERVENED")
    pre = part.get("preProcessingTrace", {}).get("modelInvocationOutput", {}).get("parsedResponse")
    if pre:
        lines.append(f"pre-processing: input {'accepted' if pre.get('isValid') else 'rejected'}")
    orchestration = part.get("orchestrationTrace")
    if orchestration:
        lines.extend(_orchestration_steps(orchestration))
    if part.get("postProcessingTrace", {}).get("modelInvocationOutput"):
        lines.append("post-processing: done")
    failure = part.get("failureTrace")
    if failure:
        lines.append(f"failure: {failure.get('failureReason', '?')}")
    return [one_line(line, TRACE_STEP_LENGTH) for line in lines], interventions


@dataclass
class Completion:
    """What one InvokeAgent call streamed back."""

    answer: bytes = b""
    citations: list[dict[str, Any]] = field(default_factory=list)
    confirmation: dict[str, Any] | None = None
    trace: list[str] = field(default_factory=list)
    interventions: int = 0


def read_completion(events: Iterable[Mapping[str, Any]]) -> Completion:
    """Assemble the streamed events; an error event raises like the ClientError it stands for."""
    completion = Completion()
    for event in events:
        for name in ERROR_EVENTS:
            if name in event:
                message = str(event[name].get("message", ""))
                code = name[0].upper() + name[1:]
                raise ClientError({"Error": {"Code": code, "Message": message}}, "InvokeAgent")
        chunk = event.get("chunk")
        if chunk:
            completion.answer += chunk.get("bytes", b"")
            completion.citations.extend(citations(chunk.get("attribution", {}).get("citations", [])))
        control = event.get("returnControl")
        if control:
            completion.confirmation = confirmation(control)
        if "trace" in event:
            lines, interventions = trace_steps(event["trace"])
            completion.interventions += interventions
            if len(completion.trace) < MAX_TRACE_STEPS:
                completion.trace.extend(lines[: MAX_TRACE_STEPS - len(completion.trace)])
    return completion


def agent_target(settings: Settings) -> Target:
    alias = f"agent {settings.get('AGENT_ID')} alias {settings.get('AGENT_ALIAS_ID')}"
    return Target(resource=alias, access=f"allow the function's role bedrock:InvokeAgent on the {alias}.")


def agent(client: Any, settings: Settings, body: Mapping[str, Any]) -> Reply:
    """Answer POST /agent: the agent's answer, its citations, and what it asks to confirm."""
    settings.require("AGENT_ID", "AGENT_ALIAS_ID")
    session_id = body.get("sessionId") or str(uuid.uuid4())
    request = agent_request(settings, body, session_id)
    try:
        # Errors can come with the response or while its stream is read: both are Bedrock's errors.
        completion = read_completion(client.invoke_agent(**request)["completion"])
    except BEDROCK_ERRORS as error:
        raise from_bedrock(error, agent_target(settings)) from error
    answer: dict[str, Any] = {
        "answer": completion.answer.decode("utf-8", errors="replace"),
        "sessionId": session_id,
        "citations": completion.citations,
    }
    if completion.confirmation is not None:
        answer["confirmation"] = completion.confirmation
    if body.get("trace"):
        answer["trace"] = completion.trace
    return Reply(answer, interventions=completion.interventions)
