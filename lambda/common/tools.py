"""Tool groups as the agent's model sees them: `<group>.json` files read by the functions and the CDK app alike."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.schema import check_schema


@dataclass(frozen=True)
class Tool:
    """A tool: its name, what it does, its input schema, and whether a call changes state (needs confirming)."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    confirm: bool = False


def load_group(path: Path) -> dict[str, Tool]:
    """The tools of a group file by name, their input schemas checked."""
    document = json.loads(path.read_text(encoding="utf-8"))
    tools: dict[str, Tool] = {}
    for entry in document["tools"]:
        check_schema(entry["inputSchema"], f"{path.stem}.{entry['name']}")
        tools[entry["name"]] = Tool(
            name=entry["name"],
            description=entry["description"],
            input_schema=entry["inputSchema"],
            confirm=bool(entry.get("confirm", False)),
        )
    return tools
