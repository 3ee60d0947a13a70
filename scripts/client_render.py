"""What each route's answer looks like in a terminal: the buffered answers as text, and a streamed answer printed
as it arrives.

The renderers read the API's answers defensively: a missing field prints as "?" instead of failing the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from scripts.aws_errors import one_line
from scripts.events import Event

Tail = Callable[[Mapping[str, Any]], list[str]]  # the lines that follow an answer's text


def render_health(answer: Any) -> str:
    if not isinstance(answer, dict) or not answer:
        return json.dumps(answer)
    return "\n".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value)}" for key, value in answer.items()
    )


def render_models(answer: Any) -> str:
    rows = [(str(model.get("id", "?")), str(model.get("name", ""))) for model in items_of(answer, "models")]
    if not rows:
        return "(no models)"
    header = ("id", "name")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(2)]
    lines = [f"{row[0].ljust(widths[0])}  {row[1]}".rstrip() for row in [header, *rows]]
    lines.insert(1, f"{'-' * widths[0]}  {'-' * widths[1]}")
    max_tokens = as_dict(as_dict(answer).get("maxTokens"))
    if max_tokens:
        default, ceiling = (max_tokens.get(key, "?") for key in ("default", "ceiling"))
        lines.extend(["", f"max tokens: {default} unless asked (--max-tokens), {ceiling} at most"])
    return "\n".join(lines)


def render_chat(answer: Any) -> str:
    reply = as_dict(answer)
    return "\n".join([_text(reply) or "(no answer)", *chat_tail(reply), *_guardrail(reply)])


def chat_tail(reply: Mapping[str, Any]) -> list[str]:
    """What follows a chat answer: model · stop reason · tokens · latency."""
    return [" · ".join([str(reply.get("model") or "?"), str(reply.get("stopReason") or "?"), *_metrics(reply)])]


def render_compare(answer: Any) -> str:
    blocks = []
    for result in items_of(answer, "results"):
        lines = [f"== {result.get('model') or '?'} =="]
        error = result.get("error")
        if error:
            lines.append(f"error: {error_text(error)}")
        else:
            tokens, latency = _metrics(result)
            lines.append(" · ".join([latency, tokens, str(result.get("stopReason") or "?")]))
            lines.append(_text(result) or "(no answer)")
            lines.extend(_guardrail(result))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "(no results)"


def render_retrieve(answer: Any) -> str:
    lines = []
    for number, passage in enumerate(items_of(answer, "results"), start=1):
        score = passage.get("score")
        score_text = f"{score:.2f}" if isinstance(score, int | float) else "?"
        lines.append(f"{number}. score {score_text}  {', '.join(_sources(passage)) or '(no source)'}")
        lines.extend(f"   {line}" for line in _text(passage).splitlines() if line.strip())
    return "\n".join(lines) or "(no passages)"


def render_ask(answer: Any) -> str:
    reply = as_dict(answer)
    return "\n".join([_text(reply) or "(no answer)", *_guardrail(reply), *ask_tail(reply)])


def ask_tail(reply: Mapping[str, Any]) -> list[str]:
    """What follows an answer from the knowledge base: its numbered citations, then the session."""
    return [*_citations(reply), *_session(reply)]


def render_agent(answer: Any, *, trace: bool = False) -> str:
    """The trace when asked for, the answer and its citations, then the tool call to confirm or the session."""
    reply = as_dict(answer)
    steps = [f"trace: {step}" for step in _list(reply.get("trace"))] if trace else []
    text = _text(reply) or ("" if confirmation_of(reply) else "(no answer)")
    return "\n".join(line for line in [*steps, text, *_guardrail(reply), *agent_tail(reply)] if line)


def agent_tail(reply: Mapping[str, Any]) -> list[str]:
    """What follows the agent's answer: its numbered citations, then the tool call to confirm or the session."""
    confirmation = confirmation_of(reply)
    return [*_citations(reply), *([render_confirmation(confirmation)] if confirmation else _session(reply))]


def render_confirmation(confirmation: Mapping[str, Any]) -> str:
    """The tool the agent wants to run and its input, each value as the JSON the tool will get."""
    arguments = as_dict(confirmation.get("input"))
    head = f"The agent wants to run {confirmation.get('tool') or '?'}"
    if not arguments:
        return f"{head}, with no input."
    values = [f"  {name}: {json.dumps(value, ensure_ascii=False)}" for name, value in arguments.items()]
    return "\n".join([f"{head} with:", *values])


