"""The streaming route's own cost, for `make bench`: POST /chat/stream through the ASGI app, in process.

A stub model stream yields CHUNKS text pieces at a fixed pace, for each pace of PACES: a fast model's (a piece
every 10 ms, about what a small model streams) and a harsher one. The figures: how long after the model's first
piece the app writes the first byte of the first `delta` event, and the whole streamed response's duration
against the stub stream's own (iterated alone, in the same run). Run with lambda/ on PYTHONPATH; it prints one
JSON line per pace.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Iterator
from typing import Any

CHUNKS = 500
PACES = (0.010, 0.002)
RUNS = 3
ENVIRONMENT = {
    "MODELS": json.dumps([{"id": "bench-model", "name": "Bench"}]),
    "GUARDRAIL_ID": "bench",
    "GUARDRAIL_VERSION": "1",
    "SYSTEM_PROMPT": "Be brief.",
    "USAGE_TABLE": "bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "AWS_DEFAULT_REGION": "us-east-1",
}
BODY = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "Hi"}]}).encode()
CLAIMS = {"authorizer": {"claims": {"sub": "bench-user", "client_id": "bench-client"}}}


class StubModel:
    """bedrock-runtime's ConverseStream, answering CHUNKS pieces at a fixed pace; notes when the first is ready."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.first_chunk = 0.0

    def events(self) -> Iterator[dict[str, Any]]:
        yield {"messageStart": {"role": "assistant"}}
        for index in range(CHUNKS):
            time.sleep(self.interval)
            if index == 0:
                self.first_chunk = time.perf_counter()
            yield {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": f"word{index} "}}}
        yield {"messageStop": {"stopReason": "end_turn"}}
        yield {"metadata": {"usage": {"inputTokens": 1, "outputTokens": CHUNKS, "totalTokens": CHUNKS + 1}}}

    def converse_stream(self, **_: Any) -> dict[str, Any]:
        return {"stream": self.events()}


class Counters:
    """The usage table: every caller is always within budget."""

    def update_item(self, **_: Any) -> dict[str, Any]:
        return {}


def stub_seconds(interval: float) -> float:
    """The stub stream's own duration, iterated alone."""
    start = time.perf_counter()
    for _ in StubModel(interval).events():
        pass
    return time.perf_counter() - start


async def one_request(app: Any, model: StubModel) -> tuple[float, float]:
    """(seconds from the model's first piece to the first delta byte, seconds of the whole response)."""
    first_delta = 0.0
    request = {"type": "http.request", "body": BODY, "more_body": False}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/chat/stream",
        "raw_path": b"/chat/stream",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"x-amzn-request-context", json.dumps(CLAIMS).encode()),
        ],
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 1),
    }

    received = asyncio.Event()

    async def receive() -> dict[str, Any]:
        # The body once; then the client stays connected until the response ends.
        if received.is_set():
            await asyncio.Event().wait()
        received.set()
        return request

    async def send(message: dict[str, Any]) -> None:
        nonlocal first_delta
        if not first_delta and message["type"] == "http.response.body" and b"event: delta" in message.get("body", b""):
            first_delta = time.perf_counter()

    start = time.perf_counter()
    await app(scope, receive, send)
    return first_delta - model.first_chunk, time.perf_counter() - start


def main() -> None:
    os.environ.update(ENVIRONMENT)
    from api import stream  # noqa: PLC0415 - reads the environment set above
    from api.config import from_environ  # noqa: PLC0415
    from api.limits import Limiter  # noqa: PLC0415
    from api.services import Services  # noqa: PLC0415
    from api.toolbox import Toolbox  # noqa: PLC0415

    for interval in PACES:
        firsts, totals, stubs = [], [], []
        for _ in range(RUNS):
            model = StubModel(interval)
            stream.services = Services(
                settings=from_environ(os.environ),
                runtime=model,
                agent_runtime=None,
                agentcore=None,
                toolbox=Toolbox({}),
                limiter=Limiter(Counters(), 1000),
            )
            first, total = asyncio.run(one_request(stream.app, model))
            firsts.append(first)
            totals.append(total)
            stubs.append(stub_seconds(interval))
        figures = {
            "chunks": CHUNKS,
            "interval_ms": interval * 1000,
            "runs": RUNS,
            "first_byte_ms": statistics.median(firsts) * 1000,
            "stream_s": statistics.median(totals),
            "stub_s": statistics.median(stubs),
        }
        print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
