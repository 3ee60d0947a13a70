"""Settings read once from the environment: the cost bounds, the guardrail, and what a bad value does."""

from __future__ import annotations

import pytest
from api.clients import CLIENT_CONFIG, stream_client_config
from api.config import from_environ
from api.errors import ApiError

from .api_fakes import ENVIRONMENT, GUARDRAIL_ID, GUARDRAIL_VERSION


def test_unset_bounds_fall_back_to_the_documented_defaults() -> None:
    names = ("MAX_TOKENS", "MAX_TOKENS_CEILING", "MAX_REQUEST_CHARACTERS", "CALLER_CALLS_PER_MINUTE")
    environ = {name: value for name, value in ENVIRONMENT.items() if name not in names}

    settings = from_environ(environ)

    assert [settings.limit(name) for name in names] == [1024, 4096, 24_000, 20]
    assert settings.problems == {}


@pytest.mark.parametrize(
    ("default", "ceiling", "asked", "sent"),
    [
        ("1024", "4096", None, 1024),
        ("1024", "4096", 2000, 2000),
        ("1024", "4096", 9000, 4096),
        ("800", "500", None, 500),
    ],
)
def test_max_tokens_is_bounded_by_the_ceiling(default: str, ceiling: str, asked: int | None, sent: int) -> None:
    settings = from_environ({**ENVIRONMENT, "MAX_TOKENS": default, "MAX_TOKENS_CEILING": ceiling})

    assert settings.max_tokens(asked) == sent


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "lots", "1e3"])
def test_an_invalid_bound_is_misconfigured_where_it_is_used(value: str) -> None:
    settings = from_environ({**ENVIRONMENT, "MAX_TOKENS_CEILING": value})

    with pytest.raises(ApiError) as raised:
        settings.max_tokens(100)

    error = raised.value
    assert (error.status, error.code) == (500, "Misconfigured")
    assert "MAX_TOKENS_CEILING" not in error.message
    assert error.detail == f"MAX_TOKENS_CEILING={value!r} is not a positive whole number"
    assert settings.limit("MAX_TOKENS") == 1024


def test_a_streamed_answer_is_checked_before_it_is_sent() -> None:
    settings = from_environ(ENVIRONMENT)

    buffered = {"guardrailIdentifier": GUARDRAIL_ID, "guardrailVersion": GUARDRAIL_VERSION, "trace": "enabled"}
    assert settings.guardrail() == buffered
    assert settings.guardrail(stream=True) == {**buffered, "streamProcessingMode": "sync"}


def test_the_blocked_message_has_a_default() -> None:
    environ = {name: value for name, value in ENVIRONMENT.items() if name != "BLOCKED_OUTPUT_MESSAGE"}

    assert from_environ(environ).blocked_message == "Sorry, I can't share that answer."
    assert from_environ(ENVIRONMENT).blocked_message == ENVIRONMENT["BLOCKED_OUTPUT_MESSAGE"]


def test_settings_are_trimmed_and_blank_ones_are_missing() -> None:
    settings = from_environ({**ENVIRONMENT, "SYSTEM_PROMPT": "  Be brief.\n", "KNOWLEDGE_BASE_ID": "   "})

    assert settings.get("SYSTEM_PROMPT") == "Be brief."
    with pytest.raises(ApiError) as raised:
        settings.get("KNOWLEDGE_BASE_ID")
    assert raised.value.detail == "KNOWLEDGE_BASE_ID is not set"


def test_the_streaming_function_waits_for_silent_streams_almost_as_long_as_it_may_run() -> None:
    # A tool call or a long thought leaves the stream silent; the buffered function's 22 s would end it.
    config = stream_client_config(300)

    assert config.read_timeout == 285
    assert config.read_timeout > CLIENT_CONFIG.read_timeout
    assert config.retries == CLIENT_CONFIG.retries
    assert stream_client_config(20).read_timeout == 10
