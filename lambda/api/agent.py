"""POST /agent: a turn with the AgentCore harness, in a session bound to the caller, with the caller's own tools.

The harness runs the model, its memory and the gateway's tools. When the model calls an inline tool it hands
the call back: reads run here at once, as the verified caller; a call that changes state is returned to the
client for confirmation, and runs only when the client sends back the exact action with `approve: true`.
The guardrail checks the user's message before the turn and the answer after it (on /agent/stream, a
sentence-sized piece at a time, before the piece is sent).
"""

import base64
import binascii
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from api import guardrail, sse
from api.errors import AWS_ERRORS, ApiError, bad_request, from_aws, one_line
from api.identity import Caller
from api.reply import Call, Reply
from api.services import Services
from api.sessions import AGENT, SessionBinder
from api.toolbox import ToolResult
from api.tools import Invocation, ToolUse

CONFIRM = "confirm"
# Reads resume the harness at once; a turn that keeps calling tools stops after this many hand-offs.
MAX_HANDOFFS = 5
MAX_TRACE_STEPS = 50
TRACE_STEP_LENGTH = 200
# Stop reasons of a turn the guardrail ended (the harness's, and Converse's own name for it).
GUARDRAIL_STOPS = frozenset({"guardrail_intervened", "content_filtered"})
SEARCH_TOOL = "search_documents"


@dataclass
class Turn:
    """What one InvokeHarness stream said: the assistant's text, the tool call it ends on, sources, usage."""

    messages: list[str] = field(default_factory=list)
    stop_reason: str = ""
    pending: ToolUse | None = None
    sources: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(message for message in self.messages if message.strip())


@dataclass
class _Block:
    kind: str
    tool_use_id: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)


def _tool_sources(name: str, parts: Iterable[str]) -> list[str]:
    """The documents a knowledge-base search returned (results of the gateway's search tool)."""
    if not name.endswith(SEARCH_TOOL):
        return []
    sources: list[str] = []
    for part in parts:
        try:
            document = json.loads(part)
        except ValueError:
            continue
        results = document.get("results") if isinstance(document, dict) else None
        for result in results if isinstance(results, list) else []:
            source = result.get("source") if isinstance(result, dict) else None
            if isinstance(source, str) and source:
                sources.append(source)
    return sources


def _delta_parts(delta: Mapping[str, Any]) -> list[str]:
    parts: list[str] = []
    for item in delta.get("toolResult") or []:
        if isinstance(item.get("text"), str):
            parts.append(item["text"])
        elif "json" in item:
            parts.append(json.dumps(item["json"]))
    return parts


class TurnReader:
    """Reads a harness stream one event at a time; `feed` returns the text an event adds to the answer."""

    def __init__(self) -> None:
        self.turn = Turn()
        self._blocks: dict[int, _Block] = {}
        self._names: dict[str, str] = {}
        self._last_tool: _Block | None = None
        self._handlers = {
            "messageStart": self._message_start,
            "contentBlockStart": self._block_start,
            "contentBlockDelta": self._block_delta,
            "contentBlockStop": self._block_stop,
            "messageStop": self._message_stop,
            "metadata": self._metadata,
            "hookEvent": self._hook,
        }

    def feed(self, event: Mapping[str, Any]) -> str:
        for kind, handle in self._handlers.items():
            if kind in event:
                return handle(event[kind]) or ""
        return ""

    def finish(self) -> Turn:
        turn = self.turn
        if turn.stop_reason == "tool_use" and self._last_tool is not None:
            tool = self._last_tool
            turn.pending = ToolUse(tool.tool_use_id, tool.name, _tool_input(tool.parts))
        turn.trace = [one_line(step, TRACE_STEP_LENGTH) for step in turn.trace[:MAX_TRACE_STEPS]]
        return turn

    def _message_start(self, _: Mapping[str, Any]) -> None:
        self.turn.messages.append("")
        self._last_tool = None

    def _block_start(self, start: Mapping[str, Any]) -> None:
        index, what = start["contentBlockIndex"], start.get("start", {})
        if "toolUse" in what:
            use = what["toolUse"]
            self._blocks[index] = _Block("toolUse", use["toolUseId"], use["name"])
            self._names[use["toolUseId"]] = use["name"]
            self.turn.trace.append(f"tool call: {use['name']}")
        elif "toolResult" in what:
            result = what["toolResult"]
            name = self._names.get(result["toolUseId"], "?")
            self._blocks[index] = _Block("toolResult", result["toolUseId"], name)
            self.turn.trace.append(f"tool result: {name} {result.get('status', 'success')}")

    def _block_delta(self, delta: Mapping[str, Any]) -> str | None:
        block = self._blocks.get(delta["contentBlockIndex"])
        body = delta.get("delta", {})
        if "text" in body:
            if not self.turn.messages:
                self.turn.messages.append("")
            self.turn.messages[-1] += body["text"]
            return str(body["text"])
        if block is not None and "toolUse" in body:
            block.parts.append(body["toolUse"].get("input", ""))
        elif block is not None and "toolResult" in body:
            block.parts.extend(_delta_parts(body))
        return None

    def _block_stop(self, stop: Mapping[str, Any]) -> None:
        block = self._blocks.pop(stop["contentBlockIndex"], None)
        if block is not None and block.kind == "toolUse":
            self._last_tool = block
        elif block is not None:
            self.turn.sources.extend(_tool_sources(block.name, block.parts))

    def _message_stop(self, stop: Mapping[str, Any]) -> None:
        self.turn.stop_reason = str(stop.get("stopReason", ""))

    def _metadata(self, metadata: Mapping[str, Any]) -> None:
        usage = metadata.get("usage", {})
        for name in ("inputTokens", "outputTokens", "totalTokens"):
            self.turn.usage[name] = self.turn.usage.get(name, 0) + int(usage.get(name, 0))

    def _hook(self, hook: Mapping[str, Any]) -> None:
        self.turn.trace.append(f"hook {hook.get('name', '?')}: {hook.get('type', '?')} {hook.get('decision', '')}")


