"""errors.from_aws: every AWS error a route can meet, as the status and generic message a caller sees."""

from __future__ import annotations

from typing import Any

import pytest
from api.errors import CLIENT_ERRORS, ApiError, from_aws
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from urllib3.exceptions import ReadTimeoutError as StreamReadTimeoutError

from tests.aws import offline_client

from .api_fakes import GENERATION_MODEL_ARN, GUARDRAIL_ID, HAIKU, KB_ID

# What Bedrock's messages may carry: a model ARN (with the account), a guardrail and a knowledge base id.
UPSTREAM_MESSAGE = f"{GENERATION_MODEL_ARN} refused guardrail {GUARDRAIL_ID} on knowledge base {KB_ID}."
ENDPOINT = f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{HAIKU}/converse"
# code -> (status, API code) a caller gets; the HTTP status each service sends with it.
MAPPED = {
    "ValidationException": (400, 400, "BadRequest"),
    "AccessDeniedException": (403, 403, "AccessDenied"),
    "ResourceNotFoundException": (404, 404, "NotFound"),
    "ConflictException": (409, 409, "Conflict"),
    "ThrottlingException": (429, 429, "Throttled"),
    "ServiceQuotaExceededException": (400, 429, "Throttled"),
    "TooManyRequestsException": (429, 429, "Throttled"),
    "ModelNotReadyException": (429, 429, "Throttled"),
    "ModelTimeoutException": (408, 504, "Timeout"),
    "ProvisionedThroughputExceededException": (400, 429, "Throttled"),
    "RequestLimitExceeded": (400, 429, "Throttled"),
    "ModelErrorException": (424, 502, "UpstreamError"),
    "DependencyFailedException": (424, 502, "UpstreamError"),
    "RuntimeClientError": (424, 502, "UpstreamError"),
}


def aws_error(code: str, http_status: int | None, message: str = UPSTREAM_MESSAGE) -> ClientError:
    """A ClientError as botocore raises it; an event stream's error carries no HTTP status."""
    response: dict[str, Any] = {"Error": {"Code": code, "Message": message}}
    if http_status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": http_status}
    return ClientError(response, "Converse")


def assert_generic(error: ApiError) -> None:
    """The caller's message names nothing from upstream or the environment; the detail keeps it all."""
    for secret in (UPSTREAM_MESSAGE, "arn:", "123456789012", GUARDRAIL_ID, KB_ID, HAIKU, ENDPOINT):
        assert secret not in error.message
        assert secret not in str(error.body("request-1"))


def test_the_table_maps_every_code_this_test_knows() -> None:
    assert set(CLIENT_ERRORS) == set(MAPPED)


@pytest.mark.parametrize(("code", "http_status", "status", "api_code"), [(k, *v) for k, v in MAPPED.items()])
def test_each_mapped_code_gets_its_status(code: str, http_status: int, status: int, api_code: str) -> None:
    error = from_aws(aws_error(code, http_status))

    assert (error.status, error.code) == (status, api_code)
    assert error.headers == ({"Retry-After": "5"} if status == 429 else {})
    assert_generic(error)
    assert error.detail == f"{code}: {UPSTREAM_MESSAGE}"


def test_an_event_stream_error_is_named_after_its_event() -> None:
    error = from_aws(aws_error("throttlingException", None))

    assert (error.status, error.code, error.headers) == (429, "Throttled", {"Retry-After": "5"})


@pytest.mark.parametrize("http_status", [400, 402, 413, 422])
def test_an_unmapped_client_error_is_a_bad_request(http_status: int) -> None:
    error = from_aws(aws_error("SomethingNewException", http_status))

    assert (error.status, error.code, error.headers) == (400, "BadRequest", {})
    assert_generic(error)
    assert UPSTREAM_MESSAGE in error.detail


@pytest.mark.parametrize(
    ("code", "http_status"),
    [("InternalServerException", 500), ("ServiceUnavailableException", 503), ("BadGatewayException", 502)],
)
def test_an_unmapped_server_error_is_an_upstream_error(code: str, http_status: int) -> None:
    error = from_aws(aws_error(code, http_status))

    assert (error.status, error.code, error.headers) == (502, "UpstreamError", {})
    assert_generic(error)
    assert error.detail == f"{code}: {UPSTREAM_MESSAGE}"


def test_an_unmapped_error_without_a_status_is_an_upstream_error() -> None:
    # A stream's modelStreamErrorException arrives as an event, with no HTTP status of its own.
    error = from_aws(aws_error("modelStreamErrorException", None))

    assert (error.status, error.code) == (502, "UpstreamError")


def param_validation_error(**params: Any) -> ParamValidationError:
    """The error botocore raises for `params`, before anything is sent."""
    with pytest.raises(ParamValidationError) as raised:
        offline_client("bedrock-runtime").converse(**params)
    return raised.value


@pytest.mark.parametrize(
    ("params", "path", "leaked"),
    [
        ({"modelId": HAIKU, "messages": [], "inferenceConfig": {"temperature": "hot-secret"}}, "temperature", "hot"),
        ({"modelId": HAIKU, "messages": [{"role": "user"}]}, "messages[0]", "content"),
        (
            {"modelId": HAIKU, "messages": [{"role": "user", "content": [{"text": "a", "secretKey": "x"}]}]},
            "messages[0].content[0]",
            "secretKey",
        ),
    ],
)
def test_a_parameter_botocore_refuses_is_a_bad_request_naming_only_its_path(
    params: dict[str, Any], path: str, leaked: str
) -> None:
    cause = param_validation_error(**params)

    error = from_aws(cause)

    assert (error.status, error.code) == (400, "BadRequest")
    assert path in error.message
    assert leaked not in error.message
    assert leaked in error.detail
    assert error.detail.startswith("ParamValidationError: Parameter validation failed:")


def test_a_refused_parameter_without_a_path_is_named_generically() -> None:
    error = from_aws(ParamValidationError(report="Must set one of the following keys: text, image."))

    assert (error.status, error.code) == (400, "BadRequest")
    assert "a parameter" in error.message
    assert "text, image" not in error.message


@pytest.mark.parametrize(
    "cause",
    [
        ReadTimeoutError(endpoint_url=ENDPOINT),
        ConnectTimeoutError(endpoint_url=ENDPOINT),
        StreamReadTimeoutError(None, ENDPOINT, "Read timed out."),  # type: ignore[arg-type]
    ],
    ids=["read", "connect", "stream-read"],
)
def test_timeouts_are_gateway_timeouts(cause: Exception) -> None:
    error = from_aws(cause)

    assert (error.status, error.code, error.headers) == (504, "Timeout", {})
    assert_generic(error)
    assert type(cause).__name__ in error.detail


def test_an_endpoint_that_cannot_be_reached_is_an_upstream_error() -> None:
    # A missing VPC endpoint or a region without the service: nothing the caller can change.
    error = from_aws(EndpointConnectionError(endpoint_url=ENDPOINT))

    assert (error.status, error.code) == (502, "UpstreamError")
    assert_generic(error)
    assert "EndpointConnectionError" in error.detail


def test_an_error_is_one_bounded_line_in_its_envelope() -> None:
    error = ApiError(418, "Teapot", "first line\nsecond   line " + "x" * 600, detail="d\n" * 3000)

    assert error.body("request-1") == {"error": {"code": "Teapot", "message": error.message, "requestId": "request-1"}}
    assert error.message.startswith("first line second line x")
    assert len(error.message) == 500
    assert error.message.endswith("…")
    assert "\n" not in error.detail
    assert len(error.detail) == 2000
