"""The Lambda entry point: configuration and dispatch."""

from __future__ import annotations

import importlib
import urllib.request
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from .ingestion_fakes import (
    ASSET_BUCKET,
    ASSET_KEY,
    BUCKET,
    DS_ID,
    JOB_ID,
    KB_ID,
    REQUEST_ID,
    SAMPLE_PREFIX,
    FakeContext,
    FakeUrlOpen,
    LogLines,
    cfn_event,
    cfn_event_with_samples,
    document_message,
    get_object_response,
    list_params,
    no_jobs,
    put_object_response,
    sample_documents,
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
