"""A stand-in for urllib.request.urlopen that answers scripts/client.py from a script, and records what it sent."""

from __future__ import annotations

import email.message
import http
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict, deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"
TOKEN_URL = "https://genai-test.auth.us-east-1.amazoncognito.com/oauth2/token"  # noqa: S105 - a URL, not a secret
TOKEN = "eyJ.access.token"  # noqa: S105 - a fake token the fake token endpoint hands out


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
