"""The client tests' fixtures: the stubbed Application stack and Cognito, and the fake opener."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.aws import offline_client

from .fakes import MACHINE, OUTPUTS, POOL, SECRET, STACK, Api, StreamingOpener, describe_stacks


@pytest.fixture
def opener() -> Iterator[StreamingOpener]:
    fake = StreamingOpener()
    yield fake
    fake.assert_all_answered()


@pytest.fixture
def cognito() -> Any:
    return offline_client("cognito-idp")


@pytest.fixture
def cognito_stub(cognito: Any) -> Iterator[Stubber]:
    with Stubber(cognito) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def clients(
    cloudformation: Any, cloudformation_stub: Stubber, cognito: Any, cognito_stub: Stubber, opener: StreamingOpener
) -> Api:
    """No AWS call is answered yet: any unscripted call fails the test."""
    return Api(cloudformation, cognito, opener)


@pytest.fixture
def stack(clients: Api, cloudformation_stub: Stubber) -> Api:
    """The Application stack with every output, read once; Cognito is not expected to be called."""
    cloudformation_stub.add_response("describe_stacks", describe_stacks(OUTPUTS), {"StackName": STACK})
    return clients


@pytest.fixture
def api(stack: Api, cognito_stub: Stubber) -> Api:
    """The stack, and the machine client's secret, read once."""
    pool_client = {"UserPoolId": POOL, "ClientName": "machine", "ClientId": MACHINE, "ClientSecret": SECRET}
    cognito_stub.add_response(
        "describe_user_pool_client", {"UserPoolClient": pool_client}, {"UserPoolId": POOL, "ClientId": MACHINE}
    )
    return stack
