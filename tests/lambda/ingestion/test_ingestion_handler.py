"""The Lambda entry point: configuration and dispatch."""

from __future__ import annotations

import importlib
import urllib.request
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from .ingestion_fakes import (
    ASSET_BUCKET,
    ASSET_KEY,
    BUCKET,
    DS_ID,
    JOB_ID,
    KB_ID,
    NAMESPACE,
    REQUEST_ID,
    SAMPLE_PREFIX,
    SCHEDULE_EVENT_ID,
    WINDOW_START,
    FakeContext,
    FakeUrlOpen,
    LogLines,
    cfn_event,
    cfn_event_with_samples,
    document_message,
    emitted,
    failed_job,
    get_job_params,
    get_object_response,
    history_params,
    job,
    jobs_page,
    list_params,
    no_jobs,
    put_object_response,
    sample_documents,
    scheduled_event,
    sqs_event,
    started_job,
    zip_bytes,
)

ANY_START = {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID, "clientToken": ANY, "description": ANY}


def put_params(name: str) -> dict[str, Any]:
    return {"Bucket": BUCKET, "Key": SAMPLE_PREFIX + name, "ContentType": "text/markdown"}


@pytest.mark.parametrize("client", ["bedrock_agent", "s3"])
def test_configuration_is_read_at_load(handler_module: ModuleType, client: str) -> None:
    module = importlib.reload(handler_module)
    config = getattr(module, client).meta.config

    assert (module.KNOWLEDGE_BASE_ID, module.DATA_SOURCE_ID) == (KB_ID, DS_ID)
    # botocore counts max_attempts as retries and stores the total with the first attempt.
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (5, 10)


def test_a_burst_of_100_eventbridge_events_starts_one_job(handler_module: ModuleType, stubber: Stubber) -> None:
    event = sqs_event(
        *(
            document_message(f"m{n}", f"documents/d{n}.md", "Object Created" if n % 2 else "Object Deleted")
            for n in range(100)
        )
    )
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response(
        "start_ingestion_job", started_job(), {**ANY_START, "description": "100 document change(s) from S3"}
    )

    assert handler_module.handler(event, FakeContext()) == {"batchItemFailures": []}


def test_cloudformation_requests_are_dispatched_to_the_custom_resource(
    handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    urlopen = FakeUrlOpen()
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    assert handler_module.handler(cfn_event("Delete"), FakeContext()) is None
    assert urlopen.only_body["Status"] == "SUCCESS"


def test_cloudformation_requests_get_the_s3_client(
    handler_module: ModuleType, stubber: Stubber, s3_stubber: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    urlopen = FakeUrlOpen()
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    archive = zip_bytes(("a.md", b"# A\n"))
    s3_stubber.add_response("get_object", get_object_response(archive), {"Bucket": ASSET_BUCKET, "Key": ASSET_KEY})
    s3_stubber.add_response("put_object", put_object_response(), {**put_params("a.md"), "Body": b"# A\n"})
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), ANY_START)

    assert handler_module.handler(cfn_event_with_samples("Create", sample_documents()), FakeContext()) is None
    assert urlopen.only_body["Data"] == {"SampleDocuments": "1", "IngestionJobId": JOB_ID}


def test_the_cloudformation_request_id_is_the_correlation_id(
    handler_module: ModuleType, stubber: Stubber, monkeypatch: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", FakeUrlOpen())
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), ANY_START)
    event = cfn_event("Create")

    handler_module.handler(event, FakeContext())

    logged = log_lines()
    assert [line["message"] for line in logged] == [
        "Ingestion job started",
        "Custom resource handled",
        "CloudFormation response sent",
    ]
    assert {line["correlation_id"] for line in logged} == {event["RequestId"]}
    assert {(line["function_request_id"], line["function_name"]) for line in logged} == {
        (REQUEST_ID, FakeContext().function_name)
    }


def test_a_warm_invocation_does_not_carry_the_last_correlation_id(
    handler_module: ModuleType, stubber: Stubber, monkeypatch: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", FakeUrlOpen())
    handler_module.handler(cfn_event("Delete"), FakeContext())
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), ANY_START)

    handler_module.handler(sqs_event(document_message("m1", "documents/a.md")), FakeContext())

    batch = [line for line in log_lines() if line["message"] in ("Document change", "Ingestion job started")]
    assert [(line["message"], line.get("correlation_id")) for line in batch] == [
        ("Document change", None),
        ("Ingestion job started", None),
    ]
    assert (batch[0]["message_id"], batch[0]["key"]) == ("m1", "documents/a.md")


