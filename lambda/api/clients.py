"""AWS clients, created on first use so that a cold start that only answers /health builds none."""

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

# A request must fail inside the function's 28 s with a mapped error (504), not be cut off by the timeout, so
# the SDK does not retry: a slow model would be called twice, and throttling reaches the caller as a 429.
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=22)
# A stream may fall silent while the agent runs a tool or the model thinks: it waits up to the time the streaming
# function has, less a margin to report the timeout in the stream.
STREAM_MARGIN_SECONDS = 15


def stream_client_config(timeout_seconds: int) -> Config:
    """CLIENT_CONFIG for the streaming function, whose invocations may last `timeout_seconds`."""
    return CLIENT_CONFIG.merge(Config(read_timeout=max(10, timeout_seconds - STREAM_MARGIN_SECONDS)))


# DynamoDB answers in milliseconds: a retry on a throttled or dropped call costs nothing the caller would notice.
TABLE_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=5)

# Every operation the function calls, by service: the tests check the bundled SDK has each one.
OPERATIONS = {
    "bedrock-runtime": ("ApplyGuardrail", "Converse", "ConverseStream"),
    "bedrock-agent-runtime": ("Retrieve", "RetrieveAndGenerate", "RetrieveAndGenerateStream"),
    "bedrock-agentcore": ("InvokeHarness",),
    "dynamodb": ("GetItem", "PutItem", "Query", "UpdateItem"),
}


class Lazy:
    """An object built by `factory` once, on the first attribute read (thread-safe)."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._object: Any = None
        self._lock = threading.Lock()

    @property
    def target(self) -> Any:
        """The object, built now if this is the first use."""
        if self._object is None:
            with self._lock:
                if self._object is None:
                    self._object = self._factory()
        return self._object

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


def lazy_client(service: str, config: Config = CLIENT_CONFIG) -> Any:
    """A boto3 client of `service`, created on first use."""
    return Lazy(lambda: boto3.client(service, config=config))


def lazy_table(name: str) -> Any:
    """A boto3 DynamoDB Table resource, created on first use."""
    return Lazy(lambda: boto3.resource("dynamodb", config=TABLE_CONFIG).Table(name))
