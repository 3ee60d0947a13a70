"""The Tracer: Powertools' X-Ray tracer when tracing is on, a no-op that loads no X-Ray SDK when it is off."""

from __future__ import annotations

import pytest
from api.tracing import NoOpProvider, create_tracer, tracing_disabled

LAMBDA = {"LAMBDA_TASK_ROOT": "/var/task"}


@pytest.mark.parametrize(
    ("environ", "disabled"),
    [
        (LAMBDA, False),
        ({**LAMBDA, "POWERTOOLS_TRACE_DISABLED": "false"}, False),
        ({**LAMBDA, "POWERTOOLS_TRACE_DISABLED": "true"}, True),
        ({**LAMBDA, "POWERTOOLS_TRACE_DISABLED": "1"}, True),
        ({**LAMBDA, "AWS_SAM_LOCAL": "true"}, True),
        ({}, True),
    ],
)
def test_tracing_is_off_outside_lambda_or_when_disabled(environ: dict[str, str], disabled: bool) -> None:
    assert tracing_disabled(environ) is disabled


def test_a_disabled_tracer_records_nothing() -> None:
    tracer = create_tracer({"POWERTOOLS_TRACE_DISABLED": "true"})

    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, str], context: object) -> str:
        with tracer.provider.in_subsegment("## inner") as segment:
            segment.put_annotation("route", "chat")
            segment.put_metadata("answer", event)
        return "answered"

    assert isinstance(tracer.provider, NoOpProvider)
    assert tracer.disabled
    assert handler({"q": "hi"}, object()) == "answered"
