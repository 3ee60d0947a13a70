"""The API's errors: one envelope for every failure, and the mapping of AWS errors onto what a caller sees.

A caller sees a stable code, a message that says what *they* can change, and the request id. What the
operators need (the upstream code and message, resource names, account ids) goes to the logs under that
request id only: ApiError.detail.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from urllib3.exceptions import ReadTimeoutError as StreamReadTimeoutError

from common.aws_errors import describe, error_code

MAX_MESSAGE_LENGTH = 500
RETRY_AFTER_SECONDS = "5"

# What an AWS call can raise that is mapped to a status: service errors, parameters the service model refuses,
# an endpoint that cannot be reached, and timeouts. A read timeout while an event stream is read comes from
# urllib3 itself, unwrapped by botocore.
AWS_ERRORS = (
    ClientError,
    ParamValidationError,
    EndpointConnectionError,
    ReadTimeoutError,
    ConnectTimeoutError,
    StreamReadTimeoutError,
)


PARAMETER = re.compile(r"parameter (?:in )?([A-Za-z0-9_.\[\]]+)")


def one_line(text: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """Collapse text to one bounded line."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ApiError(Exception):
    """An error the API answers with `{"error": {"code", "message", "requestId"}}`; `detail` is for the logs."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        detail: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = one_line(message)
        self.headers = dict(headers or {})
        self.detail = one_line(detail, 2000)
        super().__init__(self.message)

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON envelope of the error."""
        return {"error": {"code": self.code, "message": self.message, "requestId": request_id}}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def misconfigured(detail: str) -> ApiError:
    return ApiError(500, "Misconfigured", "The API is misconfigured; the operators have the details.", detail=detail)


def internal_error(request_id: str) -> ApiError:
    return ApiError(500, "InternalError", f"The request failed unexpectedly; quote request id {request_id}.")


@dataclass(frozen=True)
class Mapped:
    status: int
    code: str
    message: str


THROTTLED = Mapped(
    429, "Throttled", f"Too many requests reach the model right now; retry after {RETRY_AFTER_SECONDS} s."
)
TIMEOUT = Mapped(
    504,
    "Timeout",
    "The answer took longer than the API waits for; ask for fewer tokens or use a faster model (the /stream "
    "routes wait longer).",
)
UPSTREAM = Mapped(502, "UpstreamError", "The model or service behind the API failed; retry in a moment.")
# Each AWS error code with a status of its own; the messages name nothing the caller cannot see.
CLIENT_ERRORS: dict[str, Mapped] = {
    "ValidationException": Mapped(
        400, "BadRequest", "The model or service rejected a value of the request; check what you sent."
    ),
    "AccessDeniedException": Mapped(
        403, "AccessDenied", "The API may not use this model or resource right now; tell the operators."
    ),
    "ResourceNotFoundException": Mapped(
        404, "NotFound", "The model, knowledge base or conversation is not available in this deployment."
    ),
    "ConflictException": Mapped(409, "Conflict", "The conversation is busy with another request; retry in a moment."),
    "ThrottlingException": THROTTLED,
    "ServiceQuotaExceededException": THROTTLED,
    "TooManyRequestsException": THROTTLED,
    "ModelNotReadyException": THROTTLED,
    "ModelTimeoutException": TIMEOUT,
    # DynamoDB's throttling (the usage and tickets tables): HTTP 400 on the wire, yet nothing the caller can fix.
    "ProvisionedThroughputExceededException": THROTTLED,
    "RequestLimitExceeded": THROTTLED,
    # 424s: the model, a dependency of the knowledge base or the agent's runtime failed, not the caller's request.
    "ModelErrorException": UPSTREAM,
    "DependencyFailedException": UPSTREAM,
    "RuntimeClientError": UPSTREAM,
}


def from_aws(error: BaseException) -> ApiError:
    """The API error for an exception of AWS_ERRORS; the upstream details stay in `detail`."""
    detail = describe(error)
    if isinstance(error, ParamValidationError):
        # botocore names the parameter; only its path is repeated (the filter's, in practice).
        match = PARAMETER.search(str(error))
        where = match.group(1) if match else "a parameter"
        return ApiError(400, "BadRequest", f"The service does not accept {where} as sent.", detail=detail)
    if isinstance(error, ClientError):
        mapped = CLIENT_ERRORS.get(error_code(error))
        if mapped is None:
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            mapped = CLIENT_ERRORS["ValidationException"] if 400 <= status < 500 else UPSTREAM
        headers = {"Retry-After": RETRY_AFTER_SECONDS} if mapped.status == 429 else {}
        return ApiError(mapped.status, mapped.code, mapped.message, headers, detail=detail)
    if isinstance(error, EndpointConnectionError):
        # No route to the service (a missing VPC endpoint, a region without it): the deployment's to fix.
        return ApiError(UPSTREAM.status, UPSTREAM.code, UPSTREAM.message, detail=detail)
    return ApiError(TIMEOUT.status, TIMEOUT.code, TIMEOUT.message, detail=detail)
