"""Fixtures of the API functions' tests: their environment, real AWS clients kept off the network, the apps.

Every route runs with `api.services.Services`; the tests build one from stubbed clients (botocore's own
parameter validation stays on) and moto tables, and put it in place of the one each module builds at import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from api import compare, guardrail
from api.clients import CLIENT_CONFIG
from api.config import from_environ
from api.limits import Limiter
from api.services import Services, tool_groups
from api.toolbox import Toolbox
from botocore.stub import Stubber
from moto import mock_aws

from tests.aws import offline_client, stubbed
from tests.eventstream import HttpStub

from .api_fakes import CALLER_CALLS_PER_MINUTE, ENVIRONMENT, REGION, USAGE_TABLE, FakeContext
from .tickets_fakes import Clock, create_tickets_table

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The function's environment, with fake credentials so nothing can sign a request to real AWS."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in {**FAKE_CREDENTIALS, **ENVIRONMENT}.items():
        monkeypatch.setenv(name, value)
    return dict(ENVIRONMENT)


@pytest.fixture
def runtime(environment: dict[str, str]) -> Any:
    return offline_client("bedrock-runtime")


@pytest.fixture
def runtime_stub(runtime: Any) -> Iterator[Stubber]:
    """Stubs every call of `runtime`; an unexpected call fails, an unmet expectation fails after the test."""
    yield from stubbed(runtime)


@pytest.fixture
def agent_runtime(environment: dict[str, str]) -> Any:
    return offline_client("bedrock-agent-runtime")


@pytest.fixture
def agent_runtime_stub(agent_runtime: Any) -> Iterator[Stubber]:
    """Stubs every call of `agent_runtime`; an unexpected call fails, an unmet expectation fails after the test."""
    yield from stubbed(agent_runtime)


@pytest.fixture
def agentcore_stub(environment: dict[str, str]) -> Iterator[Stubber]:
    """bedrock-agentcore with nothing expected: a route that calls it when it should not fails the test."""
    yield from stubbed(offline_client("bedrock-agentcore", CLIENT_CONFIG))


@pytest.fixture
def harness(environment: dict[str, str]) -> Iterator[HttpStub]:
    """A real bedrock-agentcore client whose InvokeHarness calls are answered at the HTTP layer."""
    stub = HttpStub(offline_client("bedrock-agentcore", CLIENT_CONFIG), "InvokeHarness")
    yield stub
    stub.assert_done()


def create_usage_table(dynamodb: Any) -> Any:
    """The table as stacks/constructs/api.py declares it: one counter per caller and minute."""
    return dynamodb.create_table(
        TableName=USAGE_TABLE,
        KeySchema=[{"AttributeName": "caller_window", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "caller_window", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture(scope="package")
def _moto() -> Iterator[tuple[Any, Any]]:
    """One moto DynamoDB for the package, with the tickets and usage tables as the stacks define them."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        # moto answers DynamoDB only: the harness is answered by tests.eventstream.HttpStub.
        with mock_aws(config={"core": {"passthrough": {"urls": [r"https://bedrock-agentcore\."]}}}):
            dynamodb = boto3.resource("dynamodb", region_name=REGION)
            yield create_tickets_table(dynamodb), create_usage_table(dynamodb)


def _empty(table: Any, key: str) -> None:
    with table.batch_writer() as batch:
        for item in table.scan(ProjectionExpression=key)["Items"]:
            batch.delete_item(Key={key: item[key]})


@pytest.fixture
def tickets_table(_moto: tuple[Any, Any]) -> Iterator[Any]:
    """The moto tickets table, emptied after the test."""
    yield _moto[0]
    _empty(_moto[0], "ticket_id")


@pytest.fixture
def clock() -> Clock:
    """The tickets' clock: a fixed time that moves on by a second each time it is read."""
    return Clock()


@pytest.fixture
def usage_table(_moto: tuple[Any, Any]) -> Iterator[Any]:
    """The moto usage table (the per-caller budget), emptied after the test."""
    yield _moto[1]
    _empty(_moto[1], "caller_window")


@pytest.fixture
def services(
    *,
    environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    runtime_stub: Stubber,
    agent_runtime_stub: Stubber,
    agentcore_stub: Stubber,
    usage_table: Any,
) -> Services:
    """What the routes run with: the stubbed clients, the moto usage table, no agent tools.

    /compare and the guardrail's passage checks run one call at a time, so the Stubbers answer in their order.
    """
    monkeypatch.setattr(compare, "MAX_WORKERS", 1)
    monkeypatch.setattr(guardrail, "MAX_PARALLEL", 1)
    return Services(
        settings=from_environ(environment),
        runtime=runtime_stub.client,
        agent_runtime=agent_runtime_stub.client,
        agentcore=agentcore_stub.client,
        toolbox=Toolbox({}),
        limiter=Limiter(usage_table, CALLER_CALLS_PER_MINUTE),
    )


@pytest.fixture
def load_handler(environment: dict[str, str]) -> Callable[[], ModuleType]:
    """Reload api.handler, so it reads the environment as set now."""
    return lambda: importlib.reload(importlib.import_module("api.handler"))


@pytest.fixture
def api(load_handler: Callable[[], ModuleType], monkeypatch: pytest.MonkeyPatch, services: Services) -> ModuleType:
    """api.handler running with `services`."""
    module = load_handler()
    monkeypatch.setattr(module, "services", services)
    return module


@pytest.fixture
def agent_services(services: Services, harness: HttpStub, tickets_table: Any) -> Services:
    """`services` with the HTTP-stubbed harness and the agent's tools over the moto tickets table."""
    services.agentcore = harness.client
    services.toolbox = Toolbox(tool_groups(lambda _: tickets_table))
    return services


@pytest.fixture
def agent_api(api: ModuleType, agent_services: Services) -> ModuleType:
    """api.handler with the HTTP-stubbed harness and the ticket tools over the moto table."""
    return api


@pytest.fixture
def call(api: ModuleType) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Invoke the handler with a Lambda context."""
    return lambda event: api.handler(event, FakeContext())
