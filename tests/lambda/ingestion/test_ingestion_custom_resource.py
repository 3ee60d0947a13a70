"""The CloudFormation custom resource that seeds the sample documents and starts the initial sync."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.stub import Stubber
from ingestion.custom_resource import handle_custom_resource, send_response

from .ingestion_fakes import (
    ASSET_BUCKET,
    ASSET_KEY,
    BUCKET,
    DS_ID,
    JOB_ID,
    KB_ID,
    RESPONSE_URL,
    SAMPLE_PREFIX,
    STACK_ID,
    FakeUrlOpen,
    LogLines,
    RecordingSleep,
    cfn_event,
    cfn_event_with_samples,
    get_object_response,
    list_params,
    no_jobs,
    put_object_response,
    running_job,
    sample_documents,
    started_job,
    zip_bytes,
)

ABOUT = b"# About this stack\n\nA knowledge base over your documents.\n"
ADDING = b"# Adding documents\n\nUpload them under documents/.\n"
SAMPLES_ZIP = zip_bytes(("about-this-stack.md", ABOUT), ("guides/", None), ("guides/adding-documents.md", ADDING))
GET_SAMPLES = {"Bucket": ASSET_BUCKET, "Key": ASSET_KEY}


def start_params(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "clientToken": hashlib.sha256(event["RequestId"].encode()).hexdigest(),
        "description": f"Sync on CloudFormation {event['RequestType']}",
    }


def expected_body(
    event: dict[str, Any], status: str, reason: str, physical_id: str, data: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": STACK_ID,
        "RequestId": event["RequestId"],
        "LogicalResourceId": "InitialSync",
        "NoEcho": False,
        "Data": data or {},
    }


@dataclass
class Deploy:
    """Runs the custom resource with the stubbed clients and records what it did."""

    bedrock: Any
    s3: Any
    sleep: RecordingSleep = field(default_factory=RecordingSleep)
    urlopen: FakeUrlOpen = field(default_factory=FakeUrlOpen)
    operations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for client in (self.bedrock, self.s3):
            client.meta.events.register("before-parameter-build.*.*", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)

    def handle(self, event: dict[str, Any], bedrock: Any = None) -> None:
        """Handle one request; `bedrock` replaces the stubbed bedrock-agent client."""
        client = self.bedrock if bedrock is None else bedrock
        handle_custom_resource(event, client, s3=self.s3, sleep=self.sleep, urlopen=self.urlopen)

    @property
    def body(self) -> dict[str, Any]:
        """The one response sent to CloudFormation."""
        return self.urlopen.only_body


@pytest.fixture
def deploy(bedrock_client: Any, stubber: Stubber, s3_client: Any, s3_stubber: Stubber) -> Deploy:
    """Both clients are stubbed: a call without an added response raises, which fails the request."""
    return Deploy(bedrock=bedrock_client, s3=s3_client)


def test_create_starts_a_job_and_answers_success(deploy: Deploy, stubber: Stubber) -> None:
    event = cfn_event("Create")
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), start_params(event))

    deploy.handle(event)

    assert deploy.body == expected_body(
        event, "SUCCESS", f"Ingestion job {JOB_ID} started", f"{KB_ID}/{DS_ID}", {"IngestionJobId": JOB_ID}
    )
    request, timeout = deploy.urlopen.calls[0]
    assert request.get_method() == "PUT"
    assert request.full_url == RESPONSE_URL
    assert isinstance(request.data, bytes)
    assert request.headers == {"Content-type": "", "Content-length": str(len(request.data))}
    assert timeout == 10.0


def test_update_keeps_the_physical_id(deploy: Deploy, stubber: Stubber) -> None:
    event = cfn_event("Update", PhysicalResourceId="kept-id")
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), start_params(event))

    deploy.handle(event)

    assert deploy.body == expected_body(
        event, "SUCCESS", f"Ingestion job {JOB_ID} started", "kept-id", {"IngestionJobId": JOB_ID}
    )


def test_delete_answers_success_without_calling_aws(deploy: Deploy) -> None:
    event = cfn_event("Delete", PhysicalResourceId="kept-id")

    deploy.handle(event)

    assert deploy.body == expected_body(event, "SUCCESS", "Nothing to clean up", "kept-id")
    assert deploy.operations == []


@pytest.mark.parametrize("error", [("ConflictException", 409), ("ServiceQuotaExceededException", 402)])
def test_a_concurrent_job_on_create_is_a_success(deploy: Deploy, stubber: Stubber, error: tuple[str, int]) -> None:
    code, status = error
    event = cfn_event("Create")
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_client_error("start_ingestion_job", code, "busy", status, expected_params=start_params(event))

    deploy.handle(event)

    assert deploy.body == expected_body(event, "SUCCESS", "An ingestion job is already running", f"{KB_ID}/{DS_ID}")


def test_a_running_job_on_create_is_a_success(deploy: Deploy, stubber: Stubber) -> None:
    stubber.add_response("list_ingestion_jobs", running_job(), list_params())

    deploy.handle(cfn_event("Create"))

    assert deploy.body["Status"] == "SUCCESS"
    assert deploy.body["Data"] == {}


def test_access_denied_on_create_fails_with_a_one_line_reason(deploy: Deploy, stubber: Stubber) -> None:
    event = cfn_event("Create")
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_client_error(
        "start_ingestion_job", "AccessDeniedException", "not authorized\nto start", 403, start_params(event)
    )

    deploy.handle(event)

    reason = "AccessDeniedException: not authorized to start"
    assert deploy.body == expected_body(event, "FAILED", reason, f"{KB_ID}/{DS_ID}")


def test_throttled_on_every_attempt_fails(deploy: Deploy, stubber: Stubber) -> None:
    event = cfn_event("Update")
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    for _ in range(4):
        stubber.add_client_error("start_ingestion_job", "ThrottlingException", "slow down", 429, start_params(event))

    deploy.handle(event)

    assert deploy.body["Status"] == "FAILED"
    assert deploy.body["Reason"] == "ThrottlingException: slow down"
    assert len(deploy.sleep.delays) == 3


def test_missing_properties_still_send_one_failed_response(deploy: Deploy, log_lines: LogLines) -> None:
    event = cfn_event("Create", ResourceProperties={"DataSourceId": DS_ID})

    deploy.handle(event)

    reason = "ValueError: ResourceProperties.KnowledgeBaseId is required"
    assert deploy.body == expected_body(event, "FAILED", reason, "InitialSync")
    logged = log_lines()
    errors = [line for line in logged if line["level"] == "ERROR"]
    assert [(line["message"], line["request_type"]) for line in errors] == [
        ("Custom resource request failed", "Create")
    ]
    assert "Traceback" in errors[0]["exception"]
    assert errors[0]["exception_name"] == "ValueError"
    assert [(line["message"], line["status"]) for line in logged if line["level"] == "INFO"] == [
        ("Custom resource handled", "FAILED"),
        ("CloudFormation response sent", "FAILED"),
    ]


class Exploding:
    """A client failing in a way nothing anticipates."""

    def list_ingestion_jobs(self, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("boom\n  at somewhere")

    def start_ingestion_job(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("not reached")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (cfn_event("Create"), "RuntimeError: boom at somewhere"),
        (cfn_event("Update", ResourceProperties=None), "ValueError: ResourceProperties.KnowledgeBaseId is required"),
        (cfn_event("Rename"), "ValueError: Unsupported RequestType 'Rename'"),
    ],
)
def test_unexpected_errors_still_send_exactly_one_failed_response(
    deploy: Deploy, event: dict[str, Any], reason: str
) -> None:
    deploy.handle(event, bedrock=Exploding())

    body = deploy.body
    assert body["Status"] == "FAILED"
    assert "\n" not in body["Reason"]
    assert "Traceback" not in body["Reason"]
    assert body["Reason"] == reason


def test_a_plain_http_response_url_is_refused(urlopen: FakeUrlOpen) -> None:
    with pytest.raises(ValueError, match="https"):
        send_response("http://example.com/put", {"Status": "SUCCESS"}, urlopen)
    assert urlopen.calls == []


def test_urllib_keeps_the_empty_content_type(urlopen: FakeUrlOpen) -> None:
    send_response(RESPONSE_URL, {"Status": "SUCCESS"}, urlopen)
    request = urlopen.only_request

    handler = urllib.request.HTTPSHandler()
    handler.add_parent(urllib.request.OpenerDirector())
    handler.do_request_(request)

    assert request.get_header("Content-type") == ""


def put_samples(s3_stubber: Stubber) -> None:
    """Expect the exact copies of SAMPLES_ZIP's two files."""
    for name, body in (("about-this-stack.md", ABOUT), ("guides/adding-documents.md", ADDING)):
        params = {"Bucket": BUCKET, "Key": SAMPLE_PREFIX + name, "Body": body, "ContentType": "text/markdown"}
        s3_stubber.add_response("put_object", put_object_response(), params)


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_the_sample_documents_are_copied_before_the_job_starts(
    deploy: Deploy, stubber: Stubber, s3_stubber: Stubber, log_lines: LogLines, request_type: str
) -> None:
    event = cfn_event_with_samples(request_type, sample_documents())
    s3_stubber.add_response("get_object", get_object_response(SAMPLES_ZIP), GET_SAMPLES)
    put_samples(s3_stubber)
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), start_params(event))

    deploy.handle(event)

    assert (deploy.body["Status"], deploy.body["Reason"]) == ("SUCCESS", f"Ingestion job {JOB_ID} started")
    assert deploy.body["Data"] == {"SampleDocuments": "2", "IngestionJobId": JOB_ID}
    assert deploy.operations == ["GetObject", "PutObject", "PutObject", "ListIngestionJobs", "StartIngestionJob"]
    logged = log_lines()
    copied = [line for line in logged if line["message"] == "Sample documents copied"]
    assert [(line["count"], line["bucket"], line["prefix"]) for line in copied] == [(2, BUCKET, SAMPLE_PREFIX)]
    # The logs say what was copied where, never what the documents say.
    text = json.dumps(logged)
    assert all(line.decode() not in text for document in (ABOUT, ADDING) for line in document.splitlines() if line)


