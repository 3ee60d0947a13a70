"""Fixtures of the script tests: real boto3 clients kept off the network by botocore Stubbers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from scripts import stack_outputs
from stacks.config import CONTEXT_KEY
from tests.aws import offline_client, stubbed

__all__ = ["Aws", "Settings", "offline_client"]  # the script tests import these from here


Settings = Callable[[Mapping[str, Any]], None]


@pytest.fixture(autouse=True)
def cdk_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """The cdk.json the scripts read: the project's feature flags and the given `genai` settings, none until a
    test gives some, so that a fork's own settings never change what these tests check."""
    flags = {key: value for key, value in stack_outputs.read_context().items() if key != CONTEXT_KEY}

    def write(settings: Mapping[str, Any]) -> None:
        path = tmp_path / "settings-cdk.json"
        path.write_text(json.dumps({"context": {**flags, CONTEXT_KEY: dict(settings)}}), encoding="utf-8")
        monkeypatch.setattr(stack_outputs, "CDK_JSON", path)

    write({})
    return write


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
