"""The agent's inline tools: the harness hands each call back to the API, which runs it as the verified caller.

A tool group is `tools/<group>.json` (what the model sees: names, descriptions, input schemas, and whether a
call changes state and so needs the user's confirmation) and `tools/<group>.py` (what runs). The CDK app
declares the JSON files' tools on the harness; the handler's TOOL_GROUPS maps each group to its runners.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.identity import Caller
from common.tools import Tool, load_group

TOOLS_DIR = Path(__file__).resolve().parent


def group(name: str) -> dict[str, Tool]:
    """The tools of `tools/<name>.json`."""
    return load_group(TOOLS_DIR / f"{name}.json")


@dataclass(frozen=True)
class ToolUse:
    """A call the model asked for."""

    id: str
    name: str
    input: Mapping[str, Any]


@dataclass(frozen=True)
class Invocation:
    """A tool call to run: who for, in which conversation, and the call."""

    caller: Caller
    session: str
    use: ToolUse


Runner = Callable[[Invocation], Mapping[str, Any]]


class ToolRefusal(Exception):
    """A call the tool declines (no such ticket, already closed): an error result the model can read."""
