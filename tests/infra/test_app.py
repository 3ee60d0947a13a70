"""App-level promises: env-agnostic and offline by default, profile settings reach the stacks."""

from __future__ import annotations

from typing import Any

from stacks.config import LOG_RETENTION_DAYS
from stacks.constructs.common import RETENTION
from tests.synth import Assembly


def _stack_artifact(assembly: Assembly, stack: str) -> dict[str, Any]:
    return dict(assembly.manifest["artifacts"][stack])


def test_default_app_is_env_agnostic(assembly: Assembly) -> None:
    assert assembly.stacks == ["Application", "Foundation"]
    for stack in assembly.stacks:
        assert _stack_artifact(assembly, stack)["environment"] == "aws://unknown-account/unknown-region"


def test_synth_needs_no_lookups(assembly: Assembly, flipped_assembly: Assembly) -> None:
    for each in (assembly, flipped_assembly):
        assert "missing" not in each.manifest  # a context lookup would be listed here for the CLI to run


def test_account_and_region_from_config_pin_the_environment(flipped_assembly: Assembly) -> None:
    assert _stack_artifact(flipped_assembly, "Foundation")["environment"] == "aws://123456789012/eu-west-1"


def test_termination_protection_follows_the_profile(assembly: Assembly, flipped_assembly: Assembly) -> None:
    assert _stack_artifact(assembly, "Foundation")["properties"]["terminationProtection"] is False
    assert _stack_artifact(flipped_assembly, "Foundation")["properties"]["terminationProtection"] is True


def test_stack_name_and_tags(assembly: Assembly) -> None:
    properties = _stack_artifact(assembly, "Foundation")["properties"]

    assert properties["stackName"] == "BedrockGenAi-Foundation"
    assert properties["tags"] == {"project": "BedrockGenAi", "profile": "dev"}


def test_every_allowed_log_retention_maps_to_a_cdk_value() -> None:
    assert tuple(RETENTION) == LOG_RETENTION_DAYS
