"""The status tools: the time in a zone at a fixed moment, and the knowledge base's latest sync."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

import pytest
from agent_tools import status
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from .agent_tools_fakes import (
    ACCOUNT,
    DENIED_MESSAGE,
    DS_ID,
    KB_ID,
    LogLines,
    gateway_context,
    job_summary,
    list_jobs_params,
)

CURRENT_TIME = "status___current_time"
KB_STATUS = "status___knowledge_base_status"
UNAVAILABLE = "unavailable right now"


def time_in(tools: ModuleType, zone: str | None) -> dict[str, Any]:
    arguments = {} if zone is None else {"timezone": zone}
    result: dict[str, Any] = tools.status_tools(arguments, gateway_context(CURRENT_TIME))
    return result


@pytest.mark.parametrize("zone", [None, "UTC", "utc"])
def test_the_time_in_utc(tools: ModuleType, zone: str | None) -> None:
    assert time_in(tools, zone) == {
        "timezone": "UTC",
        "iso": "2025-03-14T15:09:26+00:00",
        "weekday": "Friday",
        "utc_offset": "+00:00",
    }


def test_utc_needs_no_time_zone_data(tools: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_data(key: str) -> Any:
        raise ZoneInfoNotFoundError(key)

    monkeypatch.setattr(status, "ZoneInfo", no_data)
    monkeypatch.setattr(status, "available_timezones", set)

    assert time_in(tools, "UTC")["iso"] == "2025-03-14T15:09:26+00:00"


@pytest.mark.parametrize(
    ("zone", "iso", "weekday", "offset"),
    [
        ("Asia/Tokyo", "2025-03-15T00:09:26+09:00", "Saturday", "+09:00"),
        # Daylight saving time began in New York on 9 March 2025.
        ("America/New_York", "2025-03-14T11:09:26-04:00", "Friday", "-04:00"),
        ("Asia/Kolkata", "2025-03-14T20:39:26+05:30", "Friday", "+05:30"),
        ("America/St_Johns", "2025-03-14T12:39:26-02:30", "Friday", "-02:30"),
        ("Pacific/Chatham", "2025-03-15T04:54:26+13:45", "Saturday", "+13:45"),
        ("Pacific/Pago_Pago", "2025-03-14T04:09:26-11:00", "Friday", "-11:00"),
    ],
)
def test_the_time_in_a_named_zone(tools: ModuleType, zone: str, iso: str, weekday: str, offset: str) -> None:
    assert time_in(tools, zone) == {"timezone": zone, "iso": iso, "weekday": weekday, "utc_offset": offset}


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "Europe", "Europe/", "../etc/passwd", "/etc/localtime", "Europe/Paris\x00"]
)
def test_an_unknown_zone_is_an_error(tools: ModuleType, zone: str) -> None:
    result = time_in(tools, zone)

    assert set(result) == {"error"}
    assert json.dumps(zone) in result["error"]
    assert "UTC" in result["error"]


def test_a_runtime_without_time_zone_data_says_so(tools: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_data(key: str) -> Any:
        raise ZoneInfoNotFoundError(key)

    with monkeypatch.context() as patch:
        patch.setattr(status, "ZoneInfo", no_data)
        patch.setattr(status, "available_timezones", set)
        unavailable = time_in(tools, "Europe/Paris")
    unknown = time_in(tools, "Mars/Olympus_Mons")

    assert set(unavailable) == {"error"}
    assert '"Europe/Paris"' in unavailable["error"]
    assert "time zone data" in unavailable["error"]
    assert "time zone data" not in unknown["error"]


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (timedelta(0), "+00:00"),
        (timedelta(hours=5, minutes=45), "+05:45"),
        (timedelta(hours=-3, minutes=-30), "-03:30"),
        (timedelta(minutes=-1), "-00:01"),
        (timedelta(hours=-10), "-10:00"),
        (timedelta(hours=14), "+14:00"),
    ],
)
def test_utc_offset(offset: timedelta, expected: str) -> None:
    assert status.utc_offset(datetime(2025, 1, 1, tzinfo=timezone(offset))) == expected


def test_the_latest_sync(tools: ModuleType, agent_stub: Stubber) -> None:
    agent_stub.add_response("list_ingestion_jobs", {"ingestionJobSummaries": [job_summary()]}, list_jobs_params())

    assert tools.status_tools({}, gateway_context(KB_STATUS)) == {
        "status": "COMPLETE",
        "started_at": "2025-03-14T15:09:26+00:00",
        "updated_at": "2025-03-14T15:11:31+00:00",
        "statistics": {
            "documents_scanned": 12,
            "new_documents_indexed": 3,
            "modified_documents_indexed": 2,
            "documents_deleted": 1,
            "documents_failed": 7,
        },
    }


def test_a_sync_in_progress_without_statistics(agent_stub: Stubber) -> None:
    job = job_summary(status="IN_PROGRESS")
    del job["statistics"]
    agent_stub.add_response("list_ingestion_jobs", {"ingestionJobSummaries": [job]}, list_jobs_params())

    result = status.knowledge_base_status(agent_stub.client, KB_ID, DS_ID)

    assert result["status"] == "IN_PROGRESS"
    assert set(result["statistics"].values()) == {0}


def test_a_knowledge_base_never_synced(tools: ModuleType, agent_stub: Stubber) -> None:
    agent_stub.add_response("list_ingestion_jobs", {"ingestionJobSummaries": []}, list_jobs_params())

    assert tools.status_tools({}, gateway_context(KB_STATUS)) == {"status": "NEVER_SYNCED"}


@pytest.mark.parametrize(
    ("code", "http_status"),
    [
        ("ThrottlingException", 429),
        ("TooManyRequestsException", 429),
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 500),
    ],
)
def test_a_busy_service_is_unavailable_right_now(
    tools: ModuleType, agent_stub: Stubber, code: str, http_status: int
) -> None:
    agent_stub.add_client_error("list_ingestion_jobs", code, DENIED_MESSAGE, http_status, list_jobs_params())

    result = tools.status_tools({}, gateway_context(KB_STATUS))

    assert set(result) == {"error"}
    assert UNAVAILABLE in result["error"]
    assert_no_aws_details(result["error"])


@pytest.mark.parametrize(
    ("code", "http_status"),
    [("AccessDeniedException", 403), ("ResourceNotFoundException", 404), ("ValidationException", 400)],
)
def test_a_refusal_is_a_generic_error_and_the_details_go_to_the_log(
    tools: ModuleType, agent_stub: Stubber, log_lines: LogLines, code: str, http_status: int
) -> None:
    agent_stub.add_client_error("list_ingestion_jobs", code, DENIED_MESSAGE, http_status, list_jobs_params())

    result = tools.status_tools({}, gateway_context(KB_STATUS))

    assert set(result) == {"error"}
    assert UNAVAILABLE not in result["error"]
    assert_no_aws_details(result["error"])
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert [(line["tool"], code in line["error"], DENIED_MESSAGE in line["error"]) for line in errors] == [
        (KB_STATUS, True, True)
    ]


class Unreachable:
    """A bedrock-agent client whose endpoint cannot be reached, or does not answer in time."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def list_ingestion_jobs(self, **kwargs: Any) -> dict[str, Any]:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://bedrock-agent.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://bedrock-agent.us-east-1.amazonaws.com"),
    ],
)
def test_an_unreachable_service_is_an_error(error: Exception) -> None:
    result = status.knowledge_base_status(Unreachable(error), KB_ID, DS_ID)

    assert set(result) == {"error"}
    assert "amazonaws.com" not in result["error"]


def assert_no_aws_details(message: str) -> None:
    assert "arn:" not in message
    assert ACCOUNT not in message
    assert "not authorized" not in message
    assert "Exception" not in message


@pytest.mark.parametrize(("knowledge_base", "data_source"), [("", DS_ID), (KB_ID, "")])
def test_without_its_ids_the_status_says_so_and_calls_nothing(knowledge_base: str, data_source: str) -> None:
    never = Unreachable(AssertionError("no call expected"))

    assert status.knowledge_base_status(never, knowledge_base, data_source) == {
        "error": "The knowledge base status is not configured."
    }
