"""How the client reaches the deployed API: the stack's outputs, the machine client's token, buffered calls and
streamed answers over HTTPS, and the errors each can end in."""

from __future__ import annotations

import base64
import http
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final, Protocol

import boto3

from scripts.aws_errors import one_line
from scripts.client_routes import Route
from scripts.events import LAST, Event, ProtocolError, read_events
from scripts.stack_outputs import read_outputs, require

INVOKE_SCOPE: Final = "genai/invoke"
ADMIN_SCOPE: Final = "genai/admin"
TIMEOUT_SECONDS: Final = 35.0
# API Gateway ends a regional endpoint's stream after 5 minutes without data; the client waits as long.
STREAM_TIMEOUT_SECONDS: Final = 300.0


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
