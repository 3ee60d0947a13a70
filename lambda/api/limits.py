"""Cost bounds per request and per caller: how much text a request may carry, and how many model calls a
caller may make a minute (a /compare of three models is three).

The per-caller budget is a counter per caller and minute in DynamoDB, keyed on the verified identity: API
Gateway's usage plans count API keys, which a Cognito authorizer cannot supply and which name app clients, not
people; WAF cannot read a token's claims. Stage throttling and WAF's per-IP rule stay in front of it.
"""

import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from api.errors import AWS_ERRORS, ApiError, from_aws, misconfigured
from api.identity import Caller
from common.aws_errors import error_code

WINDOW_SECONDS = 60


def characters(value: object) -> int:
    """The characters of text in a JSON value: every string, keys included, at any depth (no recursion)."""
    count = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            count += len(item)
        elif isinstance(item, Mapping):
            count += sum(len(str(key)) for key in item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def check_size(body: Mapping[str, Any], limit: int) -> None:
    """A 413 when the body carries more text than the API lets a request send to a model."""
    count = characters(body)
    if count > limit:
        raise ApiError(
            413,
            "TooLarge",
            f"The request holds {count} characters of text; the limit is {limit}. Send a shorter conversation or "
            "less text.",
        )


class Limiter:
    """At most `per_minute` model calls per caller in each minute, counted in a DynamoDB table (TTL `expires`)."""

    def __init__(self, table: Any, per_minute: int, *, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._per_minute = per_minute
        self._clock = clock

    def spend(self, caller: Caller, calls: int = 1) -> None:
        """Count `calls` for the caller, or refuse them all with a 429 that says when to retry."""
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        retry_after = str(max(1, (window + 1) * WINDOW_SECONDS - int(now)))
        if calls > self._per_minute:
            raise self._refusal(retry_after)
        try:
            self._table.update_item(
                Key={"caller_window": f"{caller.id}#{window}"},
                UpdateExpression="ADD calls :calls SET expires = :expires",
                ConditionExpression="attribute_not_exists(calls) OR calls <= :room",
                ExpressionAttributeValues={
                    ":calls": calls,
                    ":room": self._per_minute - calls,
                    ":expires": (window + 2) * WINDOW_SECONDS,
                },
            )
        except AWS_ERRORS as error:
            if isinstance(error, ClientError) and error_code(error) == "ConditionalCheckFailedException":
                raise self._refusal(retry_after) from None
            mapped = from_aws(error)
            # Nothing the caller sends reaches the table: any refusal but throttling is the deployment's fault.
            if mapped.status < 500 and mapped.status != 429:
                raise misconfigured(mapped.detail) from error
            raise mapped from error

    def _refusal(self, retry_after: str) -> ApiError:
        return ApiError(
            429,
            "RateLimited",
            f"You may make {self._per_minute} model calls a minute (a compare counts one per model); "
            f"retry after {retry_after} s.",
            {"Retry-After": retry_after},
        )
