"""Fixtures of the script tests: real boto3 clients kept off the network by botocore Stubbers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber


def offline_client(service: str) -> Any:
    """A real client with dummy credentials; its Stubber answers every call."""
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy credential; the Stubber answers every call
    )


@pytest.fixture
def runtime() -> Any:
    return offline_client("bedrock-runtime")


@pytest.fixture
def runtime_stub(runtime: Any) -> Iterator[Stubber]:
    """Stubs every call of `runtime`; an unexpected call fails, an unmet expectation fails after the test."""
    with Stubber(runtime) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def cloudformation() -> Any:
    return offline_client("cloudformation")


@pytest.fixture
def cloudformation_stub(cloudformation: Any) -> Iterator[Stubber]:
    """Stubs every call of `cloudformation`; an unexpected call fails, an unmet expectation fails after the test."""
    with Stubber(cloudformation) as stub:
        yield stub
        stub.assert_no_pending_responses()


@dataclass(frozen=True)
class Aws:
    """Both stubbed clients of a run of the script, with their Stubbers."""

    runtime: Any
    runtime_stub: Stubber
    cloudformation: Any
    cloudformation_stub: Stubber


@pytest.fixture
def aws(runtime: Any, runtime_stub: Stubber, cloudformation: Any, cloudformation_stub: Stubber) -> Aws:
    return Aws(runtime, runtime_stub, cloudformation, cloudformation_stub)