def read_turn(events: Iterable[Mapping[str, Any]]) -> Turn:
    """Assemble a harness stream; botocore raises its error events as ClientErrors while it is read."""
    reader = TurnReader()
    for event in events:
        reader.feed(event)
    return reader.finish()


def _tool_input(parts: Iterable[str]) -> dict[str, Any]:
    """The JSON input of a tool call, streamed as string fragments; anything but an object is an empty input."""
    text = "".join(parts)
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class Confirmations:
    """Opaque, caller-bound ids of the actions a user is asked to confirm: the id carries the exact action."""

    def __init__(self, binder: SessionBinder) -> None:
        self._binder = binder

    def issue(self, caller: Caller, session_id: str, use: ToolUse) -> str:
        action = json.dumps(
            {"session": session_id, "id": use.id, "name": use.name, "input": use.input},
            sort_keys=True,
            separators=(",", ":"),
        )
        payload = base64.urlsafe_b64encode(action.encode()).decode().rstrip("=")
        return f"{payload}.{self._binder.tag(CONFIRM, caller, payload)}"

    def action(self, caller: Caller, session_id: str, confirmation_id: str) -> ToolUse:
        """The action behind an id issued to this caller in this session; a 403 for any other id."""
        payload, _, tag = confirmation_id.rpartition(".")
        # Compared as bytes: compare_digest refuses str with non-ASCII characters, which the schema lets through.
        expected = self._binder.tag(CONFIRM, caller, payload)
        if not payload or not hmac.compare_digest(tag.encode(), expected.encode()):
            raise not_your_confirmation()
        try:
            action = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (binascii.Error, ValueError) as error:
            raise not_your_confirmation() from error
        if action.get("session") != session_id:
            raise not_your_confirmation()
        return ToolUse(action["id"], action["name"], action["input"])


def not_your_confirmation() -> ApiError:
    return ApiError(
        403,
        "ConfirmationNotYours",
        "This confirmation was not issued to you in this session; send the confirmation.id of the last answer.",
    )


# The buffered route must answer within the function's 28 s: the harness stops the turn itself a little before.
BUFFERED_TIMEOUT_SECONDS = 24
# A streamed answer is checked by the guardrail a piece at a time: at the end of a sentence past this length.
CHECKED_PIECE = 200
SENTENCE_ENDS = (". ", "! ", "? ", "\n")


