"""Lambda entry point: document changes from SQS, the initial-sync custom resource, the job-outcome schedule."""

import os
import time
import urllib.request
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from ingestion.batch import BatchResponse, process_batch
from ingestion.custom_resource import handle_custom_resource
from ingestion.outcomes import job_outcomes, window_minutes

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "BedrockGenAi")

# Optional at import so the module loads in tests; the SQS and schedule paths refuse to run without them.
KNOWLEDGE_BASE_ID = os.environ.get("KNOWLEDGE_BASE_ID", "")
DATA_SOURCE_ID = os.environ.get("DATA_SOURCE_ID", "")
# Read on the schedule path only: a bad value must not stop documents from syncing.
OUTCOME_WINDOW_MINUTES = os.environ.get("OUTCOME_WINDOW_MINUTES", "15")

# A hung connection fails within seconds, not the function's 120 s; retry.py adds backoff on throttling.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=10)

bedrock_agent = boto3.client("bedrock-agent", config=CLIENT_CONFIG)
s3 = boto3.client("s3", config=CLIENT_CONFIG)


# A warm function keeps a logger's keys between invocations: each one starts from none.
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse | None:
    """Dispatch a CloudFormation request, a scheduled event or an SQS batch."""
    if "RequestType" in event:
        logger.set_correlation_id(event.get("RequestId"))
        handle_custom_resource(event, bedrock_agent, s3=s3, sleep=time.sleep, urlopen=urllib.request.urlopen)
        return None
    if not KNOWLEDGE_BASE_ID or not DATA_SOURCE_ID:
        raise RuntimeError("KNOWLEDGE_BASE_ID and DATA_SOURCE_ID must be set")
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        logger.set_correlation_id(event.get("id"))
        publish_outcomes(event)
        return None
    return process_batch(event, bedrock_agent, KNOWLEDGE_BASE_ID, DATA_SOURCE_ID, sleep=time.sleep)


def publish_outcomes(event: dict[str, Any]) -> None:
    """Publish the counts of the jobs that ended in the window before the scheduled event, zeros included."""
    outcomes = job_outcomes(
        event,
        bedrock_agent,
        KNOWLEDGE_BASE_ID,
        DATA_SOURCE_ID,
        minutes=window_minutes(OUTCOME_WINDOW_MINUTES),
        sleep=time.sleep,
    )
    for name, value in outcomes.metrics.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.flush_metrics()
