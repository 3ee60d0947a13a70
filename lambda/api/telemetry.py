"""What both API functions publish beside their per-route metrics: the counts the alarms watch."""

import os

from aws_lambda_powertools.metrics import MetricUnit, single_metric

UPSTREAM_THROTTLES = "UpstreamThrottles"
THROTTLED = "Throttled"


def count_throttles(count: int = 1) -> None:
    """Calls a model or service throttled (callers got 429 Throttled): one metric with only the service dimension.

    The alarm reads it whatever the route; Bedrock's own per-model metric names the model differently when it is
    called through an application inference profile.
    """
    if count < 1:
        return
    service = os.environ.get("POWERTOOLS_SERVICE_NAME") or "genai-api"
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "BedrockGenAi"
    with single_metric(
        name=UPSTREAM_THROTTLES,
        unit=MetricUnit.Count,
        value=count,
        namespace=namespace,
        default_dimensions={"service": service},
    ):
        pass
