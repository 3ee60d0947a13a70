"""Answer a real boto3 client's event-stream operations at the HTTP layer, with frames botocore itself parses.

botocore's Stubber cannot produce an event stream. These helpers let a real client build, validate and sign
its request as usual, then hand it the bytes AWS would send (the `application/vnd.amazon.eventstream` frame
format), so that the client's own parser, error mapping and exceptions are what the code under test sees.
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

STRING = 7


def _header(name: str, value: str) -> bytes:
    encoded_name, encoded_value = name.encode(), value.encode()
    return (
        struct.pack("!B", len(encoded_name))
        + encoded_name
        + struct.pack("!BH", STRING, len(encoded_value))
        + encoded_value
    )


def frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude, prelude CRC, headers, payload, message CRC."""
    encoded_headers = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded_headers))
    message = prelude + struct.pack("!I", binascii.crc32(prelude)) + encoded_headers + payload
    return message + struct.pack("!I", binascii.crc32(message))


def event(name: str, payload: Mapping[str, Any]) -> bytes:
    """An event frame, e.g. event("messageStop", {"stopReason": "end_turn"})."""
    headers = {":message-type": "event", ":event-type": name, ":content-type": "application/json"}
    return frame(headers, json.dumps(payload).encode())


def exception(name: str, message: str, **fields: Any) -> bytes:
    """A modelled exception frame inside the stream, e.g. exception("internalServerException", "boom")."""
    headers = {":message-type": "exception", ":exception-type": name, ":content-type": "application/json"}
    return frame(headers, json.dumps({"message": message, **fields}).encode())


class _Raw:
    """What botocore reads a streaming body from: `stream()` yields the bytes, here one frame at a time."""

    def __init__(self, frames: list[bytes]) -> None:
        self._frames = frames

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield from self._frames

    def close(self) -> None:
        """Nothing to release."""


def stream_response(frames: list[bytes]) -> AWSResponse:
    """A 200 event-stream HTTP response carrying `frames`."""
    headers = {"content-type": "application/vnd.amazon.eventstream"}
    return AWSResponse("https://stub.invalid", 200, headers, _Raw(frames))


def error_response(status: int, code: str, message: str) -> AWSResponse:
    """An error HTTP response, as a REST-JSON service sends it before any stream."""
    body = json.dumps({"message": message}).encode()
    headers = {"x-amzn-errortype": f"{code}:http://internal.amazon.com/", "content-type": "application/json"}
    return AWSResponse("https://stub.invalid", status, headers, _Body(body))


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    def read(self, *_: Any) -> bytes:
        return self._data

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class HttpStub:
    """Answers one operation of `client` with queued responses; records the parameters of every call."""

    client: Any
    operation: str
    responses: list[AWSResponse] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        service = self.client.meta.service_model.service_id.hyphenize()
        events = self.client.meta.events
        events.register(f"before-parameter-build.{service}.{self.operation}", self._record)
        # First, so that it answers even while moto (which answers every request it can) is active.
        events.register_first(f"before-send.{service}.{self.operation}", self._send)

    def _record(self, params: Mapping[str, Any], **_: Any) -> None:
        self.calls.append(json.loads(json.dumps(params)))

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        if not self.responses:
            raise AssertionError(f"unexpected {self.operation} call: no response queued")
        return self.responses.pop(0)

    def assert_done(self) -> None:
        assert not self.responses, f"{len(self.responses)} queued {self.operation} response(s) never sent"
