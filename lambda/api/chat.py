"""POST /chat and /chat/stream: a conversation with one allow-listed model through Converse, behind the guardrail.

The system prompt comes from the configuration, never from the caller. The conversation goes to Converse as
plain text with no guardContent block, so the guardrail assesses every message, the earlier "assistant" turns
a caller wrote included. Every call carries maxTokens: the caller's, else the default, never above the ceiling.
"""

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from api import guardrail, sse
from api.errors import AWS_ERRORS, bad_request, from_aws
from api.reply import Call, Reply
from api.services import Services
from common.schema import show

INTERVENED = "guardrail_intervened"
INFERENCE_FIELDS = ("temperature", "topP")


def check_model(services: Services, model: str, path: str) -> None:
    """Refuse a model that is not allow-listed, naming the field."""
    if model not in services.settings.model_ids():
        raise bad_request(f"{path}: {show(model)} is not an allowed model; GET /models lists them.")


def check_turns(messages: Sequence[Mapping[str, Any]]) -> None:
    """Converse needs a conversation that starts and ends with the user, roles alternating."""
    if messages[0]["role"] != "user":
        raise bad_request("messages[0].role: the conversation must start with a user message.")
    for index in range(1, len(messages)):
        if messages[index]["role"] == messages[index - 1]["role"]:
            raise bad_request(f"messages[{index}].role: roles must alternate between user and assistant.")
    if messages[-1]["role"] != "user":
        raise bad_request(f"messages[{len(messages) - 1}].role: the last message must be the user's.")


def converse_request(
    services: Services,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    options: Mapping[str, Any],
    *,
    stream: bool = False,
) -> dict[str, Any]:
    """The Converse(Stream) request for `model` through its profile: the system prompt, guardrail, bounded maxTokens."""
    settings = services.settings
    inference = {"maxTokens": settings.max_tokens(options.get("maxTokens"))}
    inference.update({name: options[name] for name in INFERENCE_FIELDS if name in options})
    return {
        "modelId": settings.target(model),
        "system": [{"text": settings.get("SYSTEM_PROMPT")}],
        "messages": [{"role": message["role"], "content": [{"text": message["content"]}]} for message in messages],
        "inferenceConfig": inference,
        "guardrailConfig": settings.guardrail(stream=stream),
    }


def converse_reply(model: str, response: Mapping[str, Any], elapsed_ms: int) -> dict[str, Any]:
    """The API's view of a Converse response."""
    content = response.get("output", {}).get("message", {}).get("content", [])
    usage = response.get("usage", {})
    stop_reason = str(response.get("stopReason", ""))
    summary: dict[str, Any] = {"action": "INTERVENED" if stop_reason == INTERVENED else "NONE"}
    assessments = guardrail.trace_assessments(response.get("trace"))
    if assessments:
        summary["assessments"] = assessments
    return {
        "model": model,
        "answer": "".join(block["text"] for block in content if isinstance(block.get("text"), str)),
        "stopReason": stop_reason,
        "usage": {name: int(usage.get(name, 0)) for name in ("inputTokens", "outputTokens", "totalTokens")},
        "latencyMs": int(response.get("metrics", {}).get("latencyMs", elapsed_ms)),
        "guardrail": summary,
    }


def converse(services: Services, model: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """Call Converse; AWS errors become API errors."""
    started = time.monotonic()
    try:
        response = services.runtime.converse(**request)
    except AWS_ERRORS as error:
        raise from_aws(error) from error
    return converse_reply(model, response, round((time.monotonic() - started) * 1000))


def _checked(services: Services, call: Call) -> Mapping[str, Any]:
    body = call.body
    check_model(services, body["model"], "model")
    check_turns(body["messages"])
    services.spend(call.identity)
    return body


def answer(services: Services, call: Call) -> Reply:
    """Answer POST /chat."""
    body = _checked(services, call)
    reply = converse(services, body["model"], converse_request(services, body["model"], body["messages"], body))
    return Reply(reply, interventions=int(reply["guardrail"]["action"] == "INTERVENED"))


def stream(services: Services, call: Call) -> Iterator[sse.Event]:
    """Answer POST /chat/stream: the answer as it is generated, checked by the guardrail before it is sent."""
    body = _checked(services, call)
    request = converse_request(services, body["model"], body["messages"], body, stream=True)
    try:
        response = services.runtime.converse_stream(**request)
    except AWS_ERRORS as error:
        raise from_aws(error) from error
    yield from converse_events(response["stream"], body["model"], services.settings.blocked_message)


def converse_events(events: Iterator[Mapping[str, Any]], model: str, blocked: str) -> Iterator[sse.Event]:
    """The SSE events of a ConverseStream stream; errors inside it become API errors."""
    stop_reason = ""
    try:
        for event in events:
            if "contentBlockDelta" in event:
                text = event["contentBlockDelta"].get("delta", {}).get("text")
                if text:
                    yield sse.delta(text)
            elif "messageStop" in event:
                stop_reason = str(event["messageStop"].get("stopReason", ""))
            elif "metadata" in event:
                metadata = event["metadata"]
                usage = metadata.get("usage", {})
                if stop_reason == INTERVENED:
                    assessments = guardrail.trace_assessments(metadata.get("trace"))
                    yield sse.Event(
                        "guardrail", {"action": "INTERVENED", "message": blocked, "assessments": assessments}
                    )
                yield sse.Event(
                    "metadata",
                    {
                        "model": model,
                        "stopReason": stop_reason,
                        "usage": {k: int(usage.get(k, 0)) for k in ("inputTokens", "outputTokens", "totalTokens")},
                        "latencyMs": int(metadata.get("metrics", {}).get("latencyMs", 0)),
                    },
                )
    except AWS_ERRORS as error:
        raise from_aws(error) from error
    yield sse.done()
