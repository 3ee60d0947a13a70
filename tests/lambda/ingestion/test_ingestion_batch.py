"""One ingestion job per SQS batch of EventBridge document changes, and the partial batch response."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from botocore.stub import Stubber
from ingestion.batch import BatchResponse, process_batch

from .ingestion_fakes import (
    DS_ID,
    KB_ID,
    LogLines,
    RecordingClient,
    RecordingSleep,
    document_message,
    eventbridge_event,
    list_params,
    no_jobs,
    running_job,
    sqs_event,
    sqs_message,
    started_job,
)


def token_of(*message_ids: str) -> str:
    """The clientToken the function should send, computed independently."""
    return hashlib.sha256("\n".join(sorted(message_ids)).encode()).hexdigest()


def start_params(*message_ids: str) -> dict[str, Any]:
    return {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "clientToken": token_of(*message_ids),
        "description": f"{len(message_ids)} document change(s) from S3",
    }


def run(event: dict[str, Any], client: Any, sleep: RecordingSleep) -> BatchResponse:
    return process_batch(event, client, KB_ID, DS_ID, sleep=sleep)


def failures(*message_ids: str) -> BatchResponse:
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in message_ids]}


GOOD_IDS = ("good-1", "good-2", "good-3")


def without_key() -> str:
    event = eventbridge_event("documents/x.md")
    del event["detail"]["object"]["key"]
    return json.dumps(event)


def other_source() -> str:
    event = eventbridge_event("documents/x.md")
    event["source"] = "custom.documents"
    return json.dumps(event)


MALFORMED_IDS = ("not-json", "not-an-event", "no-key", "other-source", "restore")


def mixed_event() -> dict[str, Any]:
    """Three good messages among malformed ones."""
    return sqs_event(
        document_message("good-1", "documents/a.md"),
        sqs_message("not-json", "this is not json"),
        document_message("good-2", "documents/b.md", "Object Deleted"),
        sqs_message("not-an-event", '{"foo": "bar"}'),
        sqs_message("no-key", without_key()),
        sqs_message("other-source", other_source()),
        document_message("restore", "documents/r.md", "Object Restore Completed"),
        document_message("good-3", "documents/c+d.md"),
    )


def test_a_burst_of_100_changes_starts_exactly_one_job(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep
) -> None:
    messages = [
        document_message(f"msg-{n:03d}", f"documents/doc-{n}.md", "Object Deleted" if n % 3 else "Object Created")
        for n in reversed(range(100))
    ]
    ids = [message["messageId"] for message in messages]
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), start_params(*ids))

    assert run(sqs_event(*messages), bedrock_client, sleep) == failures()


def test_a_running_job_leaves_every_change_for_retry(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, log_lines: LogLines
) -> None:
    stubber.add_response("list_ingestion_jobs", running_job(), list_params())

    assert run(mixed_event(), bedrock_client, sleep) == failures(*GOOD_IDS)
    why, left = (line for line in log_lines() if line["message"] != "Document change" and line["level"] == "INFO")
    assert why["message"] == "Ingestion job already running, not starting another"
    assert (why["knowledge_base_id"], why["data_source_id"]) == (KB_ID, DS_ID)
    assert left["message"] == "Changes left for retry"
    assert (left["outcome"], left["messages"], left["message_ids"]) == ("busy", 3, list(GOOD_IDS))


@pytest.mark.parametrize(("code", "status"), [("ConflictException", 409), ("ServiceQuotaExceededException", 402)])
def test_a_concurrent_start_leaves_every_change_for_retry(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, code: str, status: int
) -> None:
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_client_error("start_ingestion_job", code, "a job is running", status, start_params(*GOOD_IDS))

    assert run(mixed_event(), bedrock_client, sleep) == failures(*GOOD_IDS)


def test_malformed_messages_are_logged_and_skipped(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, log_lines: LogLines
) -> None:
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), start_params(*GOOD_IDS))

    assert run(mixed_event(), bedrock_client, sleep) == failures()
    logged = log_lines()
    skipped = [line["message_id"] for line in logged if line["message"] == "Malformed message skipped"]
    seen = [(line["message_id"], line["key"]) for line in logged if line["message"] == "Document change"]
    assert [line["level"] for line in logged if line["message"] == "Malformed message skipped"] == ["WARNING"] * 5
    assert skipped == list(MALFORMED_IDS)
    assert seen == [("good-1", "documents/a.md"), ("good-2", "documents/b.md"), ("good-3", "documents/c+d.md")]
    started = [line for line in logged if line["message"] == "Ingestion job started"]
    assert [(line["ingestion_job_id"], line["description"]) for line in started] == [
        ("JOBID00001", "3 document change(s) from S3")
    ]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(sqs_event(), id="empty"),
        pytest.param(sqs_event(sqs_message("bad-1", "nope"), sqs_message("bad-2", "{}")), id="malformed"),
        pytest.param(sqs_event(document_message("tags", "documents/a.md", "Object Tags Added")), id="irrelevant"),
        pytest.param(
            sqs_event(
                sqs_message("no-key", without_key()),
                sqs_message("other-source", other_source()),
                document_message("restore", "documents/r.md", "Object Restore Completed"),
            ),
            id="only-malformed",
        ),
    ],
)
def test_nothing_relevant_calls_nothing(event: dict[str, Any], sleep: RecordingSleep) -> None:
    client = RecordingClient()

    assert run(event, client, sleep) == failures()
    assert client.calls == []


def test_throttling_is_retried_before_the_job_starts(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep
) -> None:
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    for _ in range(2):
        stubber.add_client_error(
            "start_ingestion_job", "ThrottlingException", "slow down", 429, start_params(*GOOD_IDS)
        )
    stubber.add_response("start_ingestion_job", started_job(), start_params(*GOOD_IDS))

    assert run(mixed_event(), bedrock_client, sleep) == failures()
    assert len(sleep.delays) == 2
    assert 0 < sleep.delays[0] < sleep.delays[1]


def test_throttled_on_every_attempt_leaves_changes_for_retry(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep
) -> None:
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    for _ in range(4):
        stubber.add_client_error(
            "start_ingestion_job", "ThrottlingException", "slow down", 429, start_params(*GOOD_IDS)
        )

    assert run(mixed_event(), bedrock_client, sleep) == failures(*GOOD_IDS)
    assert len(sleep.delays) == 3


@pytest.mark.parametrize("operation", ["list_ingestion_jobs", "start_ingestion_job"])
def test_access_denied_leaves_changes_for_retry_and_logs_an_error(
    bedrock_client: Any, stubber: Stubber, sleep: RecordingSleep, log_lines: LogLines, operation: str
) -> None:
    if operation == "start_ingestion_job":
        stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
        stubber.add_client_error(operation, "AccessDeniedException", "not allowed", 403, start_params(*GOOD_IDS))
    else:
        stubber.add_client_error(operation, "AccessDeniedException", "not allowed", 403, list_params())

    assert run(mixed_event(), bedrock_client, sleep) == failures(*GOOD_IDS)
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert [(line["message"], line["error"]) for line in errors] == [
        ("Could not start ingestion job", "AccessDeniedException: not allowed")
    ]
    assert sleep.delays == []
