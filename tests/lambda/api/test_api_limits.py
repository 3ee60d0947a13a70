"""The cost bounds: the text a request may carry, and each caller's model calls a minute in the usage table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from api.errors import ApiError
from api.limits import Limiter, characters, check_size
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from .api_fakes import MACHINE, OTHER_PERSON, REGION, USAGE_TABLE, caller

# 2027-01-15T08:00:30Z: thirty seconds into a minute.
NOW = 1_800_000_030.0
MINUTE = 30_000_000
PERSON_ID = caller().id


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def counters(table: Any) -> dict[str, tuple[int, int]]:
    """Every counter in the table: key -> (calls, expires)."""
    return {item["caller_window"]: (int(item["calls"]), int(item["expires"])) for item in table.scan()["Items"]}


def refusal(limiter: Limiter, calls: int = 1, claims: dict[str, str] | None = None) -> ApiError:
    with pytest.raises(ApiError) as raised:
        limiter.spend(caller(claims) if claims else caller(), calls)
    return raised.value


def test_calls_are_counted_per_caller_and_minute(usage_table: Any) -> None:
    limiter = Limiter(usage_table, 3, clock=Clock())

    for _ in range(3):
        limiter.spend(caller())
    limiter.spend(caller(MACHINE), 2)

    assert counters(usage_table) == {
        f"{PERSON_ID}#{MINUTE}": (3, (MINUTE + 2) * 60),
        f"client-{MACHINE['sub']}#{MINUTE}": (2, (MINUTE + 2) * 60),
    }


def test_the_counter_expires_at_the_end_of_the_next_minute(usage_table: Any) -> None:
    Limiter(usage_table, 3, clock=Clock()).spend(caller())

    assert counters(usage_table)[f"{PERSON_ID}#{MINUTE}"][1] == 1_800_000_120


def test_a_spent_budget_is_a_429_that_says_when_to_retry(usage_table: Any) -> None:
    limiter = Limiter(usage_table, 2, clock=Clock())
    limiter.spend(caller(), 2)

    error = refusal(limiter)

    assert (error.status, error.code) == (429, "RateLimited")
    assert error.headers == {"Retry-After": "30"}
    assert "2 model calls a minute" in error.message
    assert "retry after 30 s" in error.message
    assert counters(usage_table)[f"{PERSON_ID}#{MINUTE}"][0] == 2


def test_the_last_second_of_a_minute_retries_after_one_second(usage_table: Any) -> None:
    limiter = Limiter(usage_table, 1, clock=Clock(1_800_000_059.9))
    limiter.spend(caller())

    assert refusal(limiter).headers == {"Retry-After": "1"}


def test_a_new_minute_starts_a_new_budget(usage_table: Any) -> None:
    clock = Clock()
    limiter = Limiter(usage_table, 2, clock=clock)
    limiter.spend(caller(), 2)

    clock.now = NOW + 30
    limiter.spend(caller(), 2)

    assert {key: calls for key, (calls, _) in counters(usage_table).items()} == {
        f"{PERSON_ID}#{MINUTE}": 2,
        f"{PERSON_ID}#{MINUTE + 1}": 2,
    }


def test_a_refusal_is_all_or_nothing(usage_table: Any) -> None:
    limiter = Limiter(usage_table, 4, clock=Clock())
    limiter.spend(caller(), 2)

    refusal(limiter, 3)
    limiter.spend(caller(), 2)

    assert counters(usage_table)[f"{PERSON_ID}#{MINUTE}"][0] == 4
    refusal(limiter, 1)


def test_more_calls_than_the_limit_are_refused_without_a_write(usage_table: Any) -> None:
    error = refusal(Limiter(usage_table, 3, clock=Clock()), 4)

    assert (error.status, error.code) == (429, "RateLimited")
    assert counters(usage_table) == {}


def test_callers_have_budgets_of_their_own(usage_table: Any) -> None:
    limiter = Limiter(usage_table, 1, clock=Clock())
    limiter.spend(caller())

    refusal(limiter)
    limiter.spend(caller(OTHER_PERSON))
    limiter.spend(caller(MACHINE))

    assert len(counters(usage_table)) == 3


@pytest.fixture
def table_stub() -> Iterator[tuple[Any, Stubber]]:
    """The usage table through a stubbed DynamoDB client, to answer with errors moto cannot make."""
    table = boto3.resource(
        "dynamodb",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy credential; the Stubber answers every call
    ).Table(USAGE_TABLE)
    with Stubber(table.meta.client) as stub:
        yield table, stub
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "http_status", "expected"),
    [
        ("ProvisionedThroughputExceededException", 400, (429, "Throttled", "5")),
        ("ThrottlingException", 400, (429, "Throttled", "5")),
        ("RequestLimitExceeded", 400, (429, "Throttled", "5")),
        ("InternalServerError", 500, (502, "UpstreamError", None)),
        ("ResourceNotFoundException", 400, (500, "Misconfigured", None)),
        ("AccessDeniedException", 400, (500, "Misconfigured", None)),
        ("ValidationException", 400, (500, "Misconfigured", None)),
    ],
)
def test_a_table_error_is_an_api_error(
    table_stub: tuple[Any, Stubber], code: str, http_status: int, expected: tuple[int, str, str | None]
) -> None:
    table, stub = table_stub
    message = f"Requested resource not found: arn:aws:dynamodb:{REGION}:123456789012:table/{USAGE_TABLE}"
    stub.add_client_error("update_item", code, message, http_status_code=http_status)

    error = refusal(Limiter(table, 3, clock=Clock()))

    assert (error.status, error.code, error.headers.get("Retry-After")) == expected
    assert USAGE_TABLE not in error.message
    assert "arn:" not in error.message
    assert error.detail == f"{code}: {message}"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ReadTimeoutError(endpoint_url=f"https://dynamodb.{REGION}.amazonaws.com/"), (504, "Timeout")),
        (EndpointConnectionError(endpoint_url=f"https://dynamodb.{REGION}.amazonaws.com/"), (502, "UpstreamError")),
    ],
    ids=["timeout", "unreachable"],
)
def test_a_table_that_does_not_answer_is_an_api_error(error: Exception, expected: tuple[int, str]) -> None:
    class Silent:
        def update_item(self, **_: Any) -> None:
            raise error

    refused = refusal(Limiter(Silent(), 3, clock=Clock()))

    assert (refused.status, refused.code) == expected
    assert type(error).__name__ in refused.detail


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ("héllo", 5),
        ({"ab": "cde"}, 5),
        ({"messages": [{"role": "user", "content": "Hi"}]}, 8 + 4 + 4 + 7 + 2),
        ({"n": 12345, "t": True, "f": 1.5, "z": None}, 4),
        ([["a", ["bb", ["ccc"]]]], 6),
        (42, 0),
    ],
)
def test_characters_counts_every_string_and_key(value: object, count: int) -> None:
    assert characters(value) == count


def test_characters_counts_text_at_any_depth() -> None:
    # Text hidden deep inside a filter value still counts: no depth lets a request past the limit.
    nested: object = "x" * 10
    for _ in range(10_000):
        nested = [{"k": nested}]

    assert characters(nested) == 10 + 10_000
    assert characters([[["y"]]]) == 1


def test_a_body_at_the_limit_passes_and_one_more_character_is_too_large() -> None:
    body = {"q": "x" * 9}

    check_size(body, 10)
    with pytest.raises(ApiError) as raised:
        check_size({"q": "x" * 10}, 10)

    error = raised.value
    assert (error.status, error.code) == (413, "TooLarge")
    assert "11 characters" in error.message
    assert "the limit is 10" in error.message
