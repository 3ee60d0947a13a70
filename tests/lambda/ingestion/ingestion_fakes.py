"""Builders of SQS, EventBridge and CloudFormation events, sample zips and fakes shared by the ingestion tests."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.response import StreamingBody

from tests.aws import LambdaContext

KB_ID = "KBID000001"
DS_ID = "DSID000001"
JOB_ID = "JOBID00001"
BUCKET = "documents-bucket"
RESPONSE_URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/signed?X-Amz-Signature=abc"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/Knowledge/0a1b2c3d"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
ASSET_BUCKET = "cdk-hnb659fds-assets-123456789012-us-east-1"
ASSET_KEY = "3f2a0c0e5d4b6a7980112233445566778899aabbccddeeff0011223344556677.zip"
SAMPLE_PREFIX = "documents/samples/"
REQUEST_ID = "0f4c3b2a-9d8e-4f7a-8b6c-5d4e3f2a1b0c"

# The JSON records the function logged, in order.
LogLines = Callable[[], list[dict[str, Any]]]


@dataclass(frozen=True)
class FakeContext(LambdaContext):
    """The ingestion function's Lambda context."""

    function_name: str = "genai-ingestion"
    aws_request_id: str = REQUEST_ID


def eventbridge_event(key: str, detail_type: str = "Object Created") -> dict[str, Any]:
    """An S3 object event as EventBridge delivers it to the SQS target."""
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": BUCKET},
        "object": {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "617f08299329d189"},
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject" if detail_type == "Object Created" else "DeleteObject",
    }
    if detail_type == "Object Deleted":
        detail["deletion-type"] = "Permanently Deleted"
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2025-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": detail,
    }


def eventbridge_body(key: str, detail_type: str = "Object Created") -> str:
    """The SQS message body of one EventBridge S3 object event."""
    return json.dumps(eventbridge_event(key, detail_type))


def sqs_message(message_id: str, body: str) -> dict[str, Any]:
    """An SQS record of a Lambda event."""
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingestion",
        "awsRegion": "us-east-1",
    }


def sqs_event(*messages: dict[str, Any]) -> dict[str, Any]:
    """A Lambda SQS event."""
    return {"Records": list(messages)}


def document_message(message_id: str, key: str, detail_type: str = "Object Created") -> dict[str, Any]:
    """An SQS message carrying one document change."""
    return sqs_message(message_id, eventbridge_body(key, detail_type))


def list_params(kb_id: str = KB_ID, ds_id: str = DS_ID) -> dict[str, Any]:
    """The exact ListIngestionJobs request for running jobs."""
    return {
        "knowledgeBaseId": kb_id,
        "dataSourceId": ds_id,
        "filters": [{"attribute": "STATUS", "operator": "EQ", "values": ["STARTING", "IN_PROGRESS"]}],
        "maxResults": 1,
    }


def no_jobs() -> dict[str, Any]:
    """A ListIngestionJobs response without running jobs."""
    return {"ingestionJobSummaries": []}


def running_job() -> dict[str, Any]:
    """A ListIngestionJobs response with one job in progress."""
    summary = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "ingestionJobId": "RUNNING001",
        "status": "IN_PROGRESS",
        "startedAt": NOW,
        "updatedAt": NOW,
    }
    return {"ingestionJobSummaries": [summary]}


def started_job(job_id: str = JOB_ID) -> dict[str, Any]:
    """A StartIngestionJob response."""
    job = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "ingestionJobId": job_id,
        "status": "STARTING",
        "startedAt": NOW,
        "updatedAt": NOW,
    }
    return {"ingestionJob": job}


def cfn_event(request_type: str, **overrides: Any) -> dict[str, Any]:
    """A CloudFormation custom resource request."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:ingestion",
        "ResponseURL": RESPONSE_URL,
        "StackId": STACK_ID,
        "RequestId": "5d9a1c1e-0000-4000-8000-000000000001",
        "LogicalResourceId": "InitialSync",
        "ResourceType": "Custom::IngestionSync",
        "ResourceProperties": {"ServiceToken": "arn:...", "KnowledgeBaseId": KB_ID, "DataSourceId": DS_ID},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = f"{KB_ID}/{DS_ID}"
    event.update(overrides)
    return event


def sample_documents(**overrides: Any) -> dict[str, Any]:
    """The SampleDocuments property of the custom resource."""
    return {
        "SourceBucket": ASSET_BUCKET,
        "SourceKey": ASSET_KEY,
        "Bucket": BUCKET,
        "Prefix": SAMPLE_PREFIX,
        **overrides,
    }


def cfn_event_with_samples(request_type: str, samples: Any) -> dict[str, Any]:
    """A CloudFormation request whose properties carry `samples` as SampleDocuments."""
    event = cfn_event(request_type)
    event["ResourceProperties"]["SampleDocuments"] = samples
    return event


def zip_bytes(*entries: tuple[str, bytes | None]) -> bytes:
    """A zip archive of the entries in order; a None content makes a directory entry."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            if data is None:
                archive.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), b"")
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