def test_copied_samples_are_reported_while_a_job_runs(deploy: Deploy, stubber: Stubber, s3_stubber: Stubber) -> None:
    s3_stubber.add_response("get_object", get_object_response(SAMPLES_ZIP), GET_SAMPLES)
    put_samples(s3_stubber)
    stubber.add_response("list_ingestion_jobs", running_job(), list_params())

    deploy.handle(cfn_event_with_samples("Create", sample_documents()))

    assert deploy.body["Status"] == "SUCCESS"
    assert deploy.body["Data"] == {"SampleDocuments": "2"}


def test_without_sample_documents_no_s3_call_is_made(deploy: Deploy, stubber: Stubber) -> None:
    event = cfn_event("Create")
    stubber.add_response("list_ingestion_jobs", no_jobs(), list_params())
    stubber.add_response("start_ingestion_job", started_job(), start_params(event))

    deploy.handle(event)

    assert deploy.body["Data"] == {"IngestionJobId": JOB_ID}
    assert deploy.operations == ["ListIngestionJobs", "StartIngestionJob"]


def test_delete_leaves_the_sample_documents(deploy: Deploy) -> None:
    event = cfn_event_with_samples("Delete", sample_documents())

    deploy.handle(event)

    assert deploy.body == expected_body(event, "SUCCESS", "Nothing to clean up", f"{KB_ID}/{DS_ID}")
    assert deploy.operations == []


