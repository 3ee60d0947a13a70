"""Retry Bedrock calls on throttling with capped exponential backoff and jitter."""

import random
from collections.abc import Callable
from typing import TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from common.aws_errors import error_code

logger = Logger(child=True)

T = TypeVar("T")

THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})
ATTEMPTS = 4
BASE_DELAY = 1.0
MAX_DELAY = 8.0

Sleep = Callable[[float], None]

_random = random.SystemRandom()


def backoff_delay(retry: int, jitter: float, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Delay before retry number `retry` (from 0): half fixed, half jitter, so delays keep growing."""
    ceiling = min(cap, base * 2.0**retry)
    return ceiling / 2 + ceiling / 2 * jitter


def call_with_backoff(
    call: Callable[[], T],
    *,
    sleep: Sleep,
    attempts: int = ATTEMPTS,
    jitter: Callable[[], float] = _random.random,
) -> T:
    """Run `call`, retrying throttling errors; the last attempt's error propagates."""
    for retry in range(attempts - 1):
        try:
            return call()
        except ClientError as error:
            if error_code(error) not in THROTTLING_CODES:
                raise
            delay = backoff_delay(retry, jitter())
            logger.warning("Throttled, retrying", extra={"attempt": retry + 1, "delay_seconds": round(delay, 3)})
            sleep(delay)
    return call()
