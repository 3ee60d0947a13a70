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

from .agent_tools_fakes import DS_ID, KB_ID, REGION, TABLE, Clock, IdSequence, create_tickets_table

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, so that nothing can sign a request to real AWS."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def dynamodb(aws_credentials: None) -> Iterator[Any]:
    """A moto DynamoDB resource holding the tickets table."""
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name=REGION)
        create_tickets_table(resource)
        yield resource


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
    return boto3.client("bedrock-agent", region_name=REGION)


@pytest.fixture
def stubber(bedrock_client: Any) -> Iterator[Stubber]:
    """Stubs every call of `bedrock_client`; unexpected calls fail, unmet expectations fail after the test."""
    with Stubber(bedrock_client) as stub:
        yield stub
        stub.assert_no_pending_responses()


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