class Agent:
    """One request's turn with the harness: the caller's session, tools and confirmations, and the guardrail."""

    def __init__(self, services: Services, call: Call, *, timeout_seconds: int) -> None:
        settings = services.settings
        settings.require("HARNESS_ARN", "HARNESS_ENDPOINT", "GUARDRAIL_ID", "GUARDRAIL_VERSION")
        body = call.body
        if ("input" in body) == (CONFIRM in body):
            raise bad_request("body: send exactly one of input (a message) and confirm (a decision on a confirmation).")
        self.caller = call.identity
        if body.get("trace") and not self.caller.is_admin:
            raise ApiError(403, "TraceNotAllowed", "Only callers with the genai/admin scope may ask for a trace.")
        self.services = services
        self.body = body
        self.sessions = services.sessions()
        self.toolbox = services.toolbox
        self.timeout_seconds = timeout_seconds
        self.session_id = self._session()
        services.spend(self.caller)

    def request(self, content: list[dict[str, Any]]) -> dict[str, Any]:
        """The InvokeHarness request: never a model, prompt or tools override, so the harness config holds."""
        settings = self.services.settings
        return {
            "harnessArn": settings.get("HARNESS_ARN"),
            "qualifier": settings.get("HARNESS_ENDPOINT"),
            "runtimeSessionId": self.session_id,
            "actorId": self.caller.id,
            "messages": [{"role": "user", "content": content}],
            "timeoutSeconds": self.timeout_seconds,
        }

    def first_content(self) -> list[dict[str, Any]] | guardrail.Verdict:
        """What the first turn sends: the checked message or the decision's result; the verdict if blocked."""
        if CONFIRM in self.body:
            return [self._decide(self.body[CONFIRM]).block()]
        [checked] = guardrail.apply(self.services, [self.body["input"]], source="INPUT")
        if checked.intervened:
            return checked
        return [{"text": self.body["input"]}]

    def turns(self, content: list[dict[str, Any]]) -> Iterator[str | Turn]:
        """The answer's text as it streams in, and each turn as it ends: reads run and resume the harness, until
        a turn ends or asks to confirm."""
        for _ in range(MAX_HANDOFFS):
            reader = TurnReader()
            try:
                # Errors come with the response or while its stream is read: both are the harness's errors.
                response = self.services.agentcore.invoke_harness(**self.request(content))
                for event in response["stream"]:
                    text = reader.feed(event)
                    if text:
                        yield text
            except AWS_ERRORS as error:
                raise from_aws(error) from error
            turn = reader.finish()
            yield turn
            use = turn.pending
            if use is None or self.toolbox.needs_confirmation(use):
                return
            content = [self.toolbox.run(Invocation(self.caller, self.session_id, use)).block()]

    def confirmation(self, turn: Turn) -> dict[str, Any] | None:
        """The confirmation the turn ends on, if it hands back a state change."""
        if turn.pending is None or not self.toolbox.needs_confirmation(turn.pending):
            return None
        return {
            "id": Confirmations(self.sessions).issue(self.caller, self.session_id, turn.pending),
            "tool": turn.pending.name,
            "input": turn.pending.input,
        }

    def _session(self) -> str:
        """The caller's session: the one they continue (checked to be theirs), or a new one."""
        if "sessionId" in self.body:
            self.sessions.value(AGENT, self.caller, self.body["sessionId"])
            return str(self.body["sessionId"])
        if CONFIRM in self.body:
            raise bad_request("sessionId: is required with confirm; send the sessionId of the answer that asked.")
        return self.sessions.new(AGENT, self.caller)

    def _decide(self, decision: Mapping[str, Any]) -> ToolResult:
        """Run the confirmed action, or tell the model the user declined; only an explicit approval runs it."""
        use = Confirmations(self.sessions).action(self.caller, self.session_id, decision["id"])
        if decision.get("approve") is True:
            return self.toolbox.run(Invocation(self.caller, self.session_id, use))
        return self.toolbox.decline(use)