def test_the_sqs_path_needs_its_environment(handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNOWLEDGE_BASE_ID")
    module = importlib.reload(handler_module)

    with pytest.raises(RuntimeError, match="KNOWLEDGE_BASE_ID"):
        module.handler(sqs_event(), FakeContext())


def minute(n: int) -> datetime:
    return WINDOW_START + timedelta(minutes=n)


def test_a_scheduled_event_publishes_the_outcomes_as_metrics(
    handler_module: ModuleType, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = job("JOB0000002", "FAILED", started=minute(5), updated=minute(6), documents_failed=4)
    page = jobs_page(
        job("JOB0000001", "COMPLETE", started=minute(10), updated=minute(11), documents_failed=1),
        failed,
        job("JOB0000003", "COMPLETE", started=minute(-3), updated=minute(2)),
    )
    stubber.add_response("list_ingestion_jobs", page, history_params())
    stubber.add_response("get_ingestion_job", failed_job(failed, "Model access denied."), get_job_params("JOB0000002"))

    assert handler_module.handler(scheduled_event(), FakeContext()) is None
    assert emitted(capsys.readouterr().out) == [
        {
            "namespace": NAMESPACE,
            "dimensions": [[]],
            "dimension_values": {},
            "metrics": {
                "IngestionJobsComplete": (2, "Count"),
                "IngestionJobsFailed": (1, "Count"),
                "IngestionJobsStopped": (0, "Count"),
                "IngestionDocumentsFailed": (5, "Count"),
            },
        }
    ]


def test_a_window_without_jobs_publishes_zeros(
    handler_module: ModuleType, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    stubber.add_response("list_ingestion_jobs", jobs_page(), history_params())

    handler_module.handler(scheduled_event(), FakeContext())

    (blob,) = emitted(capsys.readouterr().out)
    assert blob["metrics"] == {
        "IngestionJobsComplete": (0, "Count"),
        "IngestionJobsFailed": (0, "Count"),
        "IngestionJobsStopped": (0, "Count"),
        "IngestionDocumentsFailed": (0, "Count"),
    }


def test_the_only_dimension_is_the_service(
    handler_module: ModuleType, stubber: Stubber, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "genai-ingestion")
    module = importlib.reload(handler_module)
    monkeypatch.setattr(module, "bedrock_agent", stubber.client)
    stubber.add_response("list_ingestion_jobs", jobs_page(), history_params())

    module.handler(scheduled_event(), FakeContext())

    (blob,) = emitted(capsys.readouterr().out)
    assert (blob["namespace"], blob["dimensions"], blob["dimension_values"]) == (
        NAMESPACE,
        [["service"]],
        {"service": "genai-ingestion"},
    )


def test_the_scheduled_event_id_is_the_correlation_id(
    handler_module: ModuleType, stubber: Stubber, log_lines: LogLines
) -> None:
    stubber.add_response("list_ingestion_jobs", jobs_page(), history_params())

    handler_module.handler(scheduled_event(), FakeContext())

    (line,) = log_lines()
    assert (line["message"], line["correlation_id"], line["function_request_id"]) == (
        "Ingestion job outcomes",
        SCHEDULE_EVENT_ID,
        REQUEST_ID,
    )


def test_a_bedrock_error_fails_the_scheduled_invocation_before_any_metric(
    handler_module: ModuleType, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    stubber.add_client_error("list_ingestion_jobs", "AccessDeniedException", "not allowed", 403, history_params())

    with pytest.raises(ClientError, match="AccessDeniedException"):
        handler_module.handler(scheduled_event(), FakeContext())
    assert emitted(capsys.readouterr().out) == []


def test_a_bad_window_fails_the_schedule_but_not_the_document_changes(
    handler_module: ModuleType, stubber: Stubber, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OUTCOME_WINDOW_MINUTES", "7")
    module = importlib.reload(handler_module)
    monkeypatch.setattr(module, "bedrock_agent", stubber.client)
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), ANY_START)

    with pytest.raises(ValueError, match="OUTCOME_WINDOW_MINUTES='7'"):
        module.handler(scheduled_event(), FakeContext())
    assert module.handler(sqs_event(document_message("m1", "documents/a.md")), FakeContext()) == {
        "batchItemFailures": []
    }
    assert emitted(capsys.readouterr().out) == []


def test_the_schedule_needs_the_environment_too(handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_SOURCE_ID")
    module = importlib.reload(handler_module)

    with pytest.raises(RuntimeError, match="DATA_SOURCE_ID"):
        module.handler(scheduled_event(), FakeContext())
