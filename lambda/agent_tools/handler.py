"""Lambda targets of the agent's AgentCore Gateway: the tools that need no caller identity.

The gateway sends a tool's arguments as the event and names the tool `<target>___<tool>` in the client
context; each target is a tool group, `<group>.json` beside this file (what the model sees) and its
runners below. Each group has a function of its own whose entry point is `<group>_tools`: it serves that
group's tools and no other. The answer is JSON the gateway hands to the model; a bad call is an error the
model reads.
"""

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from agent_tools import knowledge, status
from common.schema import SchemaViolation, validate
from common.tools import Tool, load_group

logger = Logger()

# The harness waits on the answer, so a hung connection fails within seconds.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
KNOWLEDGE_BASE_ID = os.environ.get("KNOWLEDGE_BASE_ID", "")
DATA_SOURCE_ID = os.environ.get("DATA_SOURCE_ID", "")
TOOL_SEPARATOR = "___"
GROUPS_DIR = Path(__file__).resolve().parent

bedrock_agent = boto3.client("bedrock-agent", config=CLIENT_CONFIG)
bedrock_agent_runtime = boto3.client("bedrock-agent-runtime", config=CLIENT_CONFIG)


def now() -> datetime:
    return datetime.now(UTC)


Runner = Callable[[Mapping[str, Any]], dict[str, Any]]

# The gateway's targets: one tool group each, <group>.json and the runners of its tools.
TOOL_GROUPS: dict[str, dict[str, Runner]] = {
    "status": {
        "current_time": lambda arguments: status.current_time(arguments, now),
        "knowledge_base_status": lambda _: status.knowledge_base_status(
            bedrock_agent, KNOWLEDGE_BASE_ID, DATA_SOURCE_ID
        ),
    },
    "knowledge": {
        "search_documents": lambda arguments: knowledge.search_documents(
            bedrock_agent_runtime, KNOWLEDGE_BASE_ID, arguments
        ),
    },
}
TOOLS: dict[tuple[str, str], Tool] = {
    (group, name): tool for group in TOOL_GROUPS for name, tool in load_group(GROUPS_DIR / f"{group}.json").items()
}


def tool_name(context: object) -> str:
    """The `<target>___<tool>` name the gateway puts in the client context, or "" when there is none."""
    client_context = getattr(context, "client_context", None)
    custom = getattr(client_context, "custom", None)
    name = custom.get("bedrockAgentCoreToolName") if isinstance(custom, Mapping) else None
    return name if isinstance(name, str) else ""


def answer(served: str, name: str, arguments: object) -> dict[str, Any]:
    """Run the named tool of group `served`; another group's tool or a bad input is an error for the model."""
    group, _, tool = name.partition(TOOL_SEPARATOR)
    spec = TOOLS.get((group, tool)) if group == served else None
    if spec is None:
        known = ", ".join(f"{g}{TOOL_SEPARATOR}{t}" for g, t in TOOLS if g == served)
        return {"error": f"There is no tool {name or '(unnamed)'}; the tools are {known}."}
    if not isinstance(arguments, Mapping):
        return {"error": "Invalid input: the arguments must be a JSON object."}
    try:
        validate(spec.input_schema, arguments)
    except SchemaViolation as violation:
        return {"error": f"Invalid input: {violation}"}
    return TOOL_GROUPS[group][tool](arguments)


Handler = Callable[[Any, LambdaContext], dict[str, Any]]


def serve(group: str) -> Handler:
    """The entry point of the function behind the gateway target `group`."""

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
        """Answer one gateway tool call; an unexpected failure is an error result, never an exception."""
        name = tool_name(context)
        logger.append_keys(tool=name)
        try:
            result = answer(group, name, event if event is not None else {})
        except Exception:
            logger.exception("Tool failed")
            result = {"error": f"{name} failed; nothing more is known. Say so."}
        if "error" in result:
            logger.info("Tool refused", extra={"reason": result["error"]})
        return result

    return handler


HANDLERS: dict[str, Handler] = {group: serve(group) for group in TOOL_GROUPS}
status_tools = HANDLERS["status"]
knowledge_tools = HANDLERS["knowledge"]
