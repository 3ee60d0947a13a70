"""Count the ingestion jobs that ended in a time window: Bedrock sends no event when a job ends, so a schedule polls."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from common.aws_errors import describe
from ingestion.retry import Sleep, call_with_backoff

logger = Logger(child=True)

FINAL_STATUSES = ("COMPLETE", "FAILED", "STOPPED")
PAGE_SIZE = 100
# A window must divide the hour, so that a schedule at minutes 0/W of every hour counts each moment once.
WINDOW_MINUTES = tuple(minutes for minutes in range(1, 61) if 60 % minutes == 0)
MAX_REASONS = 5
MAX_REASON_LENGTH = 500


class BedrockAgentClient(Protocol):
    """The part of the bedrock-agent client this module calls."""

    def list_ingestion_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """ListIngestionJobs."""

    def get_ingestion_job(self, **kwargs: Any) -> dict[str, Any]:
        """GetIngestionJob."""


@dataclass(frozen=True)
class Window:
    """The moments from `start` (included) to `end` (excluded)."""

    start: datetime
    end: datetime

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


@dataclass(frozen=True)
class Outcomes:
    """How many jobs ended in each final state within the window, and how many documents they failed on."""

    window: Window
    complete: int
    failed: int
    stopped: int
    documents_failed: int

    @property
    def metrics(self) -> dict[str, int]:
        """The values to publish, by metric name."""
        return {
            "IngestionJobsComplete": self.complete,
            "IngestionJobsFailed": self.failed,
            "IngestionJobsStopped": self.stopped,
            "IngestionDocumentsFailed": self.documents_failed,
        }


def window_minutes(text: str) -> int:
    """The window length in minutes, from the function's OUTCOME_WINDOW_MINUTES."""
    minutes = int(text) if text.strip().isdigit() else 0
    if minutes not in WINDOW_MINUTES:
        allowed = ", ".join(str(m) for m in WINDOW_MINUTES)
        raise ValueError(f"OUTCOME_WINDOW_MINUTES={text!r} is not one of: {allowed}")
    return minutes


def window_before(event_time: object, minutes: int) -> Window:
    """The `minutes` before the event's time, that time floored to a multiple of `minutes` (UTC).

    A scheduled event arrives some seconds after its minute; flooring makes each run start where the last one ended.
    """
    if not isinstance(event_time, str):
        raise ValueError("the scheduled event has no time")
    moment = datetime.fromisoformat(event_time)
    if moment.tzinfo is None:
        raise ValueError(f"the scheduled event's time {event_time!r} has no time zone")
    moment = moment.astimezone(UTC)
    end = moment.replace(minute=moment.minute - moment.minute % minutes, second=0, microsecond=0)
    return Window(start=end - timedelta(minutes=minutes), end=end)


def ended_jobs(
    client: BedrockAgentClient, knowledge_base_id: str, data_source_id: str, window: Window, *, sleep: Sleep
) -> list[Mapping[str, Any]]:
    """The jobs of the data source that reached a final state within the window, newest first."""
    params: dict[str, Any] = {
        "knowledgeBaseId": knowledge_base_id,
        "dataSourceId": data_source_id,
        # The API sorts by STATUS or STARTED_AT only; updatedAt is filtered here.
        "sortBy": {"attribute": "STARTED_AT", "order": "DESCENDING"},
        "maxResults": PAGE_SIZE,
    }
    ended: list[Mapping[str, Any]] = []
    while True:
        response = call_with_backoff(partial(client.list_ingestion_jobs, **params), sleep=sleep)
        for job in response.get("ingestionJobSummaries") or []:
            if job.get("status") in FINAL_STATUSES and job.get("updatedAt") in window:
                ended.append(job)
            # A data source runs one job at a time: every job started before this one had ended when it started.
            if job["startedAt"] < window.start:
                return ended
        token = response.get("nextToken")
        if not token:
            return ended
        params["nextToken"] = token


def _bounded(text: object) -> str:
    return " ".join(str(text).split())[:MAX_REASON_LENGTH]


def failure_reasons(
    client: BedrockAgentClient, knowledge_base_id: str, data_source_id: str, job_id: str, *, sleep: Sleep
) -> tuple[list[str], int]:
    """The first reasons a job failed, each on one bounded line, and how many reasons there are."""
    response = call_with_backoff(
        partial(
            client.get_ingestion_job,
            knowledgeBaseId=knowledge_base_id,
            dataSourceId=data_source_id,
            ingestionJobId=job_id,
        ),
        sleep=sleep,
    )
    reasons = response["ingestionJob"].get("failureReasons") or []
    return [_bounded(reason) for reason in reasons[:MAX_REASONS]], len(reasons)


def _documents_failed(job: Mapping[str, Any]) -> int:
    return int((job.get("statistics") or {}).get("numberOfDocumentsFailed", 0))


def _iso(moment: object) -> str | None:
    return moment.astimezone(UTC).isoformat() if isinstance(moment, datetime) else None


def job_outcomes(
    event: Mapping[str, Any],
    client: BedrockAgentClient,
    knowledge_base_id: str,
    data_source_id: str,
    *,
    minutes: int,
    sleep: Sleep,
) -> Outcomes:
    """Count the jobs that ended in the window before a scheduled event; log each failed job and why it failed."""
    window = window_before(event.get("time"), minutes)
    ids = {"knowledge_base_id": knowledge_base_id, "data_source_id": data_source_id}
    try:
        jobs = ended_jobs(client, knowledge_base_id, data_source_id, window, sleep=sleep)
        failures = [
            (job, failure_reasons(client, knowledge_base_id, data_source_id, job["ingestionJobId"], sleep=sleep))
            for job in jobs
            if job["status"] == "FAILED"
        ]
    except (ClientError, BotoCoreError) as error:
        # Nothing is published, so a retry of this event counts the same window once.
        logger.error("Could not read the ingestion jobs", extra={"error": describe(error), **ids})
        raise
    for job, (reasons, total) in failures:
        logger.error(
            "Ingestion job failed",
            extra={
                "ingestion_job_id": job["ingestionJobId"],
                "failure_reasons": reasons,
                "failure_reason_count": total,
                "documents_failed": _documents_failed(job),
                "description": job.get("description"),
                "started_at": _iso(job.get("startedAt")),
                "updated_at": _iso(job.get("updatedAt")),
                **ids,
            },
        )
    for job in jobs:
        if job["status"] != "FAILED" and _documents_failed(job):
            logger.warning(
                "Ingestion job ended with failed documents",
                extra={
                    "ingestion_job_id": job["ingestionJobId"],
                    "status": job["status"],
                    "documents_failed": _documents_failed(job),
                    **ids,
                },
            )
    statuses = [job["status"] for job in jobs]
    outcomes = Outcomes(
        window=window,
        complete=statuses.count("COMPLETE"),
        failed=statuses.count("FAILED"),
        stopped=statuses.count("STOPPED"),
        documents_failed=sum(_documents_failed(job) for job in jobs),
    )
    logger.info(
        "Ingestion job outcomes",
        extra={"window_start": _iso(window.start), "window_end": _iso(window.end), **outcomes.metrics, **ids},
    )
    return outcomes
