"""The status tools: the current time in a time zone, and the knowledge base's latest sync."""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from common.aws_errors import describe, error_code
from common.schema import show

logger = Logger(child=True)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NEVER_SYNCED = "NEVER_SYNCED"
# Worth retrying later: the model is told the service is unavailable rather than that it refused.
UNAVAILABLE_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "ServiceUnavailableException", "InternalServerException"}
)
STATISTICS = {
    "documents_scanned": "numberOfDocumentsScanned",
    "new_documents_indexed": "numberOfNewDocumentsIndexed",
    "modified_documents_indexed": "numberOfModifiedDocumentsIndexed",
    "documents_deleted": "numberOfDocumentsDeleted",
    "documents_failed": "numberOfDocumentsFailed",
}


class BedrockAgentClient(Protocol):
    """The part of the bedrock-agent client this module calls."""

    def list_ingestion_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """ListIngestionJobs."""


def resolve_zone(name: str) -> tzinfo | None:
    """The time zone of an IANA name, or None if unknown; UTC needs no time zone data."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    # Keys like "../x" raise ValueError, unknown ones ZoneInfoNotFoundError, odd file names OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def utc_offset(moment: datetime) -> str:
    """The UTC offset of an aware datetime as +HH:MM."""
    total = round((moment.utcoffset() or timedelta(0)).total_seconds() / 60)
    hours, minutes = divmod(abs(total), 60)
    return f"{'-' if total < 0 else '+'}{hours:02d}:{minutes:02d}"


def current_time(arguments: Mapping[str, Any], now: Callable[[], datetime]) -> dict[str, Any]:
    """The local date and time in the requested zone."""
    name = str(arguments.get("timezone", "UTC"))
    zone = resolve_zone(name)
    if zone is None:
        if not available_timezones():
            return {"error": f"Time zone {show(name)} is unavailable: this runtime has no time zone data, only UTC."}
        return {"error": f"Unknown time zone {show(name)}; use an IANA name such as Europe/Paris, or UTC."}
    local = now().astimezone(zone)
    return {
        "timezone": "UTC" if zone is UTC else name,
        "iso": local.isoformat(timespec="seconds"),
        "weekday": WEEKDAYS[local.weekday()],
        "utc_offset": utc_offset(local),
    }


def _iso(value: object) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if isinstance(value, datetime) else None


def summarize_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an ingestion job summary the model needs."""
    statistics = job.get("statistics") or {}
    return {
        "status": str(job.get("status")),
        "started_at": _iso(job.get("startedAt")),
        "updated_at": _iso(job.get("updatedAt")),
        "statistics": {name: int(statistics.get(field, 0)) for name, field in STATISTICS.items()},
    }


def knowledge_base_status(client: BedrockAgentClient, knowledge_base_id: str, data_source_id: str) -> dict[str, Any]:
    """The latest ingestion job of the data source."""
    if not knowledge_base_id or not data_source_id:
        logger.error("KNOWLEDGE_BASE_ID and DATA_SOURCE_ID must be set")
        return {"error": "The knowledge base status is not configured."}
    try:
        response = client.list_ingestion_jobs(
            knowledgeBaseId=knowledge_base_id,
            dataSourceId=data_source_id,
            sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"},
            maxResults=1,
        )
    except ClientError as error:
        logger.error("Could not list ingestion jobs", extra={"error": describe(error)})
        if error_code(error) in UNAVAILABLE_CODES:
            return {"error": "The knowledge base status is unavailable right now; try again in a minute."}
        return {"error": "Could not read the knowledge base status."}
    except BotoCoreError as error:
        logger.error("Could not list ingestion jobs", extra={"error": describe(error)})
        return {"error": "Could not reach Bedrock to read the knowledge base status."}
    jobs = response.get("ingestionJobSummaries") or []
    return summarize_job(jobs[0]) if jobs else {"status": NEVER_SYNCED}
