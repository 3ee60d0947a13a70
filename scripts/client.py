"""Call the deployed REST API from the command line: the deployer's client, and the end-to-end check behind
`make smoke`.

Run it after `make deploy`, with AWS credentials for the account and region of the stack (AWS_PROFILE,
`aws sso login`, environment variables...) allowed to call cloudformation:DescribeStacks on the Application
stack and cognito-idp:DescribeUserPoolClient on its user pool. The stack is <stack_prefix>-Application, in the
region of the configuration in cdk.json (else the SDK's); --stack-name and --region say otherwise. It reads
the stack outputs ApiUrl, UserPoolId, MachineClientId and TokenUrl, reads the machine client's secret,
exchanges it at the Cognito token endpoint for an access token (OAuth client credentials, scope genai/invoke,
and genai/admin too for agent --trace) and calls the API with that token; only /health is called without one.
Nothing is written but the tickets you approve, and chat, compare, ask, agent and smoke call Bedrock models,
which are billed like any other call.

Subcommands:
  health    GET /health: is the API up (no token needed)
  models    GET /models: the models chat and compare accept, as a table of id and name, and the max tokens
  chat      POST /chat: one prompt to one model (default: the first of `models`); prints the answer, then
            model · stop reason · tokens in/out · latency, and [guardrail intervened] when the guardrail did
  compare   POST /compare: one prompt to 2 to 4 models side by side (default: the first two of `models`)
  retrieve  POST /retrieve: the knowledge base passages nearest to a query, with their scores and sources
  ask       POST /ask: an answer from the knowledge base with numbered citations (RAG)
  agent     POST /agent: talk to the agent; it answers with numbered citations. When it wants to create or close
            a ticket it shows the tool and its input and asks "Run it? [y/N]": --yes approves, --no (or a stdin
            that is not a terminal) declines. --trace prints the tools it called (needs the genai/admin scope)
  smoke     each route once, in that order (the agent gets a harmless question, no ticket), and chat once more
            streamed: one PASS/FAIL line per route with its HTTP status and latency

chat, ask and agent take --stream: the answer comes from <route>/stream as server-sent events and is printed as
it arrives. When the guardrail intervenes mid-answer, the text already printed is withdrawn: disregard it, the
guardrail's message follows. With --json, each event prints as one line of JSON, {"event": ..., "data": ...}.

ask and agent print the session they answered in: pass it back with --session-id to continue that
conversation. The API issues session ids to one caller, this machine client, and refuses them to anyone else.
--stack-name, --region and --json (print the raw JSON responses instead of text) go before or after the
subcommand. The routes' methods and paths are read from lambda/api/routes.json, where the API declares them.

Exit codes:
  0  the API answered (smoke: every route passed)
  1  the API answered with an error, printed as `client: error: <status> <code>: <message> (request <id>)`
     (`stream` for <status> when a streamed answer ended in an error event), a stream broke off or was not the
     API's server-sent events, or a smoke route failed
  2  the run could not be made: bad arguments or configuration, no AWS credentials or region, stack or outputs
     not found, the token endpoint refused the machine client, the API could not be reached, or the agent
     asked to confirm more than 5 tool calls in a row

Examples:
  make smoke
  .venv/bin/python scripts/client.py chat "Hello"
  .venv/bin/python scripts/client.py chat "Write a haiku about streams" --stream
  .venv/bin/python scripts/client.py compare "Explain RAG in one sentence" --model ID --model ID
  .venv/bin/python scripts/client.py ask "How do I add documents to the knowledge base?"
  .venv/bin/python scripts/client.py agent "Open a ticket: the nightly sync failed"
  .venv/bin/python scripts/client.py agent "Is it open?" --session-id SESSION --trace
  .venv/bin/python scripts/client.py --stack-name MyPrefix-Application --region eu-west-1 models --json
"""

from __future__ import annotations

