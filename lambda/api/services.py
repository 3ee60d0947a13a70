"""What the routes run with: the settings, the AWS clients, the agent's tools and the per-caller budget.

Built once per execution environment from the environment; the clients are created on first use. Tests build
their own with stubbed clients.
"""

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.config import Config

from api.clients import CLIENT_CONFIG, lazy_client, lazy_table
from api.config import Settings, from_environ
from api.identity import Caller
from api.limits import Limiter
from api.sessions import SessionBinder
from api.toolbox import Toolbox
from api.tools import GROUPS, Runner


@dataclass
class Services:
    """The dependencies of every route."""

    settings: Settings
    runtime: Any  # bedrock-runtime: Converse, ConverseStream, ApplyGuardrail
    agent_runtime: Any  # bedrock-agent-runtime: Retrieve, RetrieveAndGenerate(Stream)
    agentcore: Any  # bedrock-agentcore: InvokeHarness
    toolbox: Toolbox
    limiter: Limiter

    def sessions(self) -> SessionBinder:
        """The caller-bound session ids, under the stack's key."""
        return SessionBinder(self.settings.get("SESSION_KEY").encode())

    def spend(self, caller: Caller, calls: int = 1) -> None:
        """Count model calls against the caller's budget (a 429 when it is spent)."""
        self.settings.require("USAGE_TABLE", "CALLER_CALLS_PER_MINUTE")
        self.limiter.spend(caller, calls)


def tool_groups(tables: Callable[[str], Any]) -> dict[str, Mapping[str, Runner]]:
    """The runners of every inline tool group (api/tools/<group>.json and .py), over the tables they name."""
    return {name: importlib.import_module(f"api.tools.{name}").toolkit(tables) for name in GROUPS}


def from_environment(environ: Mapping[str, str], client_config: Config = CLIENT_CONFIG) -> Services:
    """The services of a function, its clients with `client_config` (the streaming function waits longer)."""
    settings = from_environ(environ)
    return Services(
        settings=settings,
        runtime=lazy_client("bedrock-runtime", client_config),
        agent_runtime=lazy_client("bedrock-agent-runtime", client_config),
        agentcore=lazy_client("bedrock-agentcore", client_config),
        toolbox=Toolbox(tool_groups(lambda setting: lazy_table(settings.values.get(setting, "unset")))),
        limiter=Limiter(
            lazy_table(settings.values.get("USAGE_TABLE", "unset")), settings.limits["CALLER_CALLS_PER_MINUTE"]
        ),
    )
