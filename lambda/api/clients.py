"""Bedrock clients, created on first use so that a cold start that only answers /health builds none."""

import threading
from typing import Any

import boto3
from botocore.config import Config

# A request must fail inside the function's 28 s with a mapped error (504), not be cut off by the timeout, so
# the SDK does not retry: a slow model would be called twice, and throttling reaches the caller as a 429.
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=22)


class LazyClient:
    """A boto3 client of `service`, created once, on the first attribute read (thread-safe)."""

    def __init__(self, service: str, config: Config = CLIENT_CONFIG) -> None:
        self.service = service
        self.config = config
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The client, created now if this is the first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = boto3.client(self.service, config=self.config)
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)
