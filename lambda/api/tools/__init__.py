"""The agent's inline tools: the harness hands each call back to the API, which runs it as the verified caller.

A tool group is `tools/<group>.json` (what the model sees: names, descriptions, input schemas, and whether a
call changes state and so needs the user's confirmation) and `tools/<group>.py`, whose `toolkit(tables)` gives
the runner of each tool. Every JSON file here is a group: the CDK app declares its tools on the harness and
api.services loads its module; adding a group is adding the two files (and its tests).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.identity import Caller
from common.tools import Tool, load_group

TOOLS_DIR = Path(__file__).resolve().parent
GROUPS = tuple(sorted(path.stem for path in TOOLS_DIR.glob("*.json")))


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
