"""The client's subcommands: one per route, which builds the request from the arguments, calls the route (buffered
or streamed) and prints the answer, the agent's turns following the tool calls it asks to confirm; and smoke, every
route once with a PASS, FAIL or SKIP line each."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from scripts.client_render import (
    StreamedAnswer,
    Tail,
    Typewriter,
    agent_tail,
    as_dict,
    ask_tail,
    chat_tail,
    confirmation_of,
    error_text,
    items_of,
    model_ids,
    render_agent,
    render_ask,
    render_chat,
    render_compare,
    render_health,
    render_models,
    render_retrieve,
)
from scripts.client_routes import ROUTES, Route
from scripts.client_transport import ApiError, Client, RunError, stream_error
from scripts.events import Event

MAX_CONFIRMATIONS: Final = 5
COMPARE_MODELS: Final = (2, 4)

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_ERROR: Final = 2

Ask = Callable[[str], str]  # asks the user a question; None where no one can be asked


def show(args: argparse.Namespace, answer: Any, render: Callable[[Any], str]) -> None:
    print(_dumps(answer) if args.json else render(answer))


def _dumps(answer: Any) -> str:
    return json.dumps(answer, indent=2, ensure_ascii=False)


def stream_turn(
    client: Client, route: Route, body: Mapping[str, Any], args: argparse.Namespace, tail: Tail
) -> dict[str, Any]:
    """POST the route's stream and print its events as they arrive: the text, then `tail` of the answer (with
    --json, each event as a line of JSON). Returns the answer as the buffered route would have given it."""
    typewriter = None if args.json else Typewriter()
    answer = StreamedAnswer(typewriter)
    with client.stream(route, body) as stream:
        try:
            for event in stream:
                if args.json:
                    print(json.dumps(event.as_json(), ensure_ascii=False), flush=True)
                if event.name == "error":
                    raise stream_error(stream.status, event.data)
                answer.add(event)
        except ApiError:
            if typewriter:
                typewriter.end_line()  # the error goes to stderr, after the text so far
            raise
    answer.finish(tail)
    return answer.reply


def run_health(client: Client, args: argparse.Namespace, ask: Ask | None) -> int:
    show(args, client.call(ROUTES["health"]), render_health)
    return EXIT_OK


def run_models(client: Client, args: argparse.Namespace, ask: Ask | None) -> int:
    show(args, client.call(ROUTES["models"]), render_models)
    return EXIT_OK


def run_chat(client: Client, args: argparse.Namespace, ask: Ask | None) -> int:
    body: dict[str, Any] = {
        "model": args.model or _default_models(client, 1)[0],
        "messages": [{"role": "user", "content": args.prompt}],
    }
    if args.max_tokens is not None:
        body["maxTokens"] = args.max_tokens
    if args.temperature is not None:
        body["temperature"] = args.temperature
    if args.stream:
        stream_turn(client, ROUTES["chat"], body, args, chat_tail)
    else:
        show(args, client.call(ROUTES["chat"], body), render_chat)
    return EXIT_OK


def run_compare(client: Client, args: argparse.Namespace, ask: Ask | None) -> int:
    models = args.models or _default_models(client, COMPARE_MODELS[0])
    show(args, client.call(ROUTES["compare"], {"models": models, "prompt": args.prompt}), render_compare)
    return EXIT_OK


def run_retrieve(client: Client, args: argparse.Namespace, ask: Ask | None) -> int:
    body: dict[str, Any] = {"query": args.query}
    if args.top_k is not None:
        body["topK"] = args.top_k
    show(args, client.call(ROUTES["retrieve"], body), render_retrieve)
    return EXIT_OK


def run_ask(client: Client, args: argparse.Namespace, ask: Ask | None) -> int:
    body: dict[str, Any] = {"question": args.question}
    if args.session_id:
        body["sessionId"] = args.session_id
    if args.max_tokens is not None:
        body["maxTokens"] = args.max_tokens
    if args.stream:
        stream_turn(client, ROUTES["ask"], body, args, ask_tail)
    else:
        show(args, client.call(ROUTES["ask"], body), render_ask)
    return EXIT_OK


def run_agent(client: Client, args: argparse.Namespace, ask: Ask | None) -> int:
    """A turn with the agent, then one more for each tool call it asks to confirm, up to MAX_CONFIRMATIONS."""
    body: dict[str, Any] = {"input": args.input}
    if args.session_id:
        body["sessionId"] = args.session_id
    answer = _agent_turn(client, args, body)
    for _ in range(MAX_CONFIRMATIONS):
        confirmation = confirmation_of(as_dict(answer))
        if not confirmation:
            return EXIT_OK
        session_id = str(as_dict(answer).get("sessionId") or args.session_id or "")
        answer = _agent_turn(client, args, confirm_request(session_id, str(confirmation.get("id")), _decide(args, ask)))
    if not confirmation_of(as_dict(answer)):
        return EXIT_OK
    raise RunError(
        f"the agent asked to confirm a tool call {MAX_CONFIRMATIONS + 1} times in a row; stopped without an answer"
        f" (continue with --session-id {as_dict(answer).get('sessionId')})"
    )


def _agent_turn(client: Client, args: argparse.Namespace, body: dict[str, Any]) -> Any:
    """Send one /agent request (streamed, or with the trace when asked for) and print its answer."""
    if args.stream:
        return stream_turn(client, ROUTES["agent"], body, args, agent_tail)
    if args.trace:
        body["trace"] = True
    answer = client.call(ROUTES["agent"], body)
    show(args, answer, lambda reply: render_agent(reply, trace=args.trace))
    return answer


def _decide(args: argparse.Namespace, ask: Ask | None) -> bool:
    """--yes or --no, else the user's answer to "Run it?"; with no one to ask, or no answer, it is no."""
    if args.yes or args.no:
        approve, why = bool(args.yes), "--yes" if args.yes else "--no"
    elif ask is None:
        approve, why = False, "stdin is not a terminal; pass --yes to approve"
    else:
        try:
            return ask("Run it? [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            approve, why = False, "no answer"
    if not args.json:
        print(f"{'Approved' if approve else 'Declined'} ({why}).")
    return approve


def _default_models(client: Client, count: int) -> list[str]:
    models = model_ids(client.call(ROUTES["models"]))[:count]
    if len(models) < count:
        raise RunError(f"GET /models listed {len(models)} model(s), {count} needed; pass --model")
    return models


def confirm_request(session_id: str, confirmation_id: str, approve: bool) -> dict[str, Any]:
    """The /agent body that approves or declines the tool call of a confirmation."""
    return {"sessionId": session_id, "confirm": {"id": confirmation_id, "approve": approve}}


SMOKE_PROMPT: Final = "Reply with the single word: ready"
SMOKE_QUESTION: Final = "How do I add documents to the knowledge base?"
SMOKE_AGENT_INPUT: Final = "What is the sync status of the knowledge base?"
NO_MODEL: Final = "not run: GET /models gave no model"


@dataclass(frozen=True)
class Check:
    """One route of the smoke test."""

    method: str
    path: str
    status: int | None
    latency_ms: int | None
    problem: str = ""  # empty: passed
    skipped: bool = False

    @property
    def verdict(self) -> str:
        return "SKIP" if self.skipped else "FAIL" if self.problem else "PASS"

    def line(self) -> str:
        status = str(self.status) if self.status is not None else "-"
        latency = f"{self.latency_ms} ms" if self.latency_ms is not None else "-"
        line = f"{self.verdict}  {self.method:<4} {self.path:<12} {status:>3} {latency:>8}"
        return f"{line}  {self.problem}" if self.problem else line

    def as_json(self) -> dict[str, Any]:
        return {
            "route": f"{self.method} {self.path}",
            "result": self.verdict,
            "status": self.status,
            "latencyMs": self.latency_ms,
            "problem": self.problem,
        }


def run_smoke(client: Client, args: argparse.Namespace, ask: Ask | None) -> int:
    checks: list[Check] = []

    def check(route: Route, body: Mapping[str, Any] | None = None) -> Any:
        """Call the route and record the result; returns the answer, or None when the route failed."""
        started = time.perf_counter()
        try:
            status, answer = client.call_with_status(route, body)
            problem = _smoke_problem(route, answer)
        except ApiError as error:
            status, answer, problem = error.status, None, error.detail
        record(Check(route.method, route.path, status, _since(started), problem))
        return None if problem else answer

    def check_stream(route: Route, body: Mapping[str, Any]) -> None:
        """Stream the route and record the result: at least one delta, then done."""
        started = time.perf_counter()
        try:
            with client.stream(route, body) as stream:
                status, problem = stream.status, _stream_problem(stream.status, list(stream))
        except ApiError as error:
            status, problem = error.status, error.detail
        record(Check("POST", route.stream_path, status, _since(started), problem))

    def record(result: Check) -> None:
        checks.append(result)
        if not args.json:
            print(result.line(), flush=True)

    chat, compare = ROUTES["chat"], ROUTES["compare"]
    check(ROUTES["health"])
    models = model_ids(check(ROUTES["models"]))
    if models:
        conversation = {"model": models[0], "messages": [{"role": "user", "content": SMOKE_PROMPT}], "maxTokens": 20}
        check(chat, conversation)
        check_stream(chat, conversation)
    else:
        record(Check(chat.method, chat.path, None, None, NO_MODEL))
        record(Check("POST", chat.stream_path, None, None, NO_MODEL))
    if len(models) >= 2:
        check(compare, {"models": models[:2], "prompt": SMOKE_PROMPT})
    else:
        one = "needs two models, GET /models listed one"
        record(Check(compare.method, compare.path, None, None, one if models else NO_MODEL, bool(models)))
    check(ROUTES["retrieve"], {"query": SMOKE_QUESTION, "topK": 3})
    check(ROUTES["ask"], {"question": SMOKE_QUESTION})
    check(ROUTES["agent"], {"input": SMOKE_AGENT_INPUT})

    failed = sum(result.verdict == "FAIL" for result in checks)
    if args.json:
        print(json.dumps([result.as_json() for result in checks], indent=2))
    else:
        passed = sum(result.verdict == "PASS" for result in checks)
        skipped = len(checks) - passed - failed
        print(f"smoke: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return EXIT_FAILED if failed else EXIT_OK


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _smoke_problem(route: Route, answer: Any) -> str:
    """Why a 2xx answer still fails the smoke test, or an empty string."""
    if route.name == "models" and not items_of(answer, "models"):
        return "no models listed"
    if route.name == "compare":
        results = items_of(answer, "results")
        return "; ".join(f"{item.get('model')}: {error_text(item['error'])}" for item in results if item.get("error"))
    return ""


def _stream_problem(status: int, events: Sequence[Event]) -> str:
    """Why a stream that ended fails the smoke test (an error event, or no text at all), or an empty string."""
    if events and events[-1].name == "error":
        return stream_error(status, events[-1].data).detail
    if not any(event.name == "delta" for event in events):
        return "no delta event: the stream carried no text"
    return ""
