"""The guardrail on text the API returns or passes on: ApplyGuardrail, and summaries of what it did."""

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api.config import Settings
from api.errors import AWS_ERRORS, from_aws

if TYPE_CHECKING:
    from api.services import Services

INTERVENED = "INTERVENED"
MAX_ASSESSMENTS = 20


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


def summarize(stage: str, assessments: Iterable[object]) -> list[dict[str, str]]:
    """Which policy acted, once each, at most MAX_ASSESSMENTS."""
    items = [item for assessment in assessments for item in _assessment_items(stage, assessment)]
    unique = [dict(pairs) for pairs in dict.fromkeys(tuple(item.items()) for item in items)]
    return unique[:MAX_ASSESSMENTS]


def trace_assessments(trace: object) -> list[dict[str, str]]:
    """A summary of the guardrail trace of a Converse response: which policy acted, on input or output."""
    guardrail = trace.get("guardrail") if isinstance(trace, dict) else None
    if not isinstance(guardrail, dict):
        return []
    inputs = list((guardrail.get("inputAssessment") or {}).values())
    outputs = [
        assessment
        for assessments in (guardrail.get("outputAssessments") or {}).values()
        for assessment in (assessments if isinstance(assessments, list) else [])
    ]
    return (summarize("input", inputs) + summarize("output", outputs))[:MAX_ASSESSMENTS]


@dataclass(frozen=True)
class Verdict:
    """The guardrail's decision on one text: the text to use (masked or replaced when it intervened)."""

    text: str
    intervened: bool = False
    assessments: list[dict[str, str]] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """Whether a policy blocked the text (rather than masking part of it)."""
        return any(item["action"] == "BLOCKED" for item in self.assessments)

    def summary(self) -> dict[str, Any]:
        """The `guardrail` object of a response body."""
        summary: dict[str, Any] = {"action": INTERVENED if self.intervened else "NONE"}
        if self.assessments:
            summary["assessments"] = self.assessments
        return summary


MAX_PARALLEL = 8


def check(client: Any, settings: Settings, text: str, *, source: str) -> Verdict:
    """Check one text (source INPUT for what a user sends, OUTPUT for what the API returns)."""
    try:
        response = client.apply_guardrail(
            guardrailIdentifier=settings.get("GUARDRAIL_ID"),
            guardrailVersion=settings.get("GUARDRAIL_VERSION"),
            source=source,
            content=[{"text": {"text": text}}],
        )
    except AWS_ERRORS as error:
        raise from_aws(error) from error
    intervened = response.get("action") == "GUARDRAIL_INTERVENED"
    outputs = [output.get("text", "") for output in response.get("outputs", [])]
    replaced = "".join(outputs) if intervened and outputs else text
    stage = "input" if source == "INPUT" else "output"
    return Verdict(replaced, intervened, summarize(stage, response.get("assessments", [])))


def apply(services: "Services", texts: Sequence[str], *, source: str) -> list[Verdict]:
    """Check each text on its own, in parallel (passages, answers), keeping their order."""
    settings = services.settings
    settings.require("GUARDRAIL_ID", "GUARDRAIL_VERSION")
    if len(texts) <= 1:
        return [check(services.runtime, settings, text, source=source) for text in texts]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(texts)), thread_name_prefix="guardrail") as pool:
        return list(pool.map(lambda text: check(services.runtime, settings, text, source=source), texts))
