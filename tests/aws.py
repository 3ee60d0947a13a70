"""AWS pieces shared by the Lambda and script tests: offline boto3 clients, their Stubbers, a Lambda context."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.stub import Stubber

REGION = "us-east-1"


def offline_client(service: str, config: Config | None = None) -> Any:
    """A real client in REGION with dummy credentials; a Stubber answers its calls, nothing reaches AWS."""
    return boto3.client(
        service,
        config=config,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy credential; the Stubber answers every call
    )


def stubbed(client: Any) -> Iterator[Stubber]:
    """Yield a Stubber on `client` for a fixture: unexpected calls fail, unmet expectations fail after the test."""
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@dataclass(frozen=True)
class LambdaContext:
    """The Lambda context attributes the functions and Powertools read; the ARN and log group follow the name."""

    function_name: str
    aws_request_id: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"

    @property
    def invoked_function_arn(self) -> str:
        """The ARN of the function, in REGION."""
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """The function's log group."""
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """A fixed time left, well within the function's timeout."""
        return 28_000