@pytest.mark.parametrize("unsafe", ["../evil.md", "guides/../../evil.md", "/etc/evil.md"])
def test_an_archive_escaping_the_prefix_fails_before_any_copy(deploy: Deploy, s3_stubber: Stubber, unsafe: str) -> None:
    archive = zip_bytes(("about-this-stack.md", ABOUT), (unsafe, b"# Evil\n"))
    s3_stubber.add_response("get_object", get_object_response(archive), GET_SAMPLES)

    deploy.handle(cfn_event_with_samples("Create", sample_documents()))

    assert deploy.body["Status"] == "FAILED"
    assert deploy.body["Reason"] == f"ValueError: Unsafe entry name {unsafe!r} in the sample documents archive"
    assert deploy.operations == ["GetObject"]


@pytest.mark.parametrize(
    "error",
    [
        ("get_object", "NoSuchKey", "The specified key does not exist.", 404),
        ("get_object", "AccessDenied", "Access Denied", 403),
        ("put_object", "KMS.DisabledException", "arn:aws:kms:us-east-1:123456789012:key/k is\ndisabled.", 400),
    ],
)
def test_s3_errors_fail_with_a_one_line_reason(
    deploy: Deploy, s3_stubber: Stubber, log_lines: LogLines, error: tuple[str, str, str, int]
) -> None:
    operation, code, message, status = error
    if operation == "put_object":
        s3_stubber.add_response("get_object", get_object_response(SAMPLES_ZIP), GET_SAMPLES)
        params = {"Bucket": BUCKET, "Key": f"{SAMPLE_PREFIX}about-this-stack.md", "Body": ABOUT}
        s3_stubber.add_client_error(operation, code, message, status, {**params, "ContentType": "text/markdown"})
    else:
        s3_stubber.add_client_error(operation, code, message, status, GET_SAMPLES)
    event = cfn_event_with_samples("Create", sample_documents())

    deploy.handle(event)

    reason = f"{code}: {' '.join(message.split())}"
    assert deploy.body == expected_body(event, "FAILED", reason, f"{KB_ID}/{DS_ID}")
    assert "ListIngestionJobs" not in deploy.operations
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert [(line["message"], line["error"]) for line in errors] == [("Could not copy the sample documents", reason)]


