"""Start at most one ingestion job for a knowledge-base data source."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from common.aws_errors import describe, error_code
from ingestion.retry import THROTTLING_CODES, Sleep, call_with_backoff

logger = Logger(child=True)

ACTIVE_STATUSES = ("STARTING", "IN_PROGRESS")
# Bedrock runs one job per data source at a time and answers a second start with either error.
BUSY_CODES = frozenset({"ConflictException", "ServiceQuotaExceededException"})


class BedrockAgentClient(Protocol):
    """The part of the bedrock-agent client this package calls."""

    def list_ingestion_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """ListIngestionJobs."""

    def start_ingestion_job(self, **kwargs: Any) -> dict[str, Any]:
        """StartIngestionJob."""


class Outcome(StrEnum):
    """How an attempt to sync a data source ended."""

    STARTED = "started"
    BUSY = "busy"
    THROTTLED = "throttled"
    FAILED = "failed"


@dataclass(frozen=True)
class SyncResult:
    """The outcome of a sync, with the started job's id or a one-line error."""

    outcome: Outcome
    job_id: str | None = None
    error: str | None = None


def client_token(parts: Iterable[str]) -> str:
    """A deterministic idempotency token for a set of strings, whatever their order."""
    return hashlib.sha256("\n".join(sorted(set(parts))).encode()).hexdigest()


def _job_active(client: BedrockAgentClient, knowledge_base_id: str, data_source_id: str, sleep: Sleep) -> bool:
    response = call_with_backoff(
        lambda: client.list_ingestion_jobs(
            knowledgeBaseId=knowledge_base_id,
            dataSourceId=data_source_id,
            filters=[{"attribute": "STATUS", "operator": "EQ", "values": list(ACTIVE_STATUSES)}],
            maxResults=1,
        ),
        sleep=sleep,
    )
    return bool(response.get("ingestionJobSummaries"))


def _start_job(
    client: BedrockAgentClient,
    knowledge_base_id: str,
    data_source_id: str,
    *,
    token: str,
    description: str,
    sleep: Sleep,
) -> str:
    response = call_with_backoff(
        lambda: client.start_ingestion_job(
            knowledgeBaseId=knowledge_base_id,
            dataSourceId=data_source_id,
            clientToken=token,
            description=description,
        ),
        sleep=sleep,
    )
    return str(response["ingestionJob"]["ingestionJobId"])


def sync_data_source(
    client: BedrockAgentClient,
    knowledge_base_id: str,
    data_source_id: str,
    *,
    token: str,
    description: str,
    sleep: Sleep,
) -> SyncResult:
    """Start an ingestion job unless one is already running; never raises AWS errors."""
    ids = {"knowledge_base_id": knowledge_base_id, "data_source_id": data_source_id}
    try:
        if _job_active(client, knowledge_base_id, data_source_id, sleep):
            logger.info("Ingestion job already running, not starting another", extra=ids)
            return SyncResult(Outcome.BUSY)
        job_id = _start_job(
            client, knowledge_base_id, data_source_id, token=token, description=description, sleep=sleep
        )
    except ClientError as error:
        code, reason = error_code(error), describe(error)
        if code in BUSY_CODES:
            logger.info("Ingestion job already running", extra={"error": reason, **ids})
            return SyncResult(Outcome.BUSY, error=reason)
        if code in THROTTLING_CODES:
            logger.warning("Still throttled after retries", extra={"error": reason, **ids})
            return SyncResult(Outcome.THROTTLED, error=reason)
        logger.error("Could not start ingestion job", extra={"error": reason, **ids})
        return SyncResult(Outcome.FAILED, error=reason)
    except BotoCoreError as error:
        reason = describe(error)
        logger.error("Could not start ingestion job", extra={"error": reason, **ids})
        return SyncResult(Outcome.FAILED, error=reason)
    logger.info("Ingestion job started", extra={"ingestion_job_id": job_id, "description": description, **ids})
    return SyncResult(Outcome.STARTED, job_id=job_id)
