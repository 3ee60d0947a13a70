"""CloudFormation custom resource that seeds the sample documents (opt-in) and starts the initial sync on deploy."""

import json
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from common.aws_errors import describe
from ingestion.jobs import BedrockAgentClient, Outcome, client_token, sync_data_source
from ingestion.retry import Sleep
from ingestion.samples import PROPERTY as SAMPLES_PROPERTY
from ingestion.samples import S3Client, copy_samples, parse_sample_documents

logger = Logger(child=True)

SUCCESS = "SUCCESS"
FAILED = "FAILED"
RESPONSE_TIMEOUT_SECONDS = 10.0
MAX_REASON_LENGTH = 500


class UrlOpen(Protocol):
    """The subset of urllib.request.urlopen used to answer CloudFormation."""

    def __call__(self, request: urllib.request.Request, /, *, timeout: float) -> Any:
        """Send the request."""


def one_line(text: str) -> str:
    """Collapse text to one bounded line, as CloudFormation shows it in stack events."""
    return " ".join(text.split())[:MAX_REASON_LENGTH]


def physical_resource_id(event: Mapping[str, Any]) -> str:
    """The incoming id on Update and Delete; `<kb>/<ds>` on Create."""
    incoming = event.get("PhysicalResourceId")
    if isinstance(incoming, str) and incoming:
        return incoming
    properties = event.get("ResourceProperties") or {}
    kb_id, ds_id = properties.get("KnowledgeBaseId"), properties.get("DataSourceId")
    if isinstance(kb_id, str) and isinstance(ds_id, str):
        return f"{kb_id}/{ds_id}"
    # A Create that fails before reading its properties still needs an id for the rollback Delete.
    return str(event.get("LogicalResourceId", "ingestion-sync"))


def _required_property(event: Mapping[str, Any], name: str) -> str:
    value = (event.get("ResourceProperties") or {}).get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"ResourceProperties.{name} is required")
    return value


def _seed_samples(event: Mapping[str, Any], s3: S3Client) -> dict[str, str]:
    value = (event.get("ResourceProperties") or {}).get(SAMPLES_PROPERTY)
    if value is None:
        return {}
    count = copy_samples(s3, parse_sample_documents(value))
    return {SAMPLES_PROPERTY: str(count)}


def _apply(
    event: Mapping[str, Any], client: BedrockAgentClient, s3: S3Client, sleep: Sleep
) -> tuple[str, str, dict[str, str]]:
    request_type = event["RequestType"]
    if request_type == "Delete":
        # The sample documents stay: the bucket's removal policy decides what happens to its objects.
        return SUCCESS, "Nothing to clean up", {}
    if request_type not in ("Create", "Update"):
        raise ValueError(f"Unsupported RequestType {request_type!r}")
    knowledge_base_id = _required_property(event, "KnowledgeBaseId")
    data_source_id = _required_property(event, "DataSourceId")
    try:
        # Before the job, so the first sync already includes the samples.
        data = _seed_samples(event, s3)
    except ClientError as error:
        reason = describe(error)
        logger.error("Could not copy the sample documents", extra={"error": reason})
        return FAILED, reason, {}
    result = sync_data_source(
        client,
        knowledge_base_id,
        data_source_id,
        token=client_token([str(event["RequestId"])]),
        description=f"Sync on CloudFormation {request_type}",
        sleep=sleep,
    )
    if result.outcome is Outcome.STARTED and result.job_id:
        return SUCCESS, f"Ingestion job {result.job_id} started", {**data, "IngestionJobId": result.job_id}
    if result.outcome is Outcome.BUSY:
        return SUCCESS, "An ingestion job is already running", data
    return FAILED, result.error or result.outcome.value, {}


def build_response(
    event: Mapping[str, Any], status: str, reason: str, physical_id: str, data: Mapping[str, str]
) -> dict[str, Any]:
    """The JSON body CloudFormation expects at the response URL."""
    return {
        "Status": status,
        "Reason": one_line(reason),
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
        "Data": dict(data),
    }


def send_response(url: str, body: Mapping[str, Any], urlopen: UrlOpen) -> None:
    """PUT the response to the pre-signed S3 URL CloudFormation waits on."""
    if not url.startswith("https://"):
        raise ValueError("ResponseURL must be an https URL")
    payload = json.dumps(body).encode()
    # The URL is pre-signed without a content type, so the header must be present and empty.
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=payload, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(payload))}
    )
    with urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:
        logger.info("CloudFormation response sent", extra={"status": body["Status"], "http_status": response.status})


def handle_custom_resource(
    event: Mapping[str, Any],
    client: BedrockAgentClient,
    *,
    s3: S3Client,
    sleep: Sleep,
    urlopen: UrlOpen,
) -> None:
    """Apply the request and always send CloudFormation exactly one response."""
    physical_id = physical_resource_id(event)
    try:
        status, reason, data = _apply(event, client, s3, sleep)
    except Exception as error:
        # Without a response the stack would hang until CloudFormation's timeout.
        logger.exception("Custom resource request failed", extra={"request_type": event.get("RequestType")})
        status, reason, data = FAILED, f"{type(error).__name__}: {error}", {}
    logger.info("Custom resource handled", extra={"request_type": event.get("RequestType"), "status": status})
    send_response(str(event["ResponseURL"]), build_response(event, status, reason, physical_id, data), urlopen)
