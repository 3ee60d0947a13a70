"""Backoff on throttling."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from ingestion.retry import backoff_delay, call_with_backoff

from .ingestion_fakes import RecordingSleep


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} message"}}, "StartIngestionJob")


class Flaky:
    """Fails with the given error codes, in order, then returns "done"."""

    def __init__(self, *codes: str) -> None:
        self.codes = list(codes)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.codes:
            raise client_error(self.codes.pop(0))
        return "done"


@pytest.mark.parametrize(
    ("retry", "jitter", "expected"),
    [(0, 0.0, 0.5), (0, 0.999, 0.9995), (1, 0.0, 1.0), (2, 0.5, 3.0), (3, 0.0, 4.0), (10, 0.999, 7.996)],
)
def test_backoff_doubles_up_to_the_cap(retry: int, jitter: float, expected: float) -> None:
    assert backoff_delay(retry, jitter) == pytest.approx(expected)


def test_delays_grow_even_with_opposite_jitter() -> None:
    assert backoff_delay(0, 0.999) < backoff_delay(1, 0.0) < backoff_delay(2, 0.0)


def test_throttling_is_retried_with_growing_delays(sleep: RecordingSleep) -> None:
    call = Flaky("ThrottlingException", "ThrottlingException")

    assert call_with_backoff(call, sleep=sleep) == "done"
    assert call.calls == 3
    assert len(sleep.delays) == 2
    assert 0.5 <= sleep.delays[0] < 1.0 <= sleep.delays[1] < 2.0


def test_the_last_throttling_error_propagates(sleep: RecordingSleep) -> None:
    call = Flaky(*["ThrottlingException"] * 4)

    with pytest.raises(ClientError, match="ThrottlingException"):
        call_with_backoff(call, sleep=sleep, jitter=lambda: 0.0)
    assert call.calls == 4
    assert sleep.delays == [0.5, 1.0, 2.0]


def test_other_errors_are_not_retried(sleep: RecordingSleep) -> None:
    call = Flaky("AccessDeniedException")

    with pytest.raises(ClientError, match="AccessDeniedException"):
        call_with_backoff(call, sleep=sleep)
    assert call.calls == 1
    assert sleep.delays == []
