"""Fixtures of the agent tools tests: a moto DynamoDB table, a stubbed bedrock-agent client, the handler module."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from agent_tools.tickets import TicketStore
from botocore.stub import Stubber
from moto import mock_aws

from tests.aws import offline_client, stubbed

from .agent_tools_fakes import DS_ID, KB_ID, REGION, TABLE, Clock, IdSequence, create_tickets_table

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="package")
def _aws_environment() -> Iterator[None]:
    """Fake credentials for the whole package, so that nothing can sign a request to real AWS."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_PROFILE", raising=False)
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        yield


@pytest.fixture
def aws_credentials(_aws_environment: None) -> None:
    """The package's fake credentials (kept as a fixture for tests that build their own clients)."""


@pytest.fixture(scope="package")
def _moto(_aws_environment: None) -> Iterator[Any]:
    """One moto DynamoDB for the package: starting moto for every test would triple the suite's time."""
    with mock_aws():
        yield boto3.resource("dynamodb", region_name=REGION)


@pytest.fixture
def dynamodb(_moto: Any) -> Iterator[Any]:
    """The moto DynamoDB resource holding an empty tickets table, emptied again after the test."""
    if TABLE not in [table.name for table in _moto.tables.all()]:
        create_tickets_table(_moto)
    yield _moto
    if TABLE in [table.name for table in _moto.tables.all()]:
        table = _moto.Table(TABLE)
        with table.batch_writer() as batch:
            for item in table.scan(ProjectionExpression="ticket_id")["Items"]:
                batch.delete_item(Key={"ticket_id": item["ticket_id"]})


@pytest.fixture
def table(dynamodb: Any) -> Any:
    return dynamodb.Table(TABLE)


@pytest.fixture
def ids() -> IdSequence:
    return IdSequence()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(table: Any, ids: IdSequence, clock: Clock) -> TicketStore:
    """A store on the moto table with predictable ids and times."""
    return TicketStore(table, new_id=ids, now=clock)


@pytest.fixture
def bedrock_client(aws_credentials: None) -> Any:
    """A real bedrock-agent client; the Stubber keeps it off the network."""
    return offline_client("bedrock-agent")


@pytest.fixture
def stubber(bedrock_client: Any) -> Iterator[Stubber]:
    """Stubs every call of `bedrock_client`; unexpected calls fail, unmet expectations fail after the test."""
    yield from stubbed(bedrock_client)


@pytest.fixture
def handler_module(monkeypatch: pytest.MonkeyPatch, dynamodb: Any, bedrock_client: Any, stubber: Stubber) -> ModuleType:
    """agent_tools.handler loaded with the function's environment inside moto, bedrock-agent stubbed."""
    monkeypatch.setenv("TICKETS_TABLE", TABLE)
    monkeypatch.setenv("KNOWLEDGE_BASE_ID", KB_ID)
    monkeypatch.setenv("DATA_SOURCE_ID", DS_ID)
    module = importlib.reload(importlib.import_module("agent_tools.handler"))
    monkeypatch.setattr(module, "bedrock_agent", bedrock_client)
    return module


@pytest.fixture
def tool(handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch, store: TicketStore, clock: Clock) -> ModuleType:
    """The handler module with predictable ticket ids and a clock that starts at NOW."""
    monkeypatch.setattr(handler_module, "open_ticket_store", lambda: store)
    monkeypatch.setattr(handler_module, "utc_now", clock)
    return handler_module
