"""Fixtures of the API function's tests: its environment, real Bedrock clients kept off the network, the handler."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.aws import offline_client, stubbed

from .api_fakes import ENVIRONMENT, REGION, FakeAgentRuntime, FakeContext

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
def fake_agent() -> FakeAgentRuntime:
    return FakeAgentRuntime()


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
def agent_api(api: ModuleType, monkeypatch: pytest.MonkeyPatch, fake_agent: FakeAgentRuntime) -> ModuleType:
    """api.handler with the scripted InvokeAgent client."""
    monkeypatch.setattr(api, "bedrock_agent_runtime", fake_agent)
    return api


@pytest.fixture
def call(api: ModuleType) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Invoke the handler with a Lambda context."""
    return lambda event: api.handler(event, FakeContext())
