"""Turn an SQS batch of EventBridge document changes into one ingestion job and a partial batch response."""

from collections.abc import Mapping
from typing import Any, TypedDict

from aws_lambda_powertools import Logger

from ingestion.changes import relevant_messages
from ingestion.jobs import BedrockAgentClient, Outcome, client_token, sync_data_source
from ingestion.retry import Sleep

logger = Logger(child=True)


class BatchItemFailure(TypedDict):
    """A message SQS should deliver again."""

    itemIdentifier: str


class BatchResponse(TypedDict):
    """The partial batch response of an SQS event source mapping."""

    batchItemFailures: list[BatchItemFailure]


def process_batch(
    sqs_event: Mapping[str, Any],
    client: BedrockAgentClient,
    knowledge_base_id: str,
    data_source_id: str,
    *,
    sleep: Sleep,
) -> BatchResponse:
    """Start one job for every change in the batch; report the changes as failures if it could not start."""
    messages = relevant_messages(sqs_event)
    if not messages:
        return {"batchItemFailures": []}
    message_ids = [message.message_id for message in messages]
    result = sync_data_source(
        client,
        knowledge_base_id,
        data_source_id,
        # A redelivered batch reuses its token, so a job started before a crash is not started twice.
        token=client_token(message_ids),
        description=f"{len(message_ids)} document change(s) from S3",
        sleep=sleep,
    )
    if result.outcome is Outcome.STARTED:
        return {"batchItemFailures": []}
    # Bedrock re-syncs the whole data source, so a later job picks these changes up once SQS redelivers them.
    logger.info(
        "Changes left for retry",
        extra={"outcome": result.outcome.value, "messages": len(message_ids), "message_ids": message_ids},
    )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in message_ids]}
