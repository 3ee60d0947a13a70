"""scripts/config_docs.py: docs/configuration.md is generated from stacks/config.py and never drifts from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.config_docs import COMMAND, OUTPUT, ROOT, main, render
from stacks.config import parse_settings

DOCUMENT = OUTPUT.read_text(encoding="utf-8")


def setting_rows() -> dict[str, list[str]]:
    """The documented settings, not the items of lists, objects or topic files: key -> [allowed, dev, prod, help]."""
    rows = {}
    for line in DOCUMENT.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if len(cells) == 5 and cells[0].startswith("`") and not any(s in cells[0] for s in ("[", "<name>")):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def documented_defaults(profile: str) -> dict[str, Any]:
    """The settings object that spells out every documented default of `profile`."""
    settings: dict[str, Any] = {}
    for key, (_, dev, prod, _) in setting_rows().items():
        value = dev if profile == "dev" or prod == "same" else prod
        *parents, name = key.split(".")
        node = settings
        for parent in parents:
            node = node.setdefault(parent, {})
        node[name] = json.loads(value.strip("`"))
    return settings


def test_the_committed_page_is_what_the_script_generates() -> None:
    assert render() == DOCUMENT, f"docs/configuration.md is stale: run {COMMAND}"


@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_the_documented_defaults_are_the_defaults_of_each_profile(profile: str) -> None:
    assert parse_settings(documented_defaults(profile)) == parse_settings({"profile": profile})


def test_it_documents_what_the_profiles_change() -> None:
    rows = setting_rows()
    changed = {key for key, (_, _, prod, _) in rows.items() if prod != "same"}

    assert changed == {
        "profile",
        "log_retention_days",
        "termination_protection",
        "network.max_azs",
        "network.nat_gateways",
        "network.endpoint_azs",
        "knowledge_base.sample_documents",
        "knowledge_base.opensearch_standby_replicas",
        "api.waf",
        "api.mfa",
        "api.deletion_protection",
        "observability.monthly_budget_usd",
    }
    assert rows["network.max_azs"][:3] == ["an integer from 1 to 3", "`2`", "`3`"]
    assert rows["knowledge_base.ingestion_batch_window_seconds"][0] == "an integer from 1 to 300"


def test_it_documents_files_by_their_key_and_list_items_by_theirs() -> None:
    rows = setting_rows()

    assert "agent.instruction_file" in rows
    assert "agent.instruction" not in rows
    assert "agent.inference_profile" not in rows  # taken from the top-level setting, not one of its own
    assert "| `api.models[].name` | a non-empty string of at most 60 characters |  |  |" in DOCUMENT
    assert "| `guardrail.content_filters.<name>.input` | one of: none, low, medium, high |" in DOCUMENT


def test_main_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "docs" / "configuration.md"

    assert main(["--check"], output=output) == 1
    assert main([], output=output) == 0
    assert main(["--check"], output=output) == 0
    output.write_text(output.read_text().replace("an integer from 1 to 3", "an integer from 1 to 4"))
    assert main(["--check"], output=output) == 1

    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2
    assert all(line.endswith(f"is out of date with stacks/config.py; run {COMMAND}") for line in errors)


def test_the_command_line_check_passes_on_the_committed_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.config_docs", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
