"""Parse the S3 object events that EventBridge delivers to SQS, one per message, into document changes."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(child=True)

S3_SOURCE = "aws.s3"
RELEVANT_DETAIL_TYPES = frozenset({"Object Created", "Object Deleted"})


class MalformedMessageError(ValueError):
    """An SQS message body that is not an EventBridge S3 object event of interest."""


@dataclass(frozen=True)
class DocumentChange:
    """One object created or deleted in the documents bucket."""

    detail_type: str
    bucket: str
    key: str


@dataclass(frozen=True)
class ChangeMessage:
    """An SQS message and the document change it carries."""

    message_id: str
    change: DocumentChange


def _non_empty_string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_change(body: object) -> DocumentChange:
    """Parse an EventBridge event body; the key is kept as EventBridge sends it, not URL-decoded."""
    if not isinstance(body, str):
        raise MalformedMessageError("body is not a string")
    try:
        event = json.loads(body)
    except json.JSONDecodeError as error:
        raise MalformedMessageError("body is not JSON") from error
    if not isinstance(event, dict):
        raise MalformedMessageError("body is not a JSON object")
    if event.get("source") != S3_SOURCE:
        raise MalformedMessageError(f"source is not {S3_SOURCE}")
    detail_type = event.get("detail-type")
    if detail_type not in RELEVANT_DETAIL_TYPES:
        raise MalformedMessageError(f"detail-type {detail_type!r} is not a document change")
    detail = event.get("detail")
    bucket = detail.get("bucket") if isinstance(detail, dict) else None
    obj = detail.get("object") if isinstance(detail, dict) else None
    bucket_name = _non_empty_string(bucket.get("name") if isinstance(bucket, dict) else None)
    key = _non_empty_string(obj.get("key") if isinstance(obj, dict) else None)
    if bucket_name is None or key is None:
        raise MalformedMessageError("event lacks detail.bucket.name or detail.object.key")
    return DocumentChange(detail_type=detail_type, bucket=bucket_name, key=key)


def relevant_messages(sqs_event: Mapping[str, Any]) -> list[ChangeMessage]:
    """The messages of an SQS batch that carry a document change; others are logged and skipped."""
    messages: list[ChangeMessage] = []
    for record in sqs_event.get("Records") or []:
        message_id = record.get("messageId") if isinstance(record, dict) else None
        if not isinstance(message_id, str):
            logger.warning("SQS record without messageId skipped")
            continue
        try:
            change = parse_change(record.get("body"))
        except MalformedMessageError as error:
            # Redelivery cannot repair a malformed body, so it is dropped rather than reported as failed.
            logger.warning("Malformed message skipped", extra={"message_id": message_id, "reason": str(error)})
            continue
        logger.info(
            "Document change", extra={"message_id": message_id, "detail_type": change.detail_type, "key": change.key}
        )
        messages.append(ChangeMessage(message_id=message_id, change=change))
    return messages
