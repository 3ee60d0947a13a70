"""Fixtures of the API function's tests: its environment, real Bedrock clients kept off the network, the handler."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from api.clients import CLIENT_CONFIG
from api.tickets import TicketStore
from api.toolbox import Toolbox
from api.tools import tickets
from botocore.stub import Stubber
from moto import mock_aws

from tests.aws import offline_client, stubbed
from tests.eventstream import HttpStub

from .api_fakes import ENVIRONMENT, REGION, FakeContext
from .tickets_fakes import create_tickets_table

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
def harness(environment: dict[str, str]) -> Iterator[HttpStub]:
    """A real bedrock-agentcore client whose InvokeHarness calls are answered at the HTTP layer."""
    stub = HttpStub(offline_client("bedrock-agentcore", CLIENT_CONFIG), "InvokeHarness")
    yield stub
    stub.assert_done()


@pytest.fixture(scope="package")
def _moto() -> Iterator[Any]:
    """One moto DynamoDB for the package, with the tickets table as the Foundation stack defines it."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        # moto answers DynamoDB only: the harness is answered by tests.eventstream.HttpStub.
        with mock_aws(config={"core": {"passthrough": {"urls": [r"https://bedrock-agentcore\."]}}}):
            dynamodb = boto3.resource("dynamodb", region_name=REGION)
            yield create_tickets_table(dynamodb)


@pytest.fixture
def tickets_table(_moto: Any) -> Iterator[Any]:
    """The moto tickets table, emptied after the test."""
    yield _moto
    with _moto.batch_writer() as batch:
        for item in _moto.scan(ProjectionExpression="ticket_id")["Items"]:
            batch.delete_item(Key={"ticket_id": item["ticket_id"]})


@pytest.fixture
def load_handler(environment: dict[str, str]) -> Callable[[], ModuleType]:
    """Reload api.handler, so it reads the environment as set now."""
    return lambda: importlib.reload(importlib.import_module("api.handler"))


@pytest.fixture
def api(
    load_handler: Callable[[], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
    runtime_stub: Stubber,
    agent_runtime_stub: Stubber,
) -> ModuleType:
    """api.handler with the stubbed clients; /compare runs its models one at a time, in the Stubber's order."""
    module = load_handler()
    monkeypatch.setattr(module, "bedrock_runtime", runtime_stub.client)
    monkeypatch.setattr(module, "bedrock_agent_runtime", agent_runtime_stub.client)
    monkeypatch.setattr(module, "COMPARE_WORKERS", 1)
    return module


@pytest.fixture
def agent_api(api: ModuleType, monkeypatch: pytest.MonkeyPatch, harness: HttpStub, tickets_table: Any) -> ModuleType:
    """api.handler with the HTTP-stubbed harness and the ticket tools over the moto table."""
    monkeypatch.setattr(api, "agentcore", harness.client)
    monkeypatch.setattr(api, "toolbox", Toolbox({"tickets": tickets.runners(TicketStore(tickets_table))}))
    return api


@pytest.fixture
def call(api: ModuleType) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Invoke the handler with a Lambda context."""
    return lambda event: api.handler(event, FakeContext())