def confirmation_of(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The answer's confirmation (the tool call the agent waits on), or an empty dict."""
    return as_dict(reply.get("confirmation"))


def as_dict(answer: Any) -> dict[str, Any]:
    return answer if isinstance(answer, dict) else {}


def model_ids(answer: Any) -> list[str]:
    """The ids of a GET /models answer, in its order."""
    return [str(model["id"]) for model in items_of(answer, "models") if model.get("id")]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def items_of(answer: Any, key: str) -> list[dict[str, Any]]:
    return [item for item in _list(as_dict(answer).get(key)) if isinstance(item, dict)]


def _text(item: Mapping[str, Any]) -> str:
    """The `answer` of a model, knowledge base or agent, or the `text` of a passage."""
    for key in ("answer", "text"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _metrics(item: Mapping[str, Any]) -> list[str]:
    """["tokens <in>/<out>", "<latency> ms"]."""
    usage = as_dict(item.get("usage"))
    latency = item.get("latencyMs")
    return [
        f"tokens {usage.get('inputTokens', '?')}/{usage.get('outputTokens', '?')}",
        f"{latency if latency is not None else '?'} ms",
    ]


def _guardrail(item: Mapping[str, Any]) -> list[str]:
    return ["[guardrail intervened]"] if as_dict(item.get("guardrail")).get("action") == "INTERVENED" else []


def _sources(item: Mapping[str, Any]) -> list[str]:
    """The document URIs of a passage (`source`) or a citation (`sources`)."""
    found = [item.get("source"), *_list(item.get("sources"))]
    return list(dict.fromkeys(source for source in found if isinstance(source, str) and source))


def _citations(reply: Mapping[str, Any]) -> list[str]:
    return [
        f"  [{number}] {', '.join(_sources(citation)) or '(no source)'}"
        for number, citation in enumerate(items_of(reply, "citations"), start=1)
    ]


def _session(reply: Mapping[str, Any]) -> list[str]:
    return [f"session: {reply['sessionId']}"] if reply.get("sessionId") else []


def error_text(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('code') or 'Error'}: {one_line(str(error.get('message') or 'no message'))}"
    return one_line(str(error))


class Typewriter:
    """Prints an answer's text as it arrives, without the blank space around it, as the buffered renderers do."""

    def __init__(self) -> None:
        self.wrote = False  # any text at all
        self._open = False  # text on the current line
        self._held = ""  # trailing blank space, printed only when more text follows

    def write(self, text: str) -> None:
        text = self._held + text
        body = text.rstrip()
        self._held = text[len(body) :]
        if not self._open:
            body = body.lstrip()
        if body:
            print(body, end="", flush=True)
            self.wrote = self._open = True

    def end_line(self) -> None:
        if self._open:
            print(flush=True)
        self._open, self._held = False, ""


GUARDRAIL_WITHDREW: Final = "[guardrail intervened: the answer is withheld; disregard the text above]"
GUARDRAIL_WITHHELD: Final = "[guardrail intervened: the answer is withheld]"


class StreamedAnswer:
    """A streamed answer, event by event: printed as it arrives (with a typewriter), and collected as the
    buffered route would have answered it (answer, sessionId, citations, confirmation, metadata)."""

    def __init__(self, typewriter: Typewriter | None) -> None:
        self.reply: dict[str, Any] = {"answer": "", "citations": []}
        self.typewriter = typewriter
        self.withheld = False

    def add(self, event: Event) -> None:
        data = event.data
        if event.name == "delta":
            self._delta(str(data.get("text", "")))
        elif event.name == "guardrail":
            self._withhold(str(data.get("message") or ""))
        elif event.name == "session":
            self.reply["sessionId"] = data.get("sessionId")
        elif event.name == "citation":
            self.reply["citations"].append(data)
        elif event.name == "confirmation":
            self.reply["confirmation"] = data
        elif event.name == "metadata":
            self.reply.update(data)

    def _delta(self, text: str) -> None:
        if self.withheld:
            return
        self.reply["answer"] += text
        if self.typewriter:
            self.typewriter.write(text)

    def _withhold(self, message: str) -> None:
        """The text so far is not the answer: the guardrail's message replaces it, and no more text follows."""
        self.withheld = True
        self.reply["answer"] = message
        if self.typewriter:
            self.typewriter.end_line()
            print(GUARDRAIL_WITHDREW if self.typewriter.wrote else GUARDRAIL_WITHHELD)
            print(message or "(no message)", flush=True)

    def finish(self, tail: Tail) -> None:
        """End the text's line, then print what follows the answer."""
        if self.typewriter:
            self.typewriter.end_line()
            if not (self.typewriter.wrote or self.withheld or confirmation_of(self.reply)):
                print("(no answer)")
            for line in tail(self.reply):
                print(line)
