"""The client's transport: the machine client's token, buffered and streamed calls, the stack's outputs, and
every way a call can fail, each with its exit code and one line."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from scripts.client import main
from scripts.client_routes import ROUTES
from scripts.client_transport import ApiError, RunError, call_api, fetch_token

from ..conftest import Settings
from .answers import (
    CHAT,
    HAIKU,
)
from .fakes import (
    API_URL,
    MACHINE,
    OUTPUTS,
    SECRET,
    STACK,
    TOKEN,
    TOKEN_URL,
    Api,
    FakeOpener,
    FakeStream,
    api_error,
    assert_one_line_error,
    describe_stacks,
    frame,
)

ROUTES_JSON = Path(__file__).resolve().parents[3] / "lambda" / "api" / "routes.json"


def test_the_token_comes_from_the_client_credentials_flow(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/chat", 200, CHAT)

    assert api.run("chat", "Hello", "--model", HAIKU) == 0

    (token_request,) = api.opener.token_requests
    basic = base64.b64encode(f"{MACHINE}:{SECRET}".encode()).decode()
    assert (token_request.method, token_request.url) == ("POST", TOKEN_URL)
    assert token_request.headers["Authorization"] == f"Basic {basic}"
    assert token_request.headers["Content-type"] == "application/x-www-form-urlencoded"
    assert token_request.body == "grant_type=client_credentials&scope=genai/invoke"
    assert api.opener.sent.index(token_request) == 0


def test_health_needs_no_token_nor_secret(stack: Api, capsys: pytest.CaptureFixture[str]) -> None:
    stack.opener.reply("GET", "/health", 200, {"status": "ok", "version": "1.4.0"})

    assert stack.run("health") == 0

    (call,) = stack.opener.sent
    assert (call.method, call.url, call.body, call.timeout) == ("GET", API_URL + "health", None, 35.0)
    assert "Authorization" not in call.headers
    assert capsys.readouterr().out == "status: ok\nversion: 1.4.0\n"


def test_the_routes_come_from_the_api_registry() -> None:
    """The client's routes are routes.json's: a route the API moved or stopped streaming moves in the client."""
    registry = json.loads(ROUTES_JSON.read_text(encoding="utf-8"))
    declared = {route["name"]: (route["method"], route["path"]) for route in registry["routes"]}

    assert {name: (route.method, route.path) for name, route in ROUTES.items()} == declared
    assert [name for name, route in ROUTES.items() if route.stream] == ["chat", "ask", "agent"]
    assert [name for name, route in ROUTES.items() if route.public] == ["health"]
    assert ROUTES["chat"].stream_path == "/chat/stream"


def test_a_refused_admin_scope_says_which_scope(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", TOKEN_URL, 400, {"error": "invalid_scope"})

    assert api.run("agent", "Hi", "--trace") == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "the token endpoint refused the machine client: 400 invalid_scope"
        " (scope genai/invoke genai/admin: may the machine client request it?)",
    )


def test_an_error_event_exits_1_with_the_error_envelope(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    error = {"code": "UpstreamError", "message": "The model or service\nbehind the API failed.", "requestId": "r-5"}
    stream = FakeStream(frame("delta", {"text": "Once upon"}), frame("error", error), frame("done"))
    api.opener.stream("POST", "/chat/stream", stream)

    assert api.run("chat", "A story", "--model", HAIKU, "--stream") == 1

    out, err = capsys.readouterr()
    assert out == "Once upon\n"
    assert_one_line_error(err, "stream UpstreamError: The model or service behind the API failed. (request r-5)")
    assert stream.printed[-1] == ""  # nothing was read after the error event
    assert len(stream.printed) == 6
    assert stream.closed


def test_an_error_before_the_stream_is_an_ordinary_error_answer(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    refusal = api_error("RateLimited", "Too many model calls; retry after 42 s.", "r-6")
    api.opener.reply("POST", "/chat/stream", 429, refusal, {"Retry-After": "42"})

    assert api.run("chat", "Hello", "--model", HAIKU, "--stream") == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, "429 RateLimited: Too many model calls; retry after 42 s. (request r-6)")


@pytest.mark.parametrize(
    ("chunks", "problem"),
    [
        pytest.param([], "the stream ended without a done event", id="no done"),
        pytest.param([b"event: done\n"], "the stream ended inside an event", id="cut short"),
        pytest.param(
            [ConnectionResetError(104, "Connection reset by peer")],
            "the stream broke off: [Errno 104] Connection reset by peer",
            id="reset",
        ),
        pytest.param([TimeoutError("timed out")], "no event within 300 s", id="silent"),
        pytest.param([b'{"answer": "Hi"}\n'], 'line 4 is not an event or data field: \'{"answer": "Hi"}\'', id="json"),
    ],
)
def test_an_incomplete_stream_exits_1(
    api: Api, capsys: pytest.CaptureFixture[str], chunks: list[bytes | Exception], problem: str
) -> None:
    api.opener.stream("POST", "/chat/stream", FakeStream(frame("delta", {"text": "Hi"}), *chunks))

    assert api.run("chat", "Hello", "--model", HAIKU, "--stream") == 1

    out, err = capsys.readouterr()
    assert out == "Hi\n"
    assert_one_line_error(err, f"200 InvalidResponse: POST /chat/stream: {problem}")


def test_a_stream_that_cannot_be_opened_exits_2(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.fail("POST", "/chat/stream", urllib.error.URLError(OSError(-2, "Name or service not known")))

    assert api.run("chat", "Hello", "--model", HAIKU, "--stream") == 2

    assert_one_line_error(
        capsys.readouterr().err, f"cannot reach {API_URL}chat/stream: [Errno -2] Name or service not known"
    )


# --- errors ---


def test_an_api_error_exits_1_with_one_line(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", "/chat", 502, api_error("ModelError", "the model did not\nanswer in time", "req-9"))

    assert api.run("chat", "Hello", "--model", HAIKU) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, "502 ModelError: the model did not answer in time (request req-9)")


def test_an_api_gateway_error_uses_the_status_phrase_and_request_id_header(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.opener.reply("GET", "/models", 403, {"message": "Forbidden"}, {"x-amzn-RequestId": "gw-1"})

    assert api.run("models") == 1

    assert_one_line_error(capsys.readouterr().err, "403 Forbidden: Forbidden (request gw-1)")


def test_an_answer_that_is_not_json_exits_1(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("GET", "/models", 200, b"<html>hello</html>")

    assert api.run("models") == 1

    assert_one_line_error(
        capsys.readouterr().err, "200 InvalidResponse: GET /models answered with no JSON: <html>hello</html>"
    )


def test_a_missing_output_exits_2(
    clients: Api, cloudformation_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {key: value for key, value in OUTPUTS.items() if key != "TokenUrl"}
    cloudformation_stub.add_response("describe_stacks", describe_stacks(outputs), {"StackName": STACK})

    assert clients.run("models") == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "stack 'BedrockGenAi-Application' has no output TokenUrl"
        " (its outputs: ApiUrl, MachineClientId, PeopleClientId, UserPoolId); is the API deployed?",
    )
    assert clients.opener.sent == []


def test_the_stack_is_the_one_cdk_json_configures(
    clients: Api, cloudformation_stub: Stubber, cdk_json: Settings
) -> None:
    cdk_json({"stack_prefix": "Acme"})
    cloudformation_stub.add_response("describe_stacks", describe_stacks(OUTPUTS), {"StackName": "Acme-Application"})
    clients.opener.reply("GET", "/health", 200, {"status": "ok"})

    assert clients.run("health") == 0


def test_a_missing_stack_exits_2(
    clients: Api, cloudformation_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudformation_stub.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id Other does not exist",
        expected_params={"StackName": "Other"},
    )

    assert clients.run("--stack-name", "Other", "health") == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "stack 'Other' not found in us-east-1 (deploy it with `make deploy`, or pass --stack-name or --region)",
    )


def test_an_api_url_that_is_not_https_exits_2(
    clients: Api, cloudformation_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {**OUTPUTS, "ApiUrl": "http://abc123.execute-api.us-east-1.amazonaws.com/prod/"}
    cloudformation_stub.add_response("describe_stacks", describe_stacks(outputs), {"StackName": STACK})

    assert clients.run("health") == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "output ApiUrl is not an https URL: 'http://abc123.execute-api.us-east-1.amazonaws.com/prod/'",
    )
    assert clients.opener.sent == []


def test_a_refused_token_request_exits_2(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.opener.reply("POST", TOKEN_URL, 400, {"error": "invalid_client"})

    assert api.run("models") == 2

    assert_one_line_error(capsys.readouterr().err, "the token endpoint refused the machine client: 400 invalid_client")
    assert api.opener.api_calls == []


def test_a_cognito_error_exits_2(stack: Api, cognito_stub: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    cognito_stub.add_client_error("describe_user_pool_client", "AccessDeniedException", "not\nallowed")

    assert stack.run("models") == 2

    assert_one_line_error(capsys.readouterr().err, "DescribeUserPoolClient failed: AccessDeniedException: not allowed")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        pytest.param(
            urllib.error.URLError(OSError(-2, "Name or service not known")),
            f"cannot reach {API_URL}health: [Errno -2] Name or service not known",
            id="connection",
        ),
        pytest.param(TimeoutError("timed out"), f"no answer from {API_URL}health within 35 s", id="timeout"),
        pytest.param(
            ConnectionResetError(104, "Connection reset by peer"),
            f"cannot reach {API_URL}health: [Errno 104] Connection reset by peer",
            id="reset",
        ),
    ],
)
def test_a_connection_error_exits_2(
    stack: Api, capsys: pytest.CaptureFixture[str], error: Exception, message: str
) -> None:
    stack.opener.fail("GET", "/health", error)

    assert stack.run("health") == 2

    assert_one_line_error(capsys.readouterr().err, message)


def test_no_credentials_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    class NoCredentials:
        def describe_stacks(self, **request: Any) -> dict[str, Any]:
            raise NoCredentialsError

    assert main(["health"], cloudformation=NoCredentials(), opener=FakeOpener()) == 2

    assert_one_line_error(
        capsys.readouterr().err,
        "no AWS credentials found: configure them for the stack's account (AWS_PROFILE, aws sso login...)",
    )


def test_no_region_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    assert main(["health"], opener=FakeOpener()) == 2

    assert_one_line_error(
        capsys.readouterr().err, "no AWS region configured: pass --region, or set AWS_REGION or a profile's region"
    )


# --- the pure functions ---


def test_fetch_token_and_call_api() -> None:
    opener = FakeOpener()
    opener.reply("POST", "/ask", 201, {"answer": "yes"})

    token = fetch_token(opener, TOKEN_URL, "id", "secret")
    status, answer = call_api("POST", "/ask", {"question": "?"}, token, api_url=API_URL, opener=opener)

    assert (token, status, answer) == (TOKEN, 201, {"answer": "yes"})
    assert opener.sent[1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_fetch_token_without_an_access_token_raises() -> None:
    opener = FakeOpener()
    opener.reply("POST", TOKEN_URL, 200, {"token_type": "Bearer"})

    with pytest.raises(RunError, match="without an access_token"):
        fetch_token(opener, TOKEN_URL, "id", "secret")


def test_call_api_raises_api_error() -> None:
    opener = FakeOpener()
    opener.reply("POST", "/retrieve", 429, api_error("Throttled", "slow down", "r-1"))

    with pytest.raises(ApiError) as raised:
        call_api("POST", "/retrieve", {"query": "q"}, "t", api_url=API_URL, opener=opener)

    assert (raised.value.status, raised.value.code, raised.value.request_id) == (429, "Throttled", "r-1")
    assert str(raised.value) == "429 Throttled: slow down (request r-1)"
