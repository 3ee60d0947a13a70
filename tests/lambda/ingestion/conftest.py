"""Fixtures of the ingestion Lambda tests: stubbed bedrock-agent and s3 clients, fake sleep and urlopen, the logs."""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from botocore.stub import Stubber

from tests.aws import offline_client, stubbed

from .ingestion_fakes import DS_ID, KB_ID, NAMESPACE, FakeUrlOpen, LogLines, RecordingSleep


@pytest.fixture(autouse=True)
def log_lines(monkeypatch: pytest.MonkeyPatch) -> LogLines:
    """The JSON records the function logs during the test, as CloudWatch receives them.

    `Logger()` is the function's logger (the one the handler builds), whose handler every module's child logger uses.
    """
    output = io.StringIO()
    monkeypatch.setattr(Logger().registered_handler, "stream", output)
    return lambda: [json.loads(line) for line in output.getvalue().splitlines()]


@pytest.fixture
def bedrock_client() -> Any:
    """A real bedrock-agent client; the Stubber keeps it off the network."""
    return offline_client("bedrock-agent")


@pytest.fixture
def stubber(bedrock_client: Any) -> Iterator[Stubber]:
    """Stubs every call of `bedrock_client`; unexpected calls fail, unmet expectations fail after the test."""
    yield from stubbed(bedrock_client)


@pytest.fixture
def s3_client() -> Any:
    """A real s3 client; the Stubber keeps it off the network."""
    return offline_client("s3")


@pytest.fixture
def s3_stubber(s3_client: Any) -> Iterator[Stubber]:
    """Stubs every call of `s3_client`; a call without an added response raises."""
    yield from stubbed(s3_client)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def urlopen() -> FakeUrlOpen:
    return FakeUrlOpen()


@pytest.fixture
def handler_module(
    monkeypatch: pytest.MonkeyPatch, bedrock_client: Any, stubber: Stubber, s3_client: Any, s3_stubber: Stubber
) -> ModuleType:
    """ingestion.handler loaded with the function's environment, its clients replaced by the stubbed ones."""
    monkeypatch.setenv("KNOWLEDGE_BASE_ID", KB_ID)
    monkeypatch.setenv("DATA_SOURCE_ID", DS_ID)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    # The modules' loggers were named when first imported, without a service: the handler's must match them.
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OUTCOME_WINDOW_MINUTES", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    module = importlib.reload(importlib.import_module("ingestion.handler"))
    monkeypatch.setattr(module, "bedrock_agent", bedrock_client)
    monkeypatch.setattr(module, "s3", s3_client)
    return module
