"""The reader of the API's server-sent events: the API's vocabulary read back, anything else refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from api import sse

from scripts.events import Event, ProtocolError, read_events

from .answers import (
    BLOCKED,
    CHAT_METADATA,
    CONFIRMATION,
)
from .fakes import (
    frame,
)


def test_read_events_reads_the_api_vocabulary() -> None:
    lines = [
        b": a comment, skipped\n",
        b"event: session\n",
        b'data: {"sessionId": "s-1"}\n',
        b"\n",
        b"\n",
        b'data:{"text": "caf\xc3\xa9"}\r\n',
        b"event:delta\r\n",
        b"\r\n",
    ]

    assert list(read_events(lines)) == [Event("session", {"sessionId": "s-1"}), Event("delta", {"text": "café"})]


def test_read_events_yields_an_event_before_the_next_is_read() -> None:
    def lines() -> Iterator[bytes]:
        yield from frame("delta", {"text": "first"}).splitlines(keepends=True)
        pytest.fail("read past the first event before it was handed over")

    assert next(read_events(lines())) == Event("delta", {"text": "first"})


def test_read_events_reads_what_the_api_writes() -> None:
    """Every event of the API's vocabulary, encoded by the API's own writer, reads back unchanged."""
    data: dict[str, dict[str, Any]] = {
        "session": {"sessionId": "s"},
        "delta": {"text": "two\nlines, « quoted »"},
        "citation": {"source": "a b.md"},
        "guardrail": {"action": "INTERVENED", "message": BLOCKED},
        "confirmation": CONFIRMATION["confirmation"],
        "metadata": CHAT_METADATA,
        "error": {"code": "Timeout", "message": "Too slow.", "requestId": "r"},
        "done": {},
    }
    assert set(data) == set(sse.NAMES)
    encoded = b"".join(sse.Event(name, value).encode() for name, value in data.items())

    assert list(read_events(encoded.splitlines(keepends=True))) == [Event(n, v) for n, v in data.items()]


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        pytest.param([b"event: shout\n", b"data: {}\n", b"\n"], "unknown kind: 'shout'", id="unknown event"),
        pytest.param([b"event: delta\n", b"data: [1]\n", b"\n"], "data that is not a JSON object", id="not object"),
        pytest.param([b"event: delta\n", b"data: {\n", b"\n"], "data that is not a JSON object", id="not JSON"),
        pytest.param([b"event: done\n", b"\n"], "has no data field", id="no data"),
        pytest.param([b"data: {}\n", b"\n"], "has no event field", id="no name"),
        pytest.param([b"event: delta\n", b"data: {}\n", b"data: {}\n"], "line 3 repeats the data field", id="twice"),
        pytest.param([b"id: 7\n"], "line 1 is not an event or data field: 'id: 7'", id="other field"),
        pytest.param([b"event\n"], "line 1 is not an event or data field", id="no colon"),
        pytest.param([b"event: done\n", b"data: {}\n"], "the stream ended inside an event", id="cut short"),
        pytest.param([b"event: d\xe9lta\n"], "line 1 is not UTF-8", id="not UTF-8"),
    ],
)
def test_read_events_refuses_anything_else(lines: list[bytes], problem: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(problem)):
        list(read_events(lines))
