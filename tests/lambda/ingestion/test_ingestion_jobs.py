"""Starting at most one ingestion job, and the idempotency token."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from ingestion.jobs import ACTIVE_STATUSES, Outcome, SyncResult, client_token, sync_data_source

from .ingestion_fakes import (
    DS_ID,
    JOB_ID,
    KB_ID,
    LogLines,
    RecordingSleep,
    list_params,
    no_jobs,
    running_job,
    started_job,
)

TOKEN = "a" * 64
START_PARAMS = {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID, "clientToken": TOKEN, "description": "test sync"}


@pytest.fixture(scope="module")
def service_model() -> Any:
    return botocore.session.get_session().get_service_model("bedrock-agent")


def sync(client: Any, sleep: RecordingSleep) -> SyncResult:
    return sync_data_source(client, KB_ID, DS_ID, token=TOKEN, description="test sync", sleep=sleep)


def test_token_is_the_sha256_of_the_sorted_ids() -> None:
    expected = hashlib.sha256(b"m-1\nm-2\nm-3").hexdigest()

    assert client_token(["m-2", "m-3", "m-1"]) == expected
    assert client_token(["m-3", "m-1", "m-2", "m-1"]) == expected
    assert client_token(["m-1", "m-2"]) != expected


def test_token_satisfies_the_service_model(service_model: Any) -> None:
    shape = service_model.operation_model("StartIngestionJob").input_shape.members["clientToken"]
    token = client_token(["message"])

    assert shape.metadata["min"] <= len(token) <= shape.metadata["max"]
    assert re.fullmatch(shape.metadata["pattern"], token)


def test_the_running_job_filter_uses_values_of_the_service_model(service_model: Any) -> None:
    job_filter = service_model.shape_for("IngestionJobFilter")
    filters = list_params()["filters"]

    assert filters[0]["attribute"] in job_filter.members["attribute"].enum
    assert filters[0]["operator"] in job_filter.members["operator"].enum
    assert set(ACTIVE_STATUSES) <= set(service_model.shape_for("IngestionJobStatus").enum)
    assert list(ACTIVE_STATUSES) == filters[0]["values"]


def test_starts_a_job_when_none_is_running(bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep) -> None:
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), START_PARAMS)

    assert sync(bedrock_client, sleep) == SyncResult(Outcome.STARTED, job_id=JOB_ID)


def test_does_not_start_while_a_job_runs(bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep) -> None:
    stubber.add_response("list_ingestion_jobs", running_job(), list_params())

    assert sync(bedrock_client, sleep) == SyncResult(Outcome.BUSY)


@pytest.mark.parametrize(("code", "status"), [("ConflictException", 409), ("ServiceQuotaExceededException", 402)])
def test_a_concurrent_job_makes_it_busy(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, code: str, status: int
) -> None:
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_client_error("start_ingestion_job", code, "job running", status, expected_params=START_PARAMS)

    assert sync(bedrock_client, sleep) == SyncResult(Outcome.BUSY, error=f"{code}: job running")


def test_throttled_start_is_retried(bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep) -> None:
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    for _ in range(2):
        stubber.add_client_error("start_ingestion_job", "ThrottlingException", "slow down", 429, START_PARAMS)
    stubber.add_response("start_ingestion_job", started_job(), START_PARAMS)

    assert sync(bedrock_client, sleep) == SyncResult(Outcome.STARTED, job_id=JOB_ID)
    assert len(sleep.delays) == 2
    assert sleep.delays[0] < sleep.delays[1]


def test_throttled_list_gives_up_after_four_attempts(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep
) -> None:
    for _ in range(4):
        stubber.add_client_error("list_ingestion_jobs", "ThrottlingException", "slow down", 429, list_params())

    assert sync(bedrock_client, sleep) == SyncResult(Outcome.THROTTLED, error="ThrottlingException: slow down")
    assert len(sleep.delays) == 3


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException", "ValidationException"])
def test_other_errors_fail_and_are_logged(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, log_lines: LogLines, code: str
) -> None:
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_client_error("start_ingestion_job", code, "nope", 400, expected_params=START_PARAMS)

    assert sync(bedrock_client, sleep) == SyncResult(Outcome.FAILED, error=f"{code}: nope")
    assert sleep.delays == []
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert [(line["message"], line["error"], line["knowledge_base_id"]) for line in errors] == [
        ("Could not start ingestion job", f"{code}: nope", KB_ID)
    ]


class Unreachable:
    """A client whose endpoint cannot be reached."""

    def list_ingestion_jobs(self, **kwargs: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://bedrock-agent.us-east-1.amazonaws.com")

    def start_ingestion_job(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("not reached")


def test_connection_errors_fail_without_raising(sleep: RecordingSleep) -> None:
    result = sync(Unreachable(), sleep)

    assert result.outcome is Outcome.FAILED
    assert result.error is not None
    assert result.error.startswith("EndpointConnectionError: ")