def get_object_response(data: bytes) -> dict[str, Any]:
    """A GetObject response streaming `data`."""
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


def put_object_response() -> dict[str, Any]:
    """A PutObject response."""
    return {"ETag": '"b1946ac92492d2347c6235b4d2611184"', "VersionId": "IYV3p45BhZA4w7pOtk2bVcHivL4u1vOs"}


@dataclass
class RecordingSleep:
    """A sleep that records its delays instead of sleeping."""

    delays: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@dataclass
class FakeResponse:
    """The context manager urlopen returns."""

    status: int = 200

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


@dataclass
class FakeUrlOpen:
    """Records the requests urlopen would send."""

    calls: list[tuple[urllib.request.Request, float]] = field(default_factory=list)

    def __call__(self, request: urllib.request.Request, /, *, timeout: float) -> FakeResponse:
        self.calls.append((request, timeout))
        return FakeResponse()

    @property
    def only_request(self) -> urllib.request.Request:
        """The single request sent; fails unless exactly one was."""
        assert len(self.calls) == 1, f"expected exactly one response, got {len(self.calls)}"
        return self.calls[0][0]

    @property
    def only_body(self) -> dict[str, Any]:
        """The JSON body of the single request sent."""
        data = self.only_request.data
        assert isinstance(data, bytes)
        body = json.loads(data)
        assert isinstance(body, dict)
        return body


@dataclass
class RecordingClient:
    """A bedrock-agent stand-in that records calls; for tests that expect none."""

    calls: list[str] = field(default_factory=list)

    def list_ingestion_jobs(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("list_ingestion_jobs")
        return {"ingestionJobSummaries": []}

    def start_ingestion_job(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("start_ingestion_job")
        return started_job()


NAMESPACE = "BedrockGenAiTest"
SCHEDULE_EVENT_ID = "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"
# The scheduled run at 00:15 counts the jobs that ended from 00:00 (included) to 00:15 (excluded).
WINDOW_START = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
WINDOW_END = datetime(2025, 1, 1, 0, 15, tzinfo=UTC)


def scheduled_event(time: str = "2025-01-01T00:15:00Z") -> dict[str, Any]:
    """The event an EventBridge schedule rule sends its Lambda target."""
    return {
        "version": "0",
        "id": SCHEDULE_EVENT_ID,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/ingestion-outcomes"],
        "detail": {},
    }


def history_params(next_token: str | None = None) -> dict[str, Any]:
    """The exact ListIngestionJobs request for the data source's jobs, latest started first."""
    params: dict[str, Any] = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "sortBy": {"attribute": "STARTED_AT", "order": "DESCENDING"},
        "maxResults": 100,
    }
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def job(
    job_id: str,
    status: str,
    *,
    started: datetime,
    updated: datetime,
    documents_failed: int = 0,
) -> dict[str, Any]:
    """An ingestion job summary as ListIngestionJobs returns it."""
    return {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "ingestionJobId": job_id,
        "description": "2 document change(s) from S3",
        "status": status,
        "startedAt": started,
        "updatedAt": updated,
        "statistics": {
            "numberOfDocumentsScanned": 12,
            "numberOfMetadataDocumentsScanned": 0,
            "numberOfNewDocumentsIndexed": 1,
            "numberOfModifiedDocumentsIndexed": 1,
            "numberOfMetadataDocumentsModified": 0,
            "numberOfDocumentsDeleted": 0,
            "numberOfDocumentsFailed": documents_failed,
            "numberOfDocumentsSkipped": 0,
        },
    }


def jobs_page(*jobs: dict[str, Any], next_page: str | None = None) -> dict[str, Any]:
    """A ListIngestionJobs response; `next_page` is the nextToken of the page after it."""
    page: dict[str, Any] = {"ingestionJobSummaries": list(jobs)}
    if next_page is not None:
        page["nextToken"] = next_page
    return page


def get_job_params(job_id: str) -> dict[str, Any]:
    """The exact GetIngestionJob request for a job of the data source."""
    return {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID, "ingestionJobId": job_id}


def failed_job(summary: dict[str, Any], *reasons: str) -> dict[str, Any]:
    """The GetIngestionJob response for a failed job summary."""
    return {"ingestionJob": {**summary, "failureReasons": list(reasons)}}


def _single(value: Any) -> Any:
    """EMF carries a metric's values as a list; one value is compared as itself."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def emitted(output: str) -> list[dict[str, Any]]:
    """The EMF blobs printed: namespace, dimension sets and each metric's value and unit."""
    blobs = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    emitted_blobs = []
    for blob in blobs:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        emitted_blobs.append(
            {
                "namespace": directive["Namespace"],
                "dimensions": directive["Dimensions"],
                "dimension_values": {name: blob[name] for names in directive["Dimensions"] for name in names},
                "metrics": {
                    metric["Name"]: (_single(blob[metric["Name"]]), metric["Unit"]) for metric in directive["Metrics"]
                },
            }
        )
    return emitted_blobs