import argparse
import base64
import http
import http.client
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/client.py`, the project's packages are one level up
    sys.path.insert(0, str(ROOT))

from scripts.aws_errors import describe_aws_error, one_line  # noqa: E402
from scripts.events import LAST, Event, ProtocolError, read_events  # noqa: E402
from scripts.stack_outputs import StackError, locate, read_outputs, require  # noqa: E402

INVOKE_SCOPE: Final = "genai/invoke"
ADMIN_SCOPE: Final = "genai/admin"
TIMEOUT_SECONDS: Final = 35.0
# API Gateway ends a regional endpoint's stream after 5 minutes without data; the client waits as long.
STREAM_TIMEOUT_SECONDS: Final = 300.0
MAX_CONFIRMATIONS: Final = 5
SESSION_HELP: Final = "continue the conversation of an earlier answer's session (default: a new one)"
COMPARE_MODELS: Final = (2, 4)

SMOKE_PROMPT: Final = "Reply with the single word: ready"
SMOKE_QUESTION: Final = "How do I add documents to the knowledge base?"
SMOKE_AGENT_INPUT: Final = "What is the sync status of the knowledge base?"
NO_MODEL: Final = "not run: GET /models gave no model"

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_ERROR: Final = 2


ROUTES_FILE: Final = ROOT / "lambda" / "api" / "routes.json"
STREAM_SUFFIX: Final = "/stream"


@dataclass(frozen=True)
class Route:
    """A route of the API as lambda/api/routes.json declares it; a route with `stream` also answers at
    `<path>/stream` (POST, server-sent events)."""

    name: str
    method: str
    path: str
    public: bool = False
    stream: bool = False

    @property
    def stream_path(self) -> str:
        return self.path + STREAM_SUFFIX


def load_routes(path: Path = ROUTES_FILE) -> dict[str, Route]:
    """The routes of the registry, by name."""
    declared = json.loads(path.read_text(encoding="utf-8"))["routes"]
    return {
        entry["name"]: Route(
            entry["name"], entry["method"], entry["path"], bool(entry.get("public")), bool(entry.get("stream"))
        )
        for entry in declared
    }


ROUTES: Final = load_routes()


class ApiError(Exception):
    """The API answered with an error; str() is `<status> <code>: <message> (request <id>)`, with `stream` for
    the status of an error event (its stream had already answered 200)."""

    def __init__(self, status: int, code: str, message: str, request_id: str = "", *, streamed: bool = False) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.detail = f"{code}: {message}" + (f" (request {request_id})" if request_id else "")
        super().__init__(f"{'stream' if streamed else status} {self.detail}")


class RunError(Exception):
    """The run cannot be made; the message is the one-line error to print."""


class Opener(Protocol):
    """What urllib.request.urlopen is to this script: sends a request, returns a response with status and read()."""

    def __call__(self, request: urllib.request.Request, /, *, timeout: float) -> Any: ...


# --- secret, token ---


def read_client_secret(cognito: Any, user_pool_id: str, client_id: str) -> str:
    client = cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)["UserPoolClient"]
    secret = client.get("ClientSecret")
    if not secret:
        raise RunError(f"app client {client_id} of user pool {user_pool_id} has no secret")
    return str(secret)


def fetch_token(opener: Opener, token_url: str, client_id: str, client_secret: str, scope: str = INVOKE_SCOPE) -> str:
    """An access token for `scope` (space-separated scopes) from the Cognito token endpoint (OAuth client
    credentials); any failure raises RunError."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}, safe="/")
    headers = {
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    try:
        _, raw = _send(opener, "POST", _https(token_url, "TokenUrl"), form.encode(), headers)
    except urllib.error.HTTPError as error:
        answer = _json(_read(error))
        reason = " ".join(
            str(answer[key]) for key in ("error", "error_description") if isinstance(answer, dict) and answer.get(key)
        )
        hint = f" (scope {scope}: may the machine client request it?)" if "invalid_scope" in reason else ""
        raise RunError(
            f"the token endpoint refused the machine client: {error.code} {one_line(reason) or error.reason}{hint}"
        ) from None
    answer = _json(raw)
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise RunError(f"the token endpoint answered without an access_token: {_snippet(raw)}")
    return token


# --- the API ---


def call_api(
    method: str,
    path: str,
    body: Mapping[str, Any] | None = None,
    token: str | None = None,
    *,
    api_url: str,
    opener: Opener,
) -> tuple[int, Any]:
    """(status, JSON answer) of one API call; an error status raises ApiError, no answer at all RunError."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = _https(api_url, "ApiUrl").rstrip("/") + path
    try:
        status, raw = _send(opener, method, url, data, headers)
    except urllib.error.HTTPError as error:
        raise api_error(error.code, _read(error), error.headers.get("x-amzn-RequestId", "")) from None
    answer = _json(raw)
    if answer is None:
        raise ApiError(status, "InvalidResponse", f"{method} {path} answered with no JSON: {_snippet(raw)}")
    return status, answer


def open_stream(path: str, body: Mapping[str, Any], token: str, *, api_url: str, opener: Opener) -> Stream:
    """The open event stream of one streamed call (POST `path`); an error status before the stream (the API's
    refusals, API Gateway's validation) raises ApiError as a buffered call does, no answer at all RunError."""
    headers = {
        "Accept": "text/event-stream",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
    }
    url = _https(api_url, "ApiUrl").rstrip("/") + path
    request = urllib.request.Request(  # noqa: S310 - https only
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        response = opener(request, timeout=STREAM_TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        raise api_error(error.code, _read(error), error.headers.get("x-amzn-RequestId", "")) from None
    except (OSError, http.client.HTTPException) as error:
        raise _unreachable(url, error, STREAM_TIMEOUT_SECONDS) from None
    return Stream(response, f"POST {path}")


class Stream:
    """The events of one streamed answer, each read as soon as it arrives; they end after `done` or `error`.

    A stream that breaks off, falls silent for STREAM_TIMEOUT_SECONDS, is not the API's events or ends without
    `done` raises ApiError InvalidResponse with the stream's status: the answer is incomplete.
    """

    def __init__(self, response: Any, what: str) -> None:
        self.status = int(response.status)
        self._response = response
        self._what = what

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._response.close()

    def __iter__(self) -> Iterator[Event]:
        try:
            for event in read_events(iter(self._response.readline, b"")):
                yield event
                if event.name in LAST:
                    return
        except ProtocolError as error:
            raise self._invalid(str(error)) from None
        except TimeoutError:
            raise self._invalid(f"no event within {STREAM_TIMEOUT_SECONDS:g} s") from None
        except (OSError, http.client.HTTPException) as error:
            raise self._invalid(f"the stream broke off: {one_line(str(error)) or type(error).__name__}") from None
        raise self._invalid("the stream ended without a done event")

    def _invalid(self, problem: str) -> ApiError:
        return ApiError(self.status, "InvalidResponse", f"{self._what}: {problem}")


def stream_error(status: int, data: Mapping[str, Any]) -> ApiError:
    """The ApiError of an `error` event: the same envelope as a buffered error, in a stream of `status`."""
    return ApiError(
        status,
        str(data.get("code") or "Error"),
        one_line(str(data.get("message") or "no message")),
        str(data.get("requestId") or ""),
        streamed=True,
    )


def api_error(status: int, raw: bytes, request_id: str = "") -> ApiError:
    """The ApiError of an error answer: the API's `{"error": {...}}`, or API Gateway's own `{"message"}`."""
    answer = _json(raw)
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        return ApiError(
            status,
            str(error.get("code") or "Error"),
            one_line(str(error.get("message") or "no message")),
            str(error.get("requestId") or request_id),
        )
    message = answer.get("message") if isinstance(answer, dict) else None
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return ApiError(status, phrase, one_line(str(message or _snippet(raw) or "no message")), request_id)


def _send(opener: Opener, method: str, url: str, data: bytes | None, headers: Mapping[str, str]) -> tuple[int, bytes]:
    """(status, body) of one HTTP request; HTTPError propagates, no answer at all raises RunError."""
    request = urllib.request.Request(url, data=data, headers=dict(headers), method=method)  # noqa: S310 - https only
    try:
        with opener(request, timeout=TIMEOUT_SECONDS) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError:
        raise
    except (OSError, http.client.HTTPException) as error:
        raise _unreachable(url, error, TIMEOUT_SECONDS) from None


def _unreachable(url: str, error: OSError | http.client.HTTPException, timeout: float) -> RunError:
    if isinstance(error, urllib.error.URLError):
        return RunError(f"cannot reach {url}: {one_line(str(error.reason))}")
    if isinstance(error, TimeoutError):
        return RunError(f"no answer from {url} within {timeout:g} s")
    return RunError(f"cannot reach {url}: {one_line(str(error)) or type(error).__name__}")


def _https(url: str, name: str) -> str:
    """The URL, if it is https: the token and the client secret never travel in clear text."""
    if urllib.parse.urlsplit(url).scheme != "https":
        raise RunError(f"output {name} is not an https URL: '{url}'")
    return url


def _read(error: urllib.error.HTTPError) -> bytes:
    try:
        return bytes(error.read())
    except (OSError, http.client.HTTPException):
        return b""


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _snippet(raw: bytes) -> str:
    text = one_line(raw.decode("utf-8", "replace"))
    return text if len(text) <= 200 else text[:197] + "..."


class Client:
    """The deployed API for one run: the stack outputs read, the secret read and the token fetched at most once."""

    def __init__(
        self,
        *,
        stack_name: str,
        region: str | None,
        cloudformation: Any,
        cognito: Any,
        opener: Opener,
        scopes: Sequence[str] = (INVOKE_SCOPE,),
    ) -> None:
        self.stack_name = stack_name
        self.region = region
        self.cloudformation = cloudformation
        self.cognito = cognito
        self.opener = opener
        self.scopes = tuple(scopes)
        self._outputs: dict[str, str] | None = None
        self._token: str | None = None

    def outputs(self, *keys: str) -> list[str]:
        """The values of these stack outputs; a missing one raises StackError."""
        if self._outputs is None:
            self.cloudformation = self.cloudformation or boto3.client("cloudformation", region_name=self.region)
            self._outputs = read_outputs(self.cloudformation, self.stack_name)
        return require(self._outputs, self.stack_name, keys, "is the API deployed?")

    def token(self) -> str:
        if self._token is None:
            user_pool_id, client_id, token_url = self.outputs("UserPoolId", "MachineClientId", "TokenUrl")
            self.cognito = self.cognito or boto3.client("cognito-idp", region_name=self.region)
            secret = read_client_secret(self.cognito, user_pool_id, client_id)
            self._token = fetch_token(self.opener, token_url, client_id, secret, " ".join(self.scopes))
        return self._token

    def call(self, route: Route, body: Mapping[str, Any] | None = None) -> Any:
        return self.call_with_status(route, body)[1]

    def call_with_status(self, route: Route, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """The route's answer; a public route is called without a token."""
        [api_url] = self.outputs("ApiUrl")
        token = None if route.public else self.token()
        return call_api(route.method, route.path, body, token, api_url=api_url, opener=self.opener)

    def stream(self, route: Route, body: Mapping[str, Any]) -> Stream:
        [api_url] = self.outputs("ApiUrl")
        return open_stream(route.stream_path, body, self.token(), api_url=api_url, opener=self.opener)


# --- rendering ---
# The renderers read the API's answers defensively: a missing field prints as "?" instead of failing the run.


def render_health(answer: Any) -> str:
    if not isinstance(answer, dict) or not answer:
        return json.dumps(answer)
    return "\n".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value)}" for key, value in answer.items()
    )


def render_models(answer: Any) -> str:
    rows = [(str(model.get("id", "?")), str(model.get("name", ""))) for model in _items(answer, "models")]
    if not rows:
        return "(no models)"
    header = ("id", "name")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(2)]
    lines = [f"{row[0].ljust(widths[0])}  {row[1]}".rstrip() for row in [header, *rows]]
    lines.insert(1, f"{'-' * widths[0]}  {'-' * widths[1]}")
    max_tokens = _dict(_dict(answer).get("maxTokens"))
    if max_tokens:
        default, ceiling = (max_tokens.get(key, "?") for key in ("default", "ceiling"))
        lines.extend(["", f"max tokens: {default} unless asked (--max-tokens), {ceiling} at most"])
    return "\n".join(lines)


def render_chat(answer: Any) -> str:
    reply = _dict(answer)
    return "\n".join([_text(reply) or "(no answer)", *_chat_tail(reply), *_guardrail(reply)])


def _chat_tail(reply: Mapping[str, Any]) -> list[str]:
    """What follows a chat answer: model · stop reason · tokens · latency."""
    return [" · ".join([str(reply.get("model") or "?"), str(reply.get("stopReason") or "?"), *_metrics(reply)])]


def render_compare(answer: Any) -> str:
    blocks = []
    for result in _items(answer, "results"):
        lines = [f"== {result.get('model') or '?'} =="]
        error = result.get("error")
        if error:
            lines.append(f"error: {_error_text(error)}")
        else:
            tokens, latency = _metrics(result)
            lines.append(" · ".join([latency, tokens, str(result.get("stopReason") or "?")]))
            lines.append(_text(result) or "(no answer)")
            lines.extend(_guardrail(result))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "(no results)"


def render_retrieve(answer: Any) -> str:
    lines = []
    for number, passage in enumerate(_items(answer, "results"), start=1):
        score = passage.get("score")
        score_text = f"{score:.2f}" if isinstance(score, int | float) else "?"
        lines.append(f"{number}. score {score_text}  {', '.join(_sources(passage)) or '(no source)'}")
        lines.extend(f"   {line}" for line in _text(passage).splitlines() if line.strip())
    return "\n".join(lines) or "(no passages)"


def render_ask(answer: Any) -> str:
    reply = _dict(answer)
    return "\n".join([_text(reply) or "(no answer)", *_guardrail(reply), *_ask_tail(reply)])


def _ask_tail(reply: Mapping[str, Any]) -> list[str]:
    """What follows an answer from the knowledge base: its numbered citations, then the session."""
    return [*_citations(reply), *_session(reply)]


def render_agent(answer: Any, *, trace: bool = False) -> str:
    """The trace when asked for, the answer and its citations, then the tool call to confirm or the session."""
    reply = _dict(answer)
    steps = [f"trace: {step}" for step in _list(reply.get("trace"))] if trace else []
    text = _text(reply) or ("" if _confirmation(reply) else "(no answer)")
    return "\n".join(line for line in [*steps, text, *_guardrail(reply), *_agent_tail(reply)] if line)


def _agent_tail(reply: Mapping[str, Any]) -> list[str]:
    """What follows the agent's answer: its numbered citations, then the tool call to confirm or the session."""
    confirmation = _confirmation(reply)
    return [*_citations(reply), *([render_confirmation(confirmation)] if confirmation else _session(reply))]


def render_confirmation(confirmation: Mapping[str, Any]) -> str:
    """The tool the agent wants to run and its input, each value as the JSON the tool will get."""
    arguments = _dict(confirmation.get("input"))
    head = f"The agent wants to run {confirmation.get('tool') or '?'}"
    if not arguments:
        return f"{head}, with no input."
    values = [f"  {name}: {json.dumps(value, ensure_ascii=False)}" for name, value in arguments.items()]
    return "\n".join([f"{head} with:", *values])


def confirm_request(session_id: str, confirmation_id: str, approve: bool) -> dict[str, Any]:
    """The /agent body that approves or declines the tool call of a confirmation."""
    return {"sessionId": session_id, "confirm": {"id": confirmation_id, "approve": approve}}


def _confirmation(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The answer's confirmation (the tool call the agent waits on), or an empty dict."""
    return _dict(reply.get("confirmation"))


def _dict(answer: Any) -> dict[str, Any]:
    return answer if isinstance(answer, dict) else {}


def _model_ids(answer: Any) -> list[str]:
    """The ids of a GET /models answer, in its order."""
    return [str(model["id"]) for model in _items(answer, "models") if model.get("id")]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _items(answer: Any, key: str) -> list[dict[str, Any]]:
    return [item for item in _list(_dict(answer).get(key)) if isinstance(item, dict)]


def _text(item: Mapping[str, Any]) -> str:
    """The `answer` of a model, knowledge base or agent, or the `text` of a passage."""
    for key in ("answer", "text"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _metrics(item: Mapping[str, Any]) -> list[str]:
    """["tokens <in>/<out>", "<latency> ms"]."""
    usage = _dict(item.get("usage"))
    latency = item.get("latencyMs")
    return [
        f"tokens {usage.get('inputTokens', '?')}/{usage.get('outputTokens', '?')}",
        f"{latency if latency is not None else '?'} ms",
    ]


def _guardrail(item: Mapping[str, Any]) -> list[str]:
    return ["[guardrail intervened]"] if _dict(item.get("guardrail")).get("action") == "INTERVENED" else []


def _sources(item: Mapping[str, Any]) -> list[str]:
    """The document URIs of a passage (`source`) or a citation (`sources`)."""
    found = [item.get("source"), *_list(item.get("sources"))]
    return list(dict.fromkeys(source for source in found if isinstance(source, str) and source))


def _citations(reply: Mapping[str, Any]) -> list[str]:
    return [
        f"  [{number}] {', '.join(_sources(citation)) or '(no source)'}"
        for number, citation in enumerate(_items(reply, "citations"), start=1)
    ]


def _session(reply: Mapping[str, Any]) -> list[str]:
    return [f"session: {reply['sessionId']}"] if reply.get("sessionId") else []


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('code') or 'Error'}: {one_line(str(error.get('message') or 'no message'))}"
    return one_line(str(error))


# --- subcommands ---

Ask = Callable[[str], str]  # asks the user a question; None where no one can be asked
Tail = Callable[[Mapping[str, Any]], list[str]]  # the lines that follow an answer's text


def show(args: argparse.Namespace, answer: Any, render: Callable[[Any], str]) -> None:
    print(_dumps(answer) if args.json else render(answer))


def _dumps(answer: Any) -> str:
    return json.dumps(answer, indent=2, ensure_ascii=False)


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
            if not (self.typewriter.wrote or self.withheld or _confirmation(self.reply)):
                print("(no answer)")
            for line in tail(self.reply):
                print(line)


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
        stream_turn(client, ROUTES["chat"], body, args, _chat_tail)
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
        stream_turn(client, ROUTES["ask"], body, args, _ask_tail)
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
        confirmation = _confirmation(_dict(answer))
        if not confirmation:
            return EXIT_OK
        session_id = str(_dict(answer).get("sessionId") or args.session_id or "")
        answer = _agent_turn(client, args, confirm_request(session_id, str(confirmation.get("id")), _decide(args, ask)))
    if not _confirmation(_dict(answer)):
        return EXIT_OK
    raise RunError(
        f"the agent asked to confirm a tool call {MAX_CONFIRMATIONS + 1} times in a row; stopped without an answer"
        f" (continue with --session-id {_dict(answer).get('sessionId')})"
    )


def _agent_turn(client: Client, args: argparse.Namespace, body: dict[str, Any]) -> Any:
    """Send one /agent request (streamed, or with the trace when asked for) and print its answer."""
    if args.stream:
        return stream_turn(client, ROUTES["agent"], body, args, _agent_tail)
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
    models = _model_ids(client.call(ROUTES["models"]))[:count]
    if len(models) < count:
        raise RunError(f"GET /models listed {len(models)} model(s), {count} needed; pass --model")
    return models


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
    model_ids = _model_ids(check(ROUTES["models"]))
    if model_ids:
        conversation = {"model": model_ids[0], "messages": [{"role": "user", "content": SMOKE_PROMPT}], "maxTokens": 20}
        check(chat, conversation)
        check_stream(chat, conversation)
    else:
        record(Check(chat.method, chat.path, None, None, NO_MODEL))
        record(Check("POST", chat.stream_path, None, None, NO_MODEL))
    if len(model_ids) >= 2:
        check(compare, {"models": model_ids[:2], "prompt": SMOKE_PROMPT})
    else:
        one = "needs two models, GET /models listed one"
        record(Check(compare.method, compare.path, None, None, one if model_ids else NO_MODEL, bool(model_ids)))
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
    if route.name == "models" and not _items(answer, "models"):
        return "no models listed"
    if route.name == "compare":
        results = _items(answer, "results")
        return "; ".join(f"{item.get('model')}: {_error_text(item['error'])}" for item in results if item.get("error"))
    return ""


def _stream_problem(status: int, events: Sequence[Event]) -> str:
    """Why a stream that ended fails the smoke test (an error event, or no text at all), or an empty string."""
    if events and events[-1].name == "error":
        return stream_error(status, events[-1].data).detail
    if not any(event.name == "delta" for event in events):
        return "no delta event: the stream carried no text"
    return ""


COMMANDS: Final[dict[str, Callable[[Client, argparse.Namespace, Ask | None], int]]] = {
    "health": run_health,
    "models": run_models,
    "chat": run_chat,
    "compare": run_compare,
    "retrieve": run_retrieve,
    "ask": run_ask,
    "agent": run_agent,
    "smoke": run_smoke,
}


# --- command line ---


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="client.py",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]) if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, in_subcommand=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        """The subcommand of the route `name` (smoke has none), its help led by the route's method and path."""
        route = ROUTES.get(name)
        summary = f"{route.method} {route.path}: {summary}" if route else summary
        subparser = commands.add_parser(name, help=summary, description=summary)
        _add_global_options(subparser, in_subcommand=True)
        if route and route.stream:
            subparser.add_argument(
                "--stream",
                action="store_true",
                help=f"POST {route.stream_path} instead, and print the answer as it arrives",
            )
        return subparser

    max_tokens = "most tokens of the answer (default and ceiling: see `models`)"
    command("health", "is the API up (no token needed)")
    command("models", "the models chat and compare accept")
    chat = command("chat", "one prompt to one model")
    chat.add_argument("prompt")
    chat.add_argument("--model", metavar="ID", help="model id (default: the first of GET /models)")
    chat.add_argument("--max-tokens", type=int, metavar="N", help=max_tokens)
    chat.add_argument("--temperature", type=float, metavar="T", help="sampling temperature")
    compare = command("compare", "one prompt to 2 to 4 models side by side")
    compare.add_argument("prompt")
    compare.add_argument(
        "--model",
        dest="models",
        action="append",
        metavar="ID",
        help="a model to compare; give it 2 to 4 times (default: the first two of GET /models)",
    )
    retrieve = command("retrieve", "knowledge base passages nearest to a query")
    retrieve.add_argument("query")
    retrieve.add_argument("--top-k", type=int, metavar="N", help="how many passages (default: the API's)")
    ask = command("ask", "an answer from the knowledge base, with citations")
    ask.add_argument("question")
    ask.add_argument("--session-id", metavar="S", help=SESSION_HELP)
    ask.add_argument("--max-tokens", type=int, metavar="N", help=max_tokens)
    agent = command("agent", "talk to the agent, confirming the tickets it creates or closes")
    agent.add_argument("input")
    agent.add_argument("--session-id", metavar="S", help=SESSION_HELP)
    agent.add_argument(
        "--trace",
        action="store_true",
        help="print the tools the agent called (requests the genai/admin scope; not with --stream)",
    )
    decision = agent.add_mutually_exclusive_group()
    decision.add_argument("--yes", action="store_true", help="run every tool call the agent asks to confirm")
    decision.add_argument("--no", action="store_true", help="decline every tool call the agent asks to confirm")
    command("smoke", "call every route once: one PASS/FAIL line each; exit 1 if any failed")
    return parser


def _add_global_options(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    """The options accepted before and after the subcommand; after it, they only override what was given."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if in_subcommand else value

    parser.add_argument(
        "--stack-name",
        default=default(None),
        metavar="NAME",
        help="Application stack (default: <stack_prefix>-Application, as cdk.json configures it)",
    )
    parser.add_argument(
        "--region",
        default=default(None),
        help="AWS region of the stack (default: the region cdk.json configures, else the SDK's)",
    )
    parser.add_argument("--json", action="store_true", default=default(False), help="print the raw JSON responses")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "compare" and args.models is not None:
        low, high = COMPARE_MODELS
        if not low <= len(args.models) <= high:
            parser.error(f"compare takes {low} to {high} --model options, got {len(args.models)}")
    if getattr(args, "trace", False) and args.stream:
        parser.error("agent --trace cannot be combined with --stream: the stream carries no trace")
    return args


def main(
    argv: Sequence[str] | None = None,
    *,
    cloudformation: Any = None,
    cognito: Any = None,
    opener: Opener | None = None,
    ask: Ask | None = None,
) -> int:
    """Run one subcommand; returns the exit code. Missing clients are boto3's for the stack's region, urllib's
    opener, and `input` for `ask` when stdin is a terminal."""
    try:
        args = parse_args(argv)
    except SystemExit as exit_:  # argparse printed the help, or the usage and a one-line error
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
    if ask is None and sys.stdin.isatty():
        ask = input
    try:
        stack_name, region = locate(args.stack_name, args.region)
        client = Client(
            stack_name=stack_name,
            region=region,
            cloudformation=cloudformation,
            cognito=cognito,
            opener=opener or urllib.request.urlopen,
            scopes=(INVOKE_SCOPE, ADMIN_SCOPE) if getattr(args, "trace", False) else (INVOKE_SCOPE,),
        )
        return COMMANDS[args.command](client, args, ask)
    except ApiError as error:
        return fail(str(error), EXIT_FAILED)
    except (RunError, StackError) as error:
        return fail(str(error), EXIT_ERROR)
    except (ClientError, BotoCoreError) as error:
        return fail(describe_aws_error(error), EXIT_ERROR)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def fail(message: str, code: int) -> int:
    print(f"client: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
