"""The API's errors: one envelope for every failure, and the mapping of Bedrock's errors onto HTTP statuses."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from urllib3.exceptions import ReadTimeoutError as StreamReadTimeoutError

from common.aws_errors import error_code, error_message

MAX_MESSAGE_LENGTH = 500
RETRY_AFTER_SECONDS = "5"

# What a Bedrock call can raise that is mapped to a status: service errors, and timeouts. A read timeout while
# an event stream is read comes from urllib3 itself, unwrapped by botocore.
BEDROCK_ERRORS = (ClientError, ReadTimeoutError, ConnectTimeoutError, StreamReadTimeoutError)
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException", "ModelNotReadyException"}
)
TIMEOUT_ADVICE = (
    "The function has 28 s, under API Gateway's 29 s integration timeout: ask for a smaller maxTokens or use a "
    "faster model, switch the route to response streaming, or raise the integration timeout (a Service Quotas "
    "request) together with the function timeout."
)


def one_line(text: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """Collapse text to one bounded line."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ApiError(Exception):
    """An error the API answers with `{"error": {"code", "message", "requestId"}}`."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.code = code
        self.message = one_line(message)
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON envelope of the error."""
        return {"error": {"code": self.code, "message": self.message, "requestId": request_id}}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def misconfigured(message: str) -> ApiError:
    return ApiError(500, "Misconfigured", message)


def internal_error(request_id: str) -> ApiError:
    return ApiError(500, "InternalError", f"The request failed unexpectedly; quote request id {request_id}.")


@dataclass(frozen=True)
class Target:
    """What a Bedrock call was about, to turn its errors into messages that say what to fix."""

    resource: str
    access: str


# The status and API code of each Bedrock error code with a status of its own; the message says what to do.
CLIENT_ERRORS: dict[str, tuple[int, str, Callable[[Target, str], str]]] = {
    "ValidationException": (400, "ValidationError", lambda _, detail: f"Bedrock rejected the request: {detail}"),
    "AccessDeniedException": (403, "AccessDenied", lambda t, _: f"Bedrock denied access to {t.resource}: {t.access}"),
    "ResourceNotFoundException": (
        404,
        "ResourceNotFound",
        lambda t, _: f"Bedrock could not find {t.resource} in this region.",
    ),
    "ConflictException": (409, "Conflict", lambda t, detail: f"Bedrock reported a conflict on {t.resource}: {detail}"),
    **{
        code: (
            429,
            "Throttled",
            lambda t, _: f"Bedrock is throttling requests to {t.resource}; retry after {RETRY_AFTER_SECONDS} s.",
        )
        for code in THROTTLING_CODES
    },
    "ModelTimeoutException": (
        504,
        "Timeout",
        lambda t, _: f"The model took too long to answer ({t.resource}). {TIMEOUT_ADVICE}",
    ),
}


def _from_client_error(error: ClientError, target: Target) -> ApiError:
    code = error_code(error)
    if code not in CLIENT_ERRORS:
        return ApiError(500, "InternalError", f"Bedrock failed with {code or 'an unknown error'} on {target.resource}.")
    status, api_code, message = CLIENT_ERRORS[code]
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 429 else {}
    return ApiError(status, api_code, message(target, error_message(error)), headers)


def from_bedrock(error: BaseException, target: Target) -> ApiError:
    """The API error for an exception of BEDROCK_ERRORS raised by a call about `target`."""
    if isinstance(error, ClientError):
        return _from_client_error(error, target)
    if isinstance(error, ConnectTimeoutError):
        message = f"Could not connect to Bedrock in time ({target.resource}); check the VPC endpoints. "
        return ApiError(504, "Timeout", message + TIMEOUT_ADVICE)
    return ApiError(504, "Timeout", f"Bedrock did not answer in time ({target.resource}). {TIMEOUT_ADVICE}")


def response(error: ApiError, request_id: str) -> dict[str, Any]:
    """A REST API proxy response for an error, for requests the resolver cannot take."""
    headers = {"Content-Type": "application/json", **error.headers}
    return {
        "statusCode": error.status,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "body": json.dumps(error.body(request_id), separators=(",", ":")),
        "isBase64Encoded": False,
    }
