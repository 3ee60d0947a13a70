"""The deployed Application stack the scripts call: its name and region from the configuration, and its outputs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from botocore.exceptions import ClientError

from scripts.aws_errors import error_code, one_line
from stacks.config import AppConfig, ConfigError, load_config

ROOT: Final = Path(__file__).resolve().parents[1]
CDK_JSON: Final = ROOT / "cdk.json"


class StackError(Exception):
    """The stack, or an output of it, cannot be found; the message is the one-line error to print."""


def read_context(overrides: Iterable[tuple[str, str]] = (), cdk_json: Path | None = None) -> dict[str, Any]:
    """cdk.json's context with the `-c` pairs over it, their values strings as the CDK CLI passes them."""
    context = dict(json.loads((cdk_json or CDK_JSON).read_text(encoding="utf-8"))["context"])
    context.update(overrides)
    return context


def application_stack_name(config: AppConfig) -> str:
    """The name the app gives the Application stack."""
    return f"{config.stack_prefix}-Application"


def locate(stack_name: str | None, region: str | None) -> tuple[str, str | None]:
    """(stack name, region): those given, else the configuration's in cdk.json; no region leaves it to the SDK."""
    if stack_name and region:
        return stack_name, region
    try:
        config = load_config(read_context())
    except ConfigError as error:
        raise StackError(f"config error in cdk.json: {error} (or pass --stack-name and --region)") from None
    return stack_name or application_stack_name(config), region or config.region


def read_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The outputs of the stack, by key; a stack that does not exist raises StackError, other errors propagate."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if error_code(error) != "ValidationError":
            raise
        stacks = []
    if not stacks:
        raise StackError(
            f"stack '{stack_name}' not found in {cloudformation.meta.region_name}"
            " (deploy it with `make deploy`, or pass --stack-name or --region)"
        )
    return {output["OutputKey"]: output.get("OutputValue", "") for output in stacks[0].get("Outputs", [])}


def require(outputs: Mapping[str, str], stack_name: str, keys: Sequence[str], hint: str) -> list[str]:
    """The values of `keys`, in order; any missing or empty one raises StackError naming them and the hint."""
    missing = [key for key in keys if not outputs.get(key)]
    if missing:
        present = ", ".join(sorted(outputs)) or "none"
        raise StackError(
            one_line(f"stack '{stack_name}' has no output {' or '.join(missing)} (its outputs: {present}); {hint}")
        )
    return [outputs[key] for key in keys]
