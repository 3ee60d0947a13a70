"""Stand-ins for what the client talks to: the stack's outputs, a urlopen that answers from a script and records
what it was sent, streamed answers read a line at a time, and one run of the program with them."""

from __future__ import annotations

import email.message
import http
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pytest

from scripts.client import main

API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"
TOKEN_URL = "https://genai-test.auth.us-east-1.amazoncognito.com/oauth2/token"  # noqa: S105 - a URL, not a secret
TOKEN = "eyJ.access.token"  # noqa: S105 - a fake token the fake token endpoint hands out
STACK = "BedrockGenAi-Application"
POOL = "us-east-1_AbCdEf123"
MACHINE = "machineclient123"
SECRET = "1example2secret3of4the5machine6client"  # noqa: S105 - a fake secret the stubbed Cognito hands out
OUTPUTS = {
    "ApiUrl": API_URL,
    "UserPoolId": POOL,
    "MachineClientId": MACHINE,
    "TokenUrl": TOKEN_URL,
    "PeopleClientId": "peopleclient456",
}


@dataclass(frozen=True)
class Sent:
    """One request as the server would see it; `body` is the decoded JSON, the form text, or None."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    timeout: float

    @property
    def path(self) -> str:
        """The path below the API stage, e.g. /chat, or the full URL for anything that is not the API."""
        return "/" + self.url.removeprefix(API_URL) if self.url.startswith(API_URL) else self.url


class FakeResponse:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self._body = body

    def read(self) -> bytes:
        return self._body

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None


class FakeOpener:
    """Answers each (method, path) with its next scripted answer; the token endpoint always hands out TOKEN.

    An answer is (status, JSON body or raw bytes, headers) or an exception to raise. Status 4xx/5xx raises
    urllib.error.HTTPError, as urlopen does. A request nobody scripted fails the test.
    """

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], deque[Any]] = defaultdict(deque)
        self.sent: list[Sent] = []
        self.reply("POST", TOKEN_URL, 200, {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})

    def reply(self, method: str, path: str, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        key = (method, path)
        if path == TOKEN_URL:
            self.answers[key].clear()
        self.answers[key].append((status, body, headers or {}))

    def fail(self, method: str, path: str, error: Exception) -> None:
        self.answers[(method, path)].append(error)

    def __call__(self, request: urllib.request.Request, /, *, timeout: float) -> FakeResponse:
        raw = request.data if isinstance(request.data, bytes) else None
        content_type = request.get_header("Content-type", "")
        body: Any = raw
        if raw is not None and content_type == "application/json":
            body = json.loads(raw)
        elif raw is not None:
            body = raw.decode()
        sent = Sent(request.get_method(), request.full_url, dict(request.header_items()), body, timeout)
        self.sent.append(sent)
        queue = self.answers.get((sent.method, sent.path))
        assert queue, f"unexpected request {sent.method} {sent.url}"
        answer = queue[0] if sent.path == TOKEN_URL else queue.popleft()
        if isinstance(answer, Exception):
            raise answer
        status, payload, headers = answer
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if status >= 400:
            message = email.message.Message()
            for name, value in headers.items():
                message[name] = value
            raise urllib.error.HTTPError(
                request.full_url, status, http.HTTPStatus(status).phrase, message, io.BytesIO(data)
            )
        return FakeResponse(status, data)

    @property
    def api_calls(self) -> list[Sent]:
        return [sent for sent in self.sent if sent.url != TOKEN_URL]

    @property
    def token_requests(self) -> list[Sent]:
        return [sent for sent in self.sent if sent.url == TOKEN_URL]

    def assert_all_answered(self) -> None:
        pending = {key: len(queue) for key, queue in self.answers.items() if queue and key[1] != TOKEN_URL}
        assert not pending, f"scripted answers never requested: {pending}"


def never_ask(prompt: str) -> str:
    pytest.fail(f"the script asked {prompt!r}")


def describe_stacks(outputs: dict[str, str]) -> dict[str, Any]:
    stack = {"StackName": STACK, "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE"}
    return {"Stacks": [{**stack, "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}


def api_error(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "requestId": request_id}}


def frame(name: str, data: dict[str, Any] | None = None) -> bytes:
    """One server-sent event as the API writes it: `event:`, one line of JSON `data:`, a blank line."""
    return f"event: {name}\ndata: {json.dumps(data or {})}\n\n".encode()


class FakeStream(FakeResponse):
    """A streamed answer whose lines are handed out one readline at a time, as a socket's would be; before each,
    it notes what the client had printed (`printed`), which shows what was printed before the stream ended."""

    def __init__(self, *chunks: bytes | Exception) -> None:
        super().__init__(200, b"")
        self._lines = iter(
            [piece for chunk in chunks for piece in ([chunk] if isinstance(chunk, Exception) else _lines(chunk))]
        )
        self.watch: Callable[[], str] = lambda: ""
        self.printed: list[str] = []
        self.closed = False

    def readline(self) -> bytes:
        self.printed.append(self.watch())
        line = next(self._lines, b"")
        if isinstance(line, Exception):
            raise line
        return line

    def close(self) -> None:
        self.closed = True


def _lines(chunk: bytes) -> list[bytes]:
    return chunk.splitlines(keepends=True)


class StreamingOpener(FakeOpener):
    """The fake opener, which can also answer with a FakeStream, in turn with the replies scripted for its path."""

    def stream(self, method: str, path: str, fake: FakeStream) -> None:
        self.answers[(method, path)].append(fake)

    def __call__(self, request: urllib.request.Request, /, *, timeout: float) -> FakeResponse:
        queue = self.answers.get((request.get_method(), "/" + request.full_url.removeprefix(API_URL)))
        if queue and isinstance(queue[0], FakeStream):
            fake: FakeStream = queue.popleft()
            queue.appendleft((200, b"", {}))  # answered by the parent, which records the request
            super().__call__(request, timeout=timeout)
            return fake
        return super().__call__(request, timeout=timeout)


class Screen:
    """What the script printed so far: capsys's output, read without losing what was read before."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self.out = ""

    def __call__(self) -> str:
        self.out += self._capsys.readouterr().out
        return self.out

    def watch(self, *streams: FakeStream) -> None:
        for stream in streams:
            stream.watch = self


@dataclass(frozen=True)
class Api:
    """The clients of one run of the script: stubbed CloudFormation and Cognito, and the fake opener."""

    cloudformation: Any
    cognito: Any
    opener: StreamingOpener

    def run(self, *argv: str, ask: Callable[[str], str] | None = never_ask) -> int:
        return main(list(argv), cloudformation=self.cloudformation, cognito=self.cognito, opener=self.opener, ask=ask)


def assert_one_line_error(err: str, message: str) -> None:
    assert err == f"client: error: {message}\n"
    assert "Traceback" not in err
