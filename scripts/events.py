"""Read the server-sent events of the API's streaming routes (`<route>/stream`), strictly.

The API writes each event as an `event: <name>` line and a `data: <one line of JSON>` line, then a blank line
(lambda/api/sse.py). Lines that start with a colon are comments, skipped as the SSE format says. Anything else
raises ProtocolError: another field, a field given twice, an event without its name or data, a name outside the
API's vocabulary, data that is not a JSON object, or a stream that ends inside an event. A client that guessed
could show text the API never sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

NAMES: Final = ("session", "delta", "citation", "guardrail", "confirmation", "metadata", "error", "done")
LAST: Final = ("done", "error")  # the events that end a stream
FIELDS: Final = ("event", "data")


class ProtocolError(ValueError):
    """The stream is not the API's server-sent events; the message says where."""


@dataclass(frozen=True)
class Event:
    """One server-sent event: its name and its JSON data."""

    name: str
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"event": self.name, "data": self.data}


def read_events(lines: Iterable[bytes]) -> Iterator[Event]:
    """The events of a stream's lines (each with its line ending), each as soon as its blank line arrives."""
    fields: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError:
            raise ProtocolError(f"line {number} is not UTF-8") from None
        if not line:
            if fields:
                yield _event(fields, number)
                fields = {}
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if not colon or name not in FIELDS:
            raise ProtocolError(f"line {number} is not an event or data field: {_cut(line)}")
        if name in fields:
            raise ProtocolError(f"line {number} repeats the {name} field of its event")
        fields[name] = value.removeprefix(" ")
    if fields:
        raise ProtocolError("the stream ended inside an event")


def _event(fields: dict[str, str], number: int) -> Event:
    missing = [name for name in FIELDS if name not in fields]
    if missing:
        raise ProtocolError(f"the event ending on line {number} has no {' and no '.join(missing)} field")
    name = fields["event"]
    if name not in NAMES:
        raise ProtocolError(f"the event ending on line {number} is of an unknown kind: {_cut(name)}")
    try:
        data = json.loads(fields["data"])
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ProtocolError(f"the {name} event ending on line {number} has data that is not a JSON object")
    return Event(name, data)


def _cut(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
