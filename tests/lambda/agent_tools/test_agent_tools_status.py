"""The Status action group through the Lambda handler: exact OpenAPI responses."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any
from zoneinfo import available_timezones

import pytest
from agent_tools import status
from agent_tools.status import StatusDependencies, handle_api_call, utc_offset
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from .agent_tools_fakes import (
    DS_ID,
    KB_ID,
    NOW,
    REQUEST_ID,
    FakeContext,
    api_answer,
    api_event,
    latest_job,
    list_jobs_params,
)

TIME = "/time"
KB_STATUS = "/knowledge-base/status"


def call(module: ModuleType, api_path: str, parameters: dict[str, str] | None = None, **extra: Any) -> Any:
    return module.handler(api_event(api_path, parameters, **extra), FakeContext())


def body(**payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def test_time_defaults_to_utc(tool: ModuleType) -> None:
    assert call(tool, TIME) == api_answer(
        TIME,
        200,
        body(timezone="UTC", iso="2025-03-14T15:09:26+00:00", weekday="Friday", utc_offset="+00:00"),
    )


@pytest.mark.parametrize("name", ["UTC", "utc"])
def test_utc_needs_no_time_zone_data(tool: ModuleType, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(status, "ZoneInfo", None)

    assert json.loads(call(tool, TIME, {"timezone": name})["response"]["responseBody"]["application/json"]["body"]) == {
        "timezone": "UTC",
        "iso": "2025-03-14T15:09:26+00:00",
        "weekday": "Friday",
        "utc_offset": "+00:00",
    }


def test_time_in_a_named_zone(tool: ModuleType) -> None:
    response = call(tool, TIME, {"timezone": "Asia/Tokyo"})

    # Without time zone data (some Lambda runtimes ship none) only UTC works, and the agent is told so.
    if "Asia/Tokyo" in available_timezones():
        expected = body(timezone="Asia/Tokyo", iso="2025-03-15T00:09:26+09:00", weekday="Saturday", utc_offset="+09:00")
        assert response == api_answer(TIME, 200, expected)
    else:
        expected = body(error='Time zone "Asia/Tokyo" is unavailable: this runtime has no time zone data, only UTC.')
        assert response == api_answer(TIME, 400, expected)


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "Europe", "../etc/passwd", "/etc/localtime", "", "Europe/Paris\x00"]
)
def test_unknown_time_zone(tool: ModuleType, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(status, "available_timezones", lambda: {"Europe/Paris"})

    assert call(tool, TIME, {"timezone": name}) == api_answer(
        TIME, 400, body(error=f"Unknown time zone {json.dumps(name)}; use an IANA name such as Europe/Paris, or UTC.")
    )


def test_a_named_zone_without_time_zone_data(tool: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status, "available_timezones", set)
    monkeypatch.setattr(status, "resolve_zone", lambda name: None)

    assert call(tool, TIME, {"timezone": "Europe/Paris"}) == api_answer(
        TIME,
        400,
        body(error='Time zone "Europe/Paris" is unavailable: this runtime has no time zone data, only UTC.'),
    )


def test_an_overlong_time_zone_is_rejected(tool: ModuleType) -> None:
    assert call(tool, TIME, {"timezone": "A" * 65}) == api_answer(
        TIME, 400, body(error="Invalid parameter timezone: must be at most 64 characters long, got 65.")
    )


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (timedelta(0), "+00:00"),
        (timedelta(hours=5, minutes=45), "+05:45"),
        (timedelta(hours=-3, minutes=-30), "-03:30"),
        (timedelta(hours=-10), "-10:00"),
    ],
)
def test_utc_offset(offset: timedelta, expected: str) -> None:
    assert utc_offset(datetime(2025, 1, 1, tzinfo=timezone(offset))) == expected


def test_knowledge_base_status_of_the_latest_job(tool: ModuleType, stubber: Stubber) -> None:
    stubber.add_response("list_ingestion_jobs", latest_job(), list_jobs_params())

    assert call(tool, KB_STATUS) == api_answer(
        KB_STATUS,
        200,
        body(
            status="COMPLETE",
            started_at="2025-03-14T15:09:26+00:00",
            updated_at="2025-03-14T15:11:31+00:00",
            statistics={
                "documents_scanned": 12,
                "new_documents_indexed": 3,
                "modified_documents_indexed": 2,
                "documents_deleted": 1,
                "documents_failed": 1,
            },
        ),
    )


def test_knowledge_base_never_synced(tool: ModuleType, stubber: Stubber) -> None:
    stubber.add_response("list_ingestion_jobs", {"ingestionJobSummaries": []}, list_jobs_params())

    assert call(tool, KB_STATUS) == api_answer(KB_STATUS, 200, body(status="NEVER_SYNCED"))


AWS_ERRORS = {
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ValidationException": 400,
    "ThrottlingException": 429,
    "InternalServerException": 500,
}


@pytest.mark.parametrize(
    ("code", "status_code"),
    [
        ("AccessDeniedException", 502),
        ("ResourceNotFoundException", 502),
        ("ValidationException", 502),
        ("ThrottlingException", 503),
        ("InternalServerException", 503),
    ],
)
def test_knowledge_base_status_errors_are_one_line(
    tool: ModuleType, stubber: Stubber, caplog: pytest.LogCaptureFixture, code: str, status_code: int
) -> None:
    stubber.add_client_error("list_ingestion_jobs", code, "not allowed here", AWS_ERRORS[code], list_jobs_params())

    assert call(tool, KB_STATUS) == api_answer(
        KB_STATUS, status_code, body(error=f"Could not read the knowledge base status: {code}.")
    )
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert errors == [
        json.dumps(
            {"message": "Could not list ingestion jobs", "error": f"{code}: not allowed here"}, separators=(",", ":")
        )
    ]


class Unreachable:
    """A bedrock-agent client whose endpoint cannot be reached."""

    def list_ingestion_jobs(self, **kwargs: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://bedrock-agent.us-east-1.amazonaws.com")


def dependencies(**overrides: Any) -> StatusDependencies:
    values: dict[str, Any] = {
        "bedrock_agent": Unreachable(),
        "knowledge_base_id": KB_ID,
        "data_source_id": DS_ID,
        "now": lambda: NOW,
        **overrides,
    }
    return StatusDependencies(**values)


def test_an_unreachable_bedrock_is_unavailable() -> None:
    assert handle_api_call(api_event(KB_STATUS), dependencies(), request_id=REQUEST_ID) == api_answer(
        KB_STATUS, 503, body(error="Could not reach Bedrock to read the knowledge base status.")
    )


@pytest.mark.parametrize("missing", ["knowledge_base_id", "data_source_id"])
def test_an_unconfigured_knowledge_base_is_unavailable(missing: str) -> None:
    response = handle_api_call(api_event(KB_STATUS), dependencies(**{missing: ""}), request_id=REQUEST_ID)

    assert response == api_answer(KB_STATUS, 503, body(error="The knowledge base status is not configured."))


def test_an_unexpected_error_is_a_500_without_details(caplog: pytest.LogCaptureFixture) -> None:
    def broken_clock() -> datetime:
        raise OSError("clock unavailable")

    response = handle_api_call(api_event(TIME), dependencies(now=broken_clock), request_id=REQUEST_ID)

    assert response == api_answer(
        TIME,
        500,
        body(error=f"The tool failed unexpectedly (request id {REQUEST_ID}); nothing more is known. Try again later."),
    )
    assert [record.exc_info is not None for record in caplog.records if record.levelno == logging.ERROR] == [True]


@pytest.mark.parametrize(
    ("api_path", "method"), [("/weather", "GET"), ("/time", "POST"), ("/knowledge-base", "GET"), ("/Time", "GET")]
)
def test_unknown_operations_are_404(tool: ModuleType, api_path: str, method: str) -> None:
    response = call(tool, api_path, httpMethod=method)

    available = "GET /time, GET /knowledge-base/status"
    assert response == api_answer(
        api_path, 404, body(error=f"No operation {method} {api_path}; the operations are {available}."), method
    )


def test_the_method_is_matched_case_insensitively(tool: ModuleType) -> None:
    assert call(tool, TIME, httpMethod="get")["response"]["httpStatusCode"] == 200


def test_an_unknown_query_parameter_is_400(tool: ModuleType) -> None:
    assert call(tool, TIME, {"zone": "Europe/Paris"}) == api_answer(
        TIME, 400, body(error="Unknown parameter zone for GET /time; it accepts timezone.")
    )


def test_a_parameter_of_an_operation_without_parameters_is_400(tool: ModuleType) -> None:
    assert call(tool, KB_STATUS, {"verbose": "true"}) == api_answer(
        KB_STATUS,
        400,
        body(error="Unknown parameter verbose for GET /knowledge-base/status; it accepts no parameters."),
    )


def test_a_request_body_is_400(tool: ModuleType) -> None:
    request_body = {"content": {"application/json": {"properties": [{"name": "a", "type": "string", "value": "b"}]}}}

    assert call(tool, TIME, requestBody=request_body) == api_answer(
        TIME, 400, body(error="GET /time takes no request body.")
    )