def answer(services: Services, call: Call) -> Reply:
    """Answer POST /agent: a message, or the user's decision on the action the last answer asked about."""
    agent = Agent(services, call, timeout_seconds=BUFFERED_TIMEOUT_SECONDS)
    content = agent.first_content()
    if isinstance(content, guardrail.Verdict):
        blocked = {"answer": content.text, "sessionId": agent.session_id, "citations": [], "stopReason": "guardrail"}
        return Reply({**blocked, "guardrail": content.summary()}, interventions=1)
    turns = [item for item in agent.turns(content) if isinstance(item, Turn)]
    last = turns[-1]
    text = "\n\n".join(turn.text for turn in turns if turn.text)
    checked = guardrail.Verdict(text="")
    if text:
        [checked] = guardrail.apply(services, [text], source="OUTPUT")
    intervened = checked.intervened or last.stop_reason in GUARDRAIL_STOPS
    # A blocked answer comes without its sources or the action it proposed, as on /agent/stream.
    sources = [] if checked.blocked else list(dict.fromkeys(source for turn in turns for source in turn.sources))
    reply: dict[str, Any] = {
        "answer": checked.text,
        "sessionId": agent.session_id,
        "citations": [{"source": source} for source in sources],
        "stopReason": last.stop_reason,
        "usage": _sum_usage(turn.usage for turn in turns),
        "guardrail": {**checked.summary(), "action": "INTERVENED" if intervened else "NONE"},
    }
    confirmation = None if checked.blocked else agent.confirmation(last)
    if confirmation is not None:
        reply["confirmation"] = confirmation
    if call.body.get("trace"):
        reply["trace"] = [step for turn in turns for step in turn.trace][:MAX_TRACE_STEPS]
    return Reply(reply, interventions=int(intervened))


class CheckedText:
    """The answer's text, released to the stream a sentence-sized piece at a time once the guardrail passed it."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._pending = ""
        self.blocked: guardrail.Verdict | None = None

    def add(self, text: str) -> Iterator[sse.Event]:
        """Take the next text; release what precedes its last sentence end once that is a long enough piece."""
        self._pending += text
        # A model streams tokens: a sentence end rarely closes a delta (". " arrives as "." then " Next").
        cut = max((self._pending.rfind(end) + len(end) for end in SENTENCE_ENDS if end in self._pending), default=0)
        if cut >= CHECKED_PIECE:
            piece, self._pending = self._pending[:cut], self._pending[cut:]
            yield from self._check(piece)

    def flush(self) -> Iterator[sse.Event]:
        """Release all the text taken so far."""
        piece, self._pending = self._pending, ""
        yield from self._check(piece)

    def _check(self, piece: str) -> Iterator[sse.Event]:
        if not piece or self.blocked is not None:
            return
        [verdict] = guardrail.apply(self._services, [piece], source="OUTPUT")
        if verdict.blocked:
            self.blocked = verdict
            yield sse.Event("guardrail", {"action": "INTERVENED", "message": verdict.text, **verdict.summary()})
        else:
            yield sse.delta(verdict.text)


def stream(services: Services, call: Call, *, timeout_seconds: int) -> Iterator[sse.Event]:
    """Answer POST /agent/stream: the session, the answer as the guardrail passes it, citations, confirmation."""
    agent = Agent(services, call, timeout_seconds=timeout_seconds)
    yield sse.Event("session", {"sessionId": agent.session_id})
    content = agent.first_content()
    if isinstance(content, guardrail.Verdict):
        yield sse.Event("guardrail", {"action": "INTERVENED", "message": content.text, **content.summary()})
        yield sse.Event("metadata", {"stopReason": "guardrail"})
        yield sse.done()
        return
    checked = CheckedText(services)
    turns: list[Turn] = []
    # The answers of successive turns are paragraphs apart, as in the buffered answer.
    separate = False
    for item in agent.turns(content):
        if isinstance(item, Turn):
            turns.append(item)
            # A message ends with its turn: what is left of it is checked and sent before anything else.
            yield from checked.flush()
            separate = separate or bool(item.text)
        else:
            yield from checked.add(f"\n\n{item}" if separate else item)
            separate = False
        if checked.blocked is not None:
            break
    yield from checked.flush()
    if not turns:
        yield sse.Event("metadata", {"stopReason": "guardrail"})
        yield sse.done()
        return
    if checked.blocked is None:
        for source in dict.fromkeys(source for turn in turns for source in turn.sources):
            yield sse.Event("citation", {"source": source})
        confirmation = agent.confirmation(turns[-1])
        if confirmation is not None:
            yield sse.Event("confirmation", confirmation)
    yield sse.Event(
        "metadata", {"stopReason": turns[-1].stop_reason, "usage": _sum_usage(turn.usage for turn in turns)}
    )
    yield sse.done()


def _sum_usage(usages: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total = {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    for usage in usages:
        for name in total:
            total[name] += usage.get(name, 0)
    return total
