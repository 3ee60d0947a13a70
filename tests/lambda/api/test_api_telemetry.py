"""The metric the Bedrock throttles alarm watches: every throttled upstream call, whatever the route or function."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber

from .api_fakes import HAIKU, NOVA, SONNET, converse_params, converse_response, rest_event

Call = Callable[[dict[str, Any]], dict[str, Any]]
HELLO = [("user", "Hi")]


def throttle_counts(output: str) -> list[tuple[list[list[str]], dict[str, str], float]]:
    """The UpstreamThrottles EMF records printed: their dimension sets, dimension values and value."""
    records = []
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        if any(metric["Name"] == "UpstreamThrottles" for metric in directive["Metrics"]):
            dimensions = {name: blob[name] for names in directive["Dimensions"] for name in names}
            records.append((directive["Dimensions"], dimensions, float(blob["UpstreamThrottles"][0])))
    return records


def test_a_throttled_chat_is_counted_under_the_service_alone(
    call: Call, runtime_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime_stub.add_client_error("converse", "ThrottlingException", "Slow down.", http_status_code=429)

    response = call(rest_event("POST", "/chat", {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}]}))

    assert response["statusCode"] == 429
    assert throttle_counts(capsys.readouterr().out) == [([["service"]], {"service": "genai-api"}, 1.0)]


def test_each_throttled_model_of_a_compare_counts(
    call: Call, runtime_stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime_stub.add_client_error("converse", "ThrottlingException", "Slow down.", http_status_code=429)
    runtime_stub.add_response("converse", converse_response("Hi"), converse_params(SONNET, HELLO))
    runtime_stub.add_client_error("converse", "ThrottlingException", "Slow down.", http_status_code=429)

    response = call(rest_event("POST", "/compare", {"models": [HAIKU, SONNET, NOVA], "prompt": "Hi"}))

    assert response["statusCode"] == 200
    assert throttle_counts(capsys.readouterr().out) == [([["service"]], {"service": "genai-api"}, 2.0)]


def test_other_errors_are_not_counted(call: Call, runtime_stub: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    runtime_stub.add_client_error("converse", "ValidationException", "No.", http_status_code=400)

    call(rest_event("POST", "/chat", {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}]}))

    assert throttle_counts(capsys.readouterr().out) == []
