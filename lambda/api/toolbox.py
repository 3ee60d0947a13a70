"""Runs the agent's inline tools for the verified caller: checks each call against its schema, never raises."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.tools import Invocation, Runner, ToolRefusal, ToolUse, group
from common.schema import SchemaViolation, validate
from common.tools import Tool

logger = logging.getLogger(__name__)

DECLINED = "The user declined this action; nothing was changed. Do not try it again unless the user asks."


@dataclass(frozen=True)
class ToolResult:
    """What goes back to the model for one tool call."""

    tool_use_id: str
    status: str  # success or error
    content: Mapping[str, Any]

    def block(self) -> dict[str, Any]:
        """The InvokeHarness toolResult content block."""
        return {
            "toolResult": {"toolUseId": self.tool_use_id, "content": [{"json": self.content}], "status": self.status}
        }


class Toolbox:
    """The inline tools of every group (the handler's TOOL_GROUPS), and their runners."""

    def __init__(self, groups: Mapping[str, Mapping[str, Runner]]) -> None:
        self.tools: dict[str, Tool] = {}
        self._runners: dict[str, Runner] = {}
        for name, runners in groups.items():
            tools = group(name)
            if set(tools) != set(runners):
                raise ValueError(f"tool group {name}: the tools of {name}.json and its runners differ")
            if set(tools) & set(self.tools):
                raise ValueError(f"tool group {name}: {sorted(set(tools) & set(self.tools))} declared twice")
            self.tools.update(tools)
            self._runners.update(runners)

    def knows(self, name: str) -> bool:
        """Whether `name` is one of the inline tools."""
        return name in self.tools

    def needs_confirmation(self, use: ToolUse) -> bool:
        """Whether a call changes state and waits for the user (an unknown tool never runs: `run` refuses it)."""
        tool = self.tools.get(use.name)
        return tool is not None and tool.confirm

    def run(self, call: Invocation) -> ToolResult:
        """Run one call: a bad input or a failure is an error result the model can read, not an exception."""
        use = call.use
        tool = self.tools.get(use.name)
        if tool is None:
            return ToolResult(use.id, "error", {"error": f"There is no tool {use.name}."})
        try:
            validate(tool.input_schema, dict(use.input))
        except SchemaViolation as violation:
            return ToolResult(use.id, "error", {"error": f"Invalid input: {violation}"})
        try:
            return ToolResult(use.id, "success", self._runners[use.name](call))
        except ToolRefusal as refusal:
            return ToolResult(use.id, "error", {"error": str(refusal)})
        except Exception:
            logger.exception("Tool failed", extra={"tool": use.name, "tool_use_id": use.id})
            return ToolResult(use.id, "error", {"error": f"{use.name} failed; nothing more is known. Say so."})

    def decline(self, use: ToolUse) -> ToolResult:
        """The result of a call the user did not approve."""
        return ToolResult(use.id, "error", {"error": DECLINED})
