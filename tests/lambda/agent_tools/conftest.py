"""Fixtures of the agent tools tests: the function's environment, real Bedrock clients kept off the network."""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from botocore.stub import Stubber

from tests.aws import offline_client, stubbed

from .agent_tools_fakes import ENVIRONMENT, NOW, REGION, LogLines

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
def environment(_aws_environment: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The function's environment as the stack sets it."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return dict(ENVIRONMENT)


@pytest.fixture
def agent_stub(_aws_environment: None) -> Iterator[Stubber]:
    """Stubs a real bedrock-agent client: an unexpected call fails, an unmet expectation fails after the test."""
    yield from stubbed(offline_client("bedrock-agent"))


@pytest.fixture
def runtime_stub(_aws_environment: None) -> Iterator[Stubber]:
    """Stubs a real bedrock-agent-runtime client, as strictly as `agent_stub`."""
    yield from stubbed(offline_client("bedrock-agent-runtime"))


@pytest.fixture
def load_handler(environment: dict[str, str]) -> Callable[[], ModuleType]:
    """Reload agent_tools.handler, so that it reads the environment as set now."""
    return lambda: importlib.reload(importlib.import_module("agent_tools.handler"))


@pytest.fixture
def tools(
    load_handler: Callable[[], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
    agent_stub: Stubber,
    runtime_stub: Stubber,
) -> ModuleType:
    """agent_tools.handler with its clients stubbed and a clock stopped at NOW."""
    module = load_handler()
    monkeypatch.setattr(module, "bedrock_agent", agent_stub.client)
    monkeypatch.setattr(module, "bedrock_agent_runtime", runtime_stub.client)
    monkeypatch.setattr(module, "now", lambda: NOW)
    return module


@pytest.fixture
def log_lines(tools: ModuleType, monkeypatch: pytest.MonkeyPatch) -> LogLines:
    """The JSON records the function logs from now on, as CloudWatch would receive them."""
    output = io.StringIO()
    monkeypatch.setattr(tools.logger.registered_handler, "stream", output)
    return lambda: [json.loads(line) for line in output.getvalue().splitlines()]
