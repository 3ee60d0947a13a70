"""POST /chat: a conversation with one allow-listed model through Converse, always behind the guardrail."""

import time
from collections.abc import Mapping, Sequence
from typing import Any

from api.config import Settings
from api.errors import BEDROCK_ERRORS, Target, bad_request, from_bedrock
from api.reply import Reply
from common.schema import show

INTERVENED = "guardrail_intervened"
MAX_ASSESSMENTS = 20
INFERENCE_FIELDS = (("maxTokens", "maxTokens"), ("temperature", "temperature"), ("topP", "topP"))


def check_model(settings: Settings, model: str, path: str) -> None:
    """Refuse a model that is not allow-listed, naming the field."""
    if model not in settings.model_ids():
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
    settings: Settings, model: str, messages: Sequence[Mapping[str, Any]], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The Converse request: the guardrail is always attached."""
    request: dict[str, Any] = {
        "modelId": model,
        "messages": [{"role": message["role"], "content": [{"text": message["content"]}]} for message in messages],
        "guardrailConfig": settings.guardrail(),
    }
    if "system" in options:
        request["system"] = [{"text": options["system"]}]
    inference = {name: options[key] for key, name in INFERENCE_FIELDS if key in options}
    if inference:
        request["inferenceConfig"] = inference
    return request


def _assessment_items(stage: str, assessment: object) -> list[dict[str, str]]:
    """The policies that acted in one guardrail assessment; matched text is left out, it may be PII."""
    items: list[dict[str, str]] = []
    if not isinstance(assessment, dict):
        return items
    for policy, findings in assessment.items():
        if not isinstance(findings, dict):
            continue
        for kind, entries in findings.items():
            for entry in entries if isinstance(entries, list) else []:
                action = entry.get("action") if isinstance(entry, dict) else None
                if not isinstance(action, str) or action == "NONE":
                    continue
                label = entry.get("name") or entry.get("type") or kind
                items.append({"stage": stage, "policy": policy, "type": str(label), "action": action})
    return items


def guardrail_assessments(trace: object) -> list[dict[str, str]]:
    """A summary of the guardrail trace of a Converse response: which policy acted, on input or output."""
    guardrail = trace.get("guardrail") if isinstance(trace, dict) else None
    if not isinstance(guardrail, dict):
        return []
    items: list[dict[str, str]] = []
    for assessment in (guardrail.get("inputAssessment") or {}).values():
        items.extend(_assessment_items("input", assessment))
    for assessments in (guardrail.get("outputAssessments") or {}).values():
        for assessment in assessments if isinstance(assessments, list) else []:
            items.extend(_assessment_items("output", assessment))
    unique = [dict(pairs) for pairs in dict.fromkeys(tuple(item.items()) for item in items)]
    return unique[:MAX_ASSESSMENTS]


def converse_reply(model: str, response: Mapping[str, Any], elapsed_ms: int) -> dict[str, Any]:
    """The API's view of a Converse response."""
    content = response.get("output", {}).get("message", {}).get("content", [])
    usage = response.get("usage", {})
    stop_reason = str(response.get("stopReason", ""))
    guardrail: dict[str, Any] = {"action": "INTERVENED" if stop_reason == INTERVENED else "NONE"}
    assessments = guardrail_assessments(response.get("trace"))
    if assessments:
        guardrail["assessments"] = assessments
    return {
        "model": model,
        "answer": "".join(block["text"] for block in content if isinstance(block.get("text"), str)),
        "stopReason": stop_reason,
        "usage": {name: int(usage.get(name, 0)) for name in ("inputTokens", "outputTokens", "totalTokens")},
        "latencyMs": int(response.get("metrics", {}).get("latencyMs", elapsed_ms)),
        "guardrail": guardrail,
    }


def model_target(settings: Settings, model: str) -> Target:
    access = (
        "enable it on the Model access page of the Bedrock console, in this region, and allow the function's "
        f"role bedrock:InvokeModel on it and bedrock:ApplyGuardrail on guardrail {settings.get('GUARDRAIL_ID')}."
    )
    return Target(resource=model, access=access)


def converse(client: Any, settings: Settings, model: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """Call Converse; Bedrock's errors become API errors about `model`."""
    started = time.monotonic()
    try:
        response = client.converse(**request)
    except BEDROCK_ERRORS as error:
        raise from_bedrock(error, model_target(settings, model)) from error
    return converse_reply(model, response, round((time.monotonic() - started) * 1000))


def chat(client: Any, settings: Settings, body: Mapping[str, Any]) -> Reply:
    """Answer POST /chat (the body already fits the chat schema)."""
    settings.require("MODELS", "GUARDRAIL_ID", "GUARDRAIL_VERSION")
    check_model(settings, body["model"], "model")
    check_turns(body["messages"])
    request = converse_request(settings, body["model"], body["messages"], body)
    reply = converse(client, settings, body["model"], request)
    return Reply(reply, interventions=int(reply["guardrail"]["action"] == "INTERVENED"))
