"""The Status OpenAPI action group: the current time in a time zone and the knowledge base's latest sync."""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from botocore.exceptions import BotoCoreError, ClientError

from agent_tools.logs import structured
from agent_tools.responses import api_response, failure_text
from agent_tools.schemas import OPERATIONS
from agent_tools.validation import InvalidParameterError, show, validate_parameters
from common.aws_errors import error_code, error_message

logger = logging.getLogger(__name__)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NEVER_SYNCED = "NEVER_SYNCED"
# Worth retrying later: the caller is told the service is unavailable rather than that it refused.
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

Result = tuple[int, dict[str, Any]]


class BedrockAgentClient(Protocol):
    """The part of the bedrock-agent client this module calls."""

    def list_ingestion_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """ListIngestionJobs."""


@dataclass(frozen=True)
class StatusDependencies:
    """What the operations read: the bedrock-agent client, the data source and the clock."""

    bedrock_agent: BedrockAgentClient
    knowledge_base_id: str
    data_source_id: str
    now: Callable[[], datetime]


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


def current_time(arguments: Mapping[str, object], dependencies: StatusDependencies) -> Result:
    """GET /time: the local date and time in the requested zone."""
    name = str(arguments.get("timezone", "UTC"))
    zone = resolve_zone(name)
    if zone is None:
        if not available_timezones():
            return 400, {
                "error": f"Time zone {show(name)} is unavailable: this runtime has no time zone data, only UTC."
            }
        return 400, {"error": f"Unknown time zone {show(name)}; use an IANA name such as Europe/Paris, or UTC."}
    local = dependencies.now().astimezone(zone)
    return 200, {
        "timezone": "UTC" if zone is UTC else name,
        "iso": local.isoformat(timespec="seconds"),
        "weekday": WEEKDAYS[local.weekday()],
        "utc_offset": utc_offset(local),
    }


def _iso(value: object) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if isinstance(value, datetime) else None


def summarize_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an ingestion job summary the agent needs."""
    statistics = job.get("statistics") or {}
    return {
        "status": str(job.get("status")),
        "started_at": _iso(job.get("startedAt")),
        "updated_at": _iso(job.get("updatedAt")),
        "statistics": {name: int(statistics.get(field, 0)) for name, field in STATISTICS.items()},
    }


def knowledge_base_status(arguments: Mapping[str, object], dependencies: StatusDependencies) -> Result:
    """GET /knowledge-base/status: the latest ingestion job of the data source."""
    if not dependencies.knowledge_base_id or not dependencies.data_source_id:
        logger.error(structured("KNOWLEDGE_BASE_ID and DATA_SOURCE_ID must be set"))
        return 503, {"error": "The knowledge base status is not configured."}
    try:
        response = dependencies.bedrock_agent.list_ingestion_jobs(
            knowledgeBaseId=dependencies.knowledge_base_id,
            dataSourceId=dependencies.data_source_id,
            sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"},
            maxResults=1,
        )
    except ClientError as error:
        code = error_code(error)
        logger.error(structured("Could not list ingestion jobs", error=f"{code}: {error_message(error)}"))
        status = 503 if code in UNAVAILABLE_CODES else 502
        return status, {"error": f"Could not read the knowledge base status: {code}."}
    except BotoCoreError as error:
        logger.error(structured("Could not list ingestion jobs", error=f"{type(error).__name__}: {error}"))
        return 503, {"error": "Could not reach Bedrock to read the knowledge base status."}
    jobs = response.get("ingestionJobSummaries") or []
    return 200, summarize_job(jobs[0]) if jobs else {"status": NEVER_SYNCED}


OPERATION_HANDLERS: dict[str, Callable[[Mapping[str, object], StatusDependencies], Result]] = {
    "getCurrentTime": current_time,
    "getKnowledgeBaseStatus": knowledge_base_status,
}


def _answer(event: Mapping[str, Any], dependencies: StatusDependencies) -> Result:
    method = str(event.get("httpMethod", "")).upper()
    path = str(event.get("apiPath", ""))
    operation = OPERATIONS.get((method, path))
    run = OPERATION_HANDLERS.get(operation.operation_id) if operation else None
    if operation is None or run is None:
        available = ", ".join(f"{known_method} {known_path}" for known_method, known_path in OPERATIONS)
        return 404, {"error": f"No operation {method} {path}; the operations are {available}."}
    if event.get("requestBody") and not operation.accepts_body:
        return 400, {"error": f"{method} {path} takes no request body."}
    try:
        arguments = validate_parameters(f"{method} {path}", operation.parameters, event.get("parameters"))
    except InvalidParameterError as error:
        return 400, {"error": str(error)}
    return run(arguments, dependencies)


def handle_api_call(
    event: Mapping[str, Any], dependencies: StatusDependencies, *, request_id: str | None
) -> dict[str, Any]:
    """Answer an API call; every outcome, even an unexpected error, is an HTTP status with a JSON body."""
    try:
        status, payload = _answer(event, dependencies)
    except Exception:
        logger.exception(structured("API call failed", api_path=event.get("apiPath"), request_id=request_id))
        status, payload = 500, {"error": failure_text(request_id)}
    logger.info(structured("API call answered", api_path=event.get("apiPath"), status=status))
    return api_response(event, status, payload)
