"""Fixtures of the script tests: real boto3 clients kept off the network by botocore Stubbers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.aws import offline_client, stubbed

__all__ = ["Aws", "offline_client"]  # the script tests import these from here


@pytest.fixture
def runtime() -> Any:
    return offline_client("bedrock-runtime")


@pytest.fixture
def runtime_stub(runtime: Any) -> Iterator[Stubber]:
    """Stubs every call of `runtime`; an unexpected call fails, an unmet expectation fails after the test."""
    yield from stubbed(runtime)


@pytest.fixture
def cloudformation() -> Any:
    return offline_client("cloudformation")


@pytest.fixture
def cloudformation_stub(cloudformation: Any) -> Iterator[Stubber]:
    """Stubs every call of `cloudformation`; an unexpected call fails, an unmet expectation fails after the test."""
    yield from stubbed(cloudformation)


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
