"""Gateway calls, Bedrock requests and responses, and the fixed moment shared by the agent tools tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.aws import LambdaContext

REGION = "us-east-1"
ACCOUNT = "123456789012"
KB_ID = "KBID000001"
DS_ID = "DSID000001"
JOB_ID = "JOBID00001"
REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
BUCKET = "genai-documents-bucket-a1b2c3"
# A Friday; 15:09 UTC is already Saturday in Tokyo.
NOW = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
ENVIRONMENT = {"KNOWLEDGE_BASE_ID": KB_ID, "DATA_SOURCE_ID": DS_ID}
GROUPS_DIR = Path(__file__).resolve().parents[3] / "lambda" / "agent_tools"
# What AWS says when it refuses: the logs may carry it, the model must never read it.
DENIED_MESSAGE = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/genai-agent-tools/session is not authorized to perform "
    f"bedrock:Retrieve on resource: arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}"
)

# The JSON records the function logged, in order.
LogLines = Callable[[], list[dict[str, Any]]]


def group_files() -> dict[str, dict[str, Any]]:
    """Every tool group file beside the function, by group name, as written."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(GROUPS_DIR.glob("*.json"))}


def gateway_tool_names() -> list[str]:
    """`<target>___<tool>` for every tool of every group file: the names the gateway sends."""
    return [f"{group}___{tool['name']}" for group, document in group_files().items() for tool in document["tools"]]


def input_schema(group: str, tool: str) -> dict[str, Any]:
    """A tool's input schema as its group file writes it."""
    schema: dict[str, Any] = next(t for t in group_files()[group]["tools"] if t["name"] == tool)["inputSchema"]
    return schema


@dataclass(frozen=True)
class ClientContext:
    """The Lambda client context; the gateway puts the tool's name in `custom`."""

    custom: Mapping[str, Any] | None = None
    env: Mapping[str, Any] | None = None
    client: Any = None


@dataclass(frozen=True)
class FakeContext(LambdaContext):
    """The tools function's Lambda context, as the gateway's invocation gives it."""

    function_name: str = "genai-agent-tools"
    aws_request_id: str = REQUEST_ID
    client_context: ClientContext | None = None


def gateway_context(tool: object) -> FakeContext:
    """The context of a gateway call of `tool` (normally `<target>___<tool>`)."""
    return FakeContext(client_context=ClientContext(custom={"bedrockAgentCoreToolName": tool}))


def list_jobs_params() -> dict[str, Any]:
    """The exact ListIngestionJobs request for the latest job of the data source."""
    return {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "sortBy": {"attribute": "STARTED_AT", "order": "DESCENDING"},
        "maxResults": 1,
    }


def job_summary(**overrides: Any) -> dict[str, Any]:
    """A completed ingestion job, its times given in UTC+01:00 to show they come back in UTC."""
    paris = timezone(timedelta(hours=1))
    summary = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "ingestionJobId": JOB_ID,
        "status": "COMPLETE",
        "startedAt": datetime(2025, 3, 14, 16, 9, 26, 535897, tzinfo=paris),
        "updatedAt": datetime(2025, 3, 14, 16, 11, 31, 2000, tzinfo=paris),
        "statistics": {
            "numberOfDocumentsScanned": 12,
            "numberOfMetadataDocumentsScanned": 4,
            "numberOfNewDocumentsIndexed": 3,
            "numberOfModifiedDocumentsIndexed": 2,
            "numberOfMetadataDocumentsModified": 6,
            "numberOfDocumentsDeleted": 1,
            "numberOfDocumentsFailed": 7,
            "numberOfDocumentsSkipped": 5,
        },
    }
    return {**summary, **overrides}


def retrieve_params(query: str, results: int) -> dict[str, Any]:
    """The exact Retrieve request for `query`, asking for `results` passages."""
    return {
        "knowledgeBaseId": KB_ID,
        "retrievalQuery": {"text": query},
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": results}},
    }


def s3_passage(text: str, key: str, score: float) -> dict[str, Any]:
    """A retrieved passage from an object of the documents bucket."""
    return {
        "content": {"type": "TEXT", "text": text},
        "location": {"type": "S3", "s3Location": {"uri": f"s3://{BUCKET}/{key}"}},
        "score": score,
        "metadata": {"x-amz-bedrock-kb-source-uri": f"s3://{BUCKET}/{key}"},
    }


def web_passage(text: str, url: str, score: float) -> dict[str, Any]:
    """A retrieved passage from a crawled web page."""
    return {"content": {"text": text}, "location": {"type": "WEB", "webLocation": {"url": url}}, "score": score}
