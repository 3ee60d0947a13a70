"""Counting how ingestion jobs ended, on the schedule that stands in for the job events Bedrock does not send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from ingestion.outcomes import FINAL_STATUSES, Outcomes, Window, job_outcomes, window_before, window_minutes

from .ingestion_fakes import (
    DS_ID,
    KB_ID,
    WINDOW_END,
    WINDOW_START,
    LogLines,
    RecordingSleep,
    failed_job,
    get_job_params,
    history_params,
    job,
    jobs_page,
    scheduled_event,
)

MICROSECOND = timedelta(microseconds=1)


def at(minutes: float) -> datetime:
    """A moment `minutes` after the start of the 00:00-00:15 window counted by the 00:15 run."""
    return WINDOW_START + timedelta(minutes=minutes)


def count(client: Any, sleep: RecordingSleep) -> Outcomes:
    return job_outcomes(scheduled_event(), client, KB_ID, DS_ID, minutes=15, sleep=sleep)


def counts(outcomes: Outcomes) -> tuple[int, int, int, int]:
    """(complete, failed, stopped, documents failed)."""
    return outcomes.complete, outcomes.failed, outcomes.stopped, outcomes.documents_failed


@pytest.fixture(scope="module")
def service_model() -> Any:
    return botocore.session.get_session().get_service_model("bedrock-agent")


def test_the_requests_use_values_of_the_service_model(service_model: Any) -> None:
    sort_by = service_model.shape_for("IngestionJobSortBy")
    max_results = service_model.operation_model("ListIngestionJobs").input_shape.members["maxResults"]
    params = history_params()

    assert params["sortBy"]["attribute"] in sort_by.members["attribute"].enum
    assert params["sortBy"]["order"] in sort_by.members["order"].enum
    assert max_results.metadata["min"] <= params["maxResults"] <= max_results.metadata["max"]
    assert set(FINAL_STATUSES) <= set(service_model.shape_for("IngestionJobStatus").enum)
    assert "numberOfDocumentsFailed" in service_model.shape_for("IngestionJobStatistics").members
    # A summary has no failure reasons: only GetIngestionJob returns them.
    assert "failureReasons" not in service_model.shape_for("IngestionJobSummary").members
    assert "failureReasons" in service_model.shape_for("IngestionJob").members


@pytest.mark.parametrize(
    ("updated", "counted"),
    [
        pytest.param(WINDOW_START - MICROSECOND, False, id="just-before-start"),
        pytest.param(WINDOW_START, True, id="at-start"),
        pytest.param(WINDOW_END - MICROSECOND, True, id="just-before-end"),
        pytest.param(WINDOW_END, False, id="at-end"),
    ],
)
def test_a_job_counts_in_the_window_it_ended_in(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, updated: datetime, counted: bool
) -> None:
    page = jobs_page(job("JOB0000001", "COMPLETE", started=at(-5), updated=updated))
    stubber.add_response("list_ingestion_jobs", page, history_params())

    assert count(bedrock_client, sleep).complete == int(counted)


def test_each_final_state_has_its_count(bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep) -> None:
    stopped = job("JOB0000003", "STOPPED", started=at(8), updated=at(9))
    failed = job("JOB0000004", "FAILED", started=at(5), updated=at(6))
    page = jobs_page(
        job("JOB0000001", "IN_PROGRESS", started=at(13), updated=at(14)),
        job("JOB0000002", "COMPLETE", started=at(10), updated=at(12)),
        stopped,
        failed,
        job("JOB0000005", "COMPLETE", started=at(-1), updated=at(2)),
    )
    stubber.add_response("list_ingestion_jobs", page, history_params())
    stubber.add_response(
        "get_ingestion_job", failed_job(failed, "The data source could not be read."), get_job_params("JOB0000004")
    )

    assert counts(count(bedrock_client, sleep)) == (2, 1, 1, 0)


@pytest.mark.parametrize("status", ["STARTING", "IN_PROGRESS", "STOPPING"])
def test_jobs_still_running_are_not_counted(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, status: str
) -> None:
    # A running job's statistics are partial: its failed documents count once it has ended.
    page = jobs_page(job("JOB0000001", status, started=at(-3), updated=at(7), documents_failed=3))
    stubber.add_response("list_ingestion_jobs", page, history_params())

    assert counts(count(bedrock_client, sleep)) == (0, 0, 0, 0)


def test_no_jobs_at_all_counts_zeros(bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep) -> None:
    stubber.add_response("list_ingestion_jobs", jobs_page(), history_params())

    outcomes = count(bedrock_client, sleep)

    assert outcomes.metrics == {
        "IngestionJobsComplete": 0,
        "IngestionJobsFailed": 0,
        "IngestionJobsStopped": 0,
        "IngestionDocumentsFailed": 0,
    }
    assert outcomes.window == Window(start=WINDOW_START, end=WINDOW_END)


def test_pages_are_read_until_a_job_started_before_the_window(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep
) -> None:
    failed = job("JOB0000002", "FAILED", started=at(8), updated=at(9))
    first = jobs_page(job("JOB0000001", "COMPLETE", started=at(12), updated=at(13)), failed, next_page="page-2")
    # Started before the window and ended in it: counted, and no job older than it can have ended in the window.
    second = jobs_page(
        job("JOB0000003", "COMPLETE", started=at(-40), updated=at(1)),
        job("JOB0000004", "COMPLETE", started=at(-50), updated=at(-41)),
        next_page="page-3",
    )
    stubber.add_response("list_ingestion_jobs", first, history_params())
    stubber.add_response("list_ingestion_jobs", second, history_params("page-2"))
    stubber.add_response(
        "get_ingestion_job", failed_job(failed, "Embedding model access denied."), get_job_params("JOB0000002")
    )

    assert counts(count(bedrock_client, sleep)) == (2, 1, 0, 0)


def test_the_last_page_ends_the_listing(bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep) -> None:
    stubber.add_response(
        "list_ingestion_jobs",
        jobs_page(job("JOB0000001", "COMPLETE", started=at(10), updated=at(11)), next_page="page-2"),
        history_params(),
    )
    stubber.add_response(
        "list_ingestion_jobs",
        jobs_page(job("JOB0000002", "STOPPED", started=at(2), updated=at(3))),
        history_params("page-2"),
    )

    assert counts(count(bedrock_client, sleep)) == (1, 0, 1, 0)


def test_a_failed_job_is_logged_with_its_bounded_reasons(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, log_lines: LogLines
) -> None:
    failed = job("JOB0000001", "FAILED", started=at(3), updated=at(4), documents_failed=2)
    reasons = ["Access denied\n  to the embedding model.", "x" * 3000, *(f"reason {n}" for n in range(3, 9))]
    stubber.add_response("list_ingestion_jobs", jobs_page(failed), history_params())
    stubber.add_response("get_ingestion_job", failed_job(failed, *reasons), get_job_params("JOB0000001"))

    count(bedrock_client, sleep)

    (line,) = [line for line in log_lines() if line["level"] == "ERROR"]
    assert line["message"] == "Ingestion job failed"
    assert line["ingestion_job_id"] == "JOB0000001"
    assert line["failure_reasons"] == [
        "Access denied to the embedding model.",
        "x" * 500,
        "reason 3",
        "reason 4",
        "reason 5",
    ]
    assert line["failure_reason_count"] == 8
    assert (line["documents_failed"], line["description"]) == (2, "2 document change(s) from S3")
    assert (line["started_at"], line["updated_at"]) == ("2025-01-01T00:03:00+00:00", "2025-01-01T00:04:00+00:00")
    assert (line["knowledge_base_id"], line["data_source_id"]) == (KB_ID, DS_ID)


def test_failed_documents_are_summed_and_their_jobs_named(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, log_lines: LogLines
) -> None:
    failed = job("JOB0000002", "FAILED", started=at(5), updated=at(6), documents_failed=2)
    page = jobs_page(
        job("JOB0000001", "COMPLETE", started=at(10), updated=at(11), documents_failed=3),
        failed,
        job("JOB0000003", "COMPLETE", started=at(1), updated=at(2)),
    )
    stubber.add_response("list_ingestion_jobs", page, history_params())
    stubber.add_response("get_ingestion_job", failed_job(failed, "Some files failed."), get_job_params("JOB0000002"))

    assert counts(count(bedrock_client, sleep)) == (2, 1, 0, 5)
    warnings = [line for line in log_lines() if line["level"] == "WARNING"]
    assert [(line["ingestion_job_id"], line["status"], line["documents_failed"]) for line in warnings] == [
        ("JOB0000001", "COMPLETE", 3)
    ]


def test_the_outcomes_are_logged_with_their_window(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, log_lines: LogLines
) -> None:
    page = jobs_page(job("JOB0000001", "STOPPED", started=at(1), updated=at(2)))
    stubber.add_response("list_ingestion_jobs", page, history_params())

    count(bedrock_client, sleep)

    (line,) = [line for line in log_lines() if line["message"] == "Ingestion job outcomes"]
    assert (line["window_start"], line["window_end"]) == ("2025-01-01T00:00:00+00:00", "2025-01-01T00:15:00+00:00")
    assert (line["IngestionJobsStopped"], line["IngestionJobsComplete"], line["IngestionJobsFailed"]) == (1, 0, 0)


def test_throttling_is_retried(bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep) -> None:
    for _ in range(2):
        stubber.add_client_error("list_ingestion_jobs", "ThrottlingException", "slow down", 429, history_params())
    stubber.add_response(
        "list_ingestion_jobs", jobs_page(job("JOB0000001", "COMPLETE", started=at(1), updated=at(2))), history_params()
    )

    assert count(bedrock_client, sleep).complete == 1
    assert len(sleep.delays) == 2


@pytest.mark.parametrize("operation", ["list_ingestion_jobs", "get_ingestion_job"])
def test_a_bedrock_error_is_logged_and_raised(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, log_lines: LogLines, operation: str
) -> None:
    if operation == "get_ingestion_job":
        stubber.add_response(
            "list_ingestion_jobs",
            jobs_page(job("JOB0000001", "FAILED", started=at(1), updated=at(2))),
            history_params(),
        )
        stubber.add_client_error(operation, "AccessDeniedException", "not\nallowed", 403, get_job_params("JOB0000001"))
    else:
        stubber.add_client_error(operation, "AccessDeniedException", "not\nallowed", 403, history_params())

    with pytest.raises(ClientError, match="AccessDeniedException"):
        count(bedrock_client, sleep)
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert [(line["message"], line["error"]) for line in errors] == [
        ("Could not read the ingestion jobs", "AccessDeniedException: not allowed")
    ]


@pytest.mark.parametrize(
    ("time", "minutes", "start", "end"),
    [
        pytest.param("2025-01-01T00:15:00Z", 15, WINDOW_START, WINDOW_END, id="on-time"),
        pytest.param("2025-01-01T00:15:42Z", 15, WINDOW_START, WINDOW_END, id="late"),
        pytest.param("2025-01-01T00:29:59Z", 15, WINDOW_START, WINDOW_END, id="very-late"),
        pytest.param("2025-01-01T01:15:00+01:00", 15, WINDOW_START, WINDOW_END, id="offset"),
        pytest.param("2025-01-01T00:15:00Z", 5, at(10), WINDOW_END, id="five-minutes"),
        pytest.param("2025-01-01T00:15:00Z", 60, datetime(2024, 12, 31, 23, 0, tzinfo=UTC), WINDOW_START, id="an-hour"),
    ],
)
def test_the_window_ends_at_the_scheduled_minute(time: str, minutes: int, start: datetime, end: datetime) -> None:
    assert window_before(time, minutes) == Window(start=start, end=end)


@pytest.mark.parametrize("time", [None, 1735690500, "", "yesterday", "2025-01-01T00:15:00"])
def test_an_event_without_a_usable_time_is_refused(time: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each bad time has its own message
        window_before(time, 15)


@pytest.mark.parametrize(("text", "minutes"), [("15", 15), ("5", 5), ("60", 60), (" 30 ", 30), ("1", 1)])
def test_window_lengths_that_divide_the_hour_are_accepted(text: str, minutes: int) -> None:
    assert window_minutes(text) == minutes


@pytest.mark.parametrize("text", ["0", "7", "45", "90", "-15", "", "fifteen", "15.0"])
def test_other_window_lengths_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=f"OUTCOME_WINDOW_MINUTES={text!r} is not one of: 1, 2, 3, 4, 5, 6, 10,"):
        window_minutes(text)