def test_an_asset_that_is_not_a_zip_fails(deploy: Deploy, s3_stubber: Stubber) -> None:
    s3_stubber.add_response("get_object", get_object_response(b"not a zip"), GET_SAMPLES)

    deploy.handle(cfn_event_with_samples("Create", sample_documents()))

    assert deploy.body["Status"] == "FAILED"
    assert deploy.body["Reason"] == "BadZipFile: File is not a zip file"
    assert deploy.operations == ["GetObject"]


@pytest.mark.parametrize(
    ("samples", "reason"),
    [
        ("documents/samples/", "ResourceProperties.SampleDocuments must be an object"),
        ({}, "ResourceProperties.SampleDocuments.SourceBucket must be a non-empty string"),
        (sample_documents(SourceKey=""), "ResourceProperties.SampleDocuments.SourceKey must be a non-empty string"),
        (
            {k: v for k, v in sample_documents().items() if k != "Bucket"},
            "ResourceProperties.SampleDocuments.Bucket must be a non-empty string",
        ),
        (sample_documents(Prefix=7), "ResourceProperties.SampleDocuments.Prefix must be a non-empty string"),
        (sample_documents(Prefix="documents/samples"), "ResourceProperties.SampleDocuments.Prefix must end with '/'"),
    ],
)
def test_invalid_sample_documents_fail_without_any_call(deploy: Deploy, samples: Any, reason: str) -> None:
    event = cfn_event_with_samples("Create", samples)

    deploy.handle(event)

    assert deploy.body == expected_body(event, "FAILED", f"ValueError: {reason}", f"{KB_ID}/{DS_ID}")
    assert deploy.operations == []
