"""scripts/bench_stream.py measures a real streamed answer: its request reaches the model and every piece is sent."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from scripts import bench_stream


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in bench_stream.ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    from api import stream  # noqa: PLC0415 - after the environment is set

    return stream


def test_the_benchmarked_request_streams_every_piece_of_the_stub_answer(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.config import from_environ  # noqa: PLC0415
    from api.limits import Limiter  # noqa: PLC0415
    from api.services import Services  # noqa: PLC0415
    from api.toolbox import Toolbox  # noqa: PLC0415

    monkeypatch.setattr(bench_stream, "CHUNKS", 3)
    model = bench_stream.StubModel(0.0)
    sent: list[bytes] = []
    services = Services(
        settings=from_environ(os.environ),
        runtime=model,
        agent_runtime=None,
        agentcore=None,
        toolbox=Toolbox({}),
        limiter=Limiter(bench_stream.Counters(), 1000),
    )
    monkeypatch.setattr(app, "services", services)

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def keep(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                sent.append(message.get("body", b""))
            await send(message)

        await app.app(scope, receive, keep)

    first, total = asyncio.run(bench_stream.one_request(recording, model))

    body = b"".join(sent).decode()
    assert [line for line in body.splitlines() if line.startswith('data: {"text"')] == [
        'data: {"text":"word0 "}',
        'data: {"text":"word1 "}',
        'data: {"text":"word2 "}',
    ]
    assert body.rstrip().endswith("event: done\ndata: {}")
    assert 0 < first < total
