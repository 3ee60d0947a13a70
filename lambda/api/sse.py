"""The events of the streaming routes (server-sent events), and how they are written.

Each event is `event: <name>` and one line of JSON `data`, then a blank line:

- `session`      {sessionId}                      first, on /ask and /agent: the id to continue with
- `delta`        {text}                           the next piece of the answer
- `citation`     {source, text?}                  a document the answer draws on (relative to documents/)
- `guardrail`    {action, message, assessments?}  the guardrail intervened: drop the text shown so far, show message
- `confirmation` {id, tool, input}                the agent waits for the user to approve this exact tool call
- `metadata`     {stopReason, usage, ...}         how the answer ended and what it cost
- `error`        {code, message, requestId}       the same envelope as the buffered routes; the stream ends
- `done`         {}                               the last event of every stream that did not end in error
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NAMES = ("session", "delta", "citation", "guardrail", "confirmation", "metadata", "error", "done")


@dataclass(frozen=True)
class Event:
    """One server-sent event."""

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.name not in NAMES:
            raise ValueError(f"unknown event {self.name}")
        payload = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return f"event: {self.name}\ndata: {payload}\n\n".encode()


def delta(text: str) -> Event:
    return Event("delta", {"text": text})


def done() -> Event:
    return Event("done")
