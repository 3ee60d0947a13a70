"""The GitHub workflows: valid against GitHub's schema, actions pinned by commit, least privilege, and doing what
the README and docs/deploy-from-github.md say."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$", re.MULTILINE)
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^ # v\d+\.\d+\.\d+$")
VALID = """\
name: ok
on: [pull_request]
permissions: {contents: read}
jobs:
  test:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    steps:
      - run: make test
"""


def load(name: str) -> dict[str, Any]:
    """A workflow as GitHub reads it (YAML 1.2: `on` stays a string)."""
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(WORKFLOWS / name)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of every job."""
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def step_using(workflow: dict[str, Any], action: str) -> dict[str, Any]:
    """The one step that uses `action` (owner/name)."""
    found = [step for step in steps(workflow) if step.get("uses", "").startswith(action + "@")]
    assert len(found) == 1, f"{action}: {len(found)} steps"
    return found[0]


def schema_check(*paths: Path, schema: str = "vendor.github-workflows") -> subprocess.CompletedProcess[str]:
    """What `make lint` runs on the workflows."""
    command = [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_workflows_are_valid_against_github_schema() -> None:
    paths = sorted(WORKFLOWS.glob("*.yml"))
    assert [path.name for path in paths] == ["ci.yml", "deploy.yml"]
    for schema in ("vendor.github-workflows", "custom.github-workflows-require-timeout"):
        result = schema_check(*paths, schema=schema)
        assert result.returncode == 0, result.stdout + result.stderr


BROKEN = {
    "unknown-event": ("on: [pull_request]", "on: [pull-request]", "$.on"),
    "bad-permission": ("{contents: read}", "{contents: reed}", "$.permissions"),
    "no-runner": ("    runs-on: ubuntu-24.04\n", "", "$.jobs.test"),
    "misspelt-step-key": ("      - run: make test", "      - runs: make test", "$.jobs.test"),
}


def test_the_schema_check_fails_on_each_broken_workflow_and_only_on_those(tmp_path: Path) -> None:
    (tmp_path / "valid.yml").write_text(VALID)
    for name, (old, new, _) in BROKEN.items():
        assert old in VALID
        (tmp_path / f"{name}.yml").write_text(VALID.replace(old, new))
    command = [str(CHECK_JSONSCHEMA), "--output-format", "json", "--builtin-schema", "vendor.github-workflows"]
    paths = map(str, sorted(tmp_path.iterdir()))
    result = subprocess.run([*command, *paths], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    errors = json.loads(result.stdout)["errors"]
    failed = {Path(error["filename"]).stem: error["path"] for error in errors}
    assert failed == {name: path for name, (_, _, path) in BROKEN.items()}


def test_a_job_without_a_timeout_fails_the_lint(tmp_path: Path) -> None:
    (tmp_path / "endless.yml").write_text(VALID.replace("    timeout-minutes: 5\n", ""))
    assert schema_check(tmp_path / "endless.yml", schema="custom.github-workflows-require-timeout").returncode == 1


def test_every_action_is_pinned_to_one_commit_with_its_version() -> None:
    pins: dict[str, set[str]] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for match in USES.finditer(path.read_text()):
            pinned = PINNED.match(match["ref"])
            assert pinned is not None, f"{path.name}: {match['ref']} is not pinned to a full commit SHA"
            assert VERSION_COMMENT.match(match["comment"]), f"{path.name}: {match['ref']} has no `# vX.Y.Z` comment"
            pins.setdefault(pinned["action"], set()).add(match.group(0).split("@", 1)[1])
    assert {"actions/checkout", "actions/setup-python", "actions/setup-node"} <= pins.keys()
    assert {action: len(refs) for action, refs in pins.items() if len(refs) > 1} == {}


def test_ci_runs_the_readme_test_command_on_pull_requests_and_main() -> None:
    ci = load("ci.yml")
    assert ci["on"] == {"pull_request": None, "push": {"branches": ["main"]}}
    runs = [step.get("run") for step in steps(ci)]
    assert "make test" in runs
    assert "make synth" in runs
    assert "\nmake test    #" in (ROOT / "README.md").read_text()


def test_ci_token_can_only_read() -> None:
    ci = load("ci.yml")
    assert ci["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in ci["jobs"].values())
    assert step_using(ci, "actions/checkout")["with"]["persist-credentials"] is False
    assert "secrets." not in (WORKFLOWS / "ci.yml").read_text()


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_caches_are_keyed_on_the_lock_files(name: str) -> None:
    workflow = load(name)
    python = step_using(workflow, "actions/setup-python")["with"]
    node = step_using(workflow, "actions/setup-node")["with"]
    assert (python["cache"], python["cache-dependency-path"]) == ("pip", "requirements-dev.lock")
    assert (node["cache"], node["cache-dependency-path"]) == ("npm", "package-lock.json")
    assert python["python-version"] == "3.11"
    assert int(node["node-version"]) >= 20


def test_ci_uploads_the_assembly_and_the_compliance_report() -> None:
    uploads = [step["with"] for step in steps(load("ci.yml")) if step.get("uses", "").startswith("actions/upload-")]
    assert {upload["path"]: upload["if-no-files-found"] for upload in uploads} == {
        "cdk.out/": "warn",
        "docs/compliance.md": "ignore",
    }


def test_ci_writes_the_template_diff_against_the_base_branch_to_the_summary() -> None:
    ci = load("ci.yml")
    (diff,) = [step for step in steps(ci) if "template-diff" in step.get("run", "")]
    assert "github.event_name == 'pull_request'" in diff["if"]
    assert diff["env"]["BASE"] == "origin/${{ github.base_ref }}"
    assert 'template-diff BASE="$BASE"' in diff["run"]
    assert '>> "$GITHUB_STEP_SUMMARY"' in diff["run"]
    assert 'exit "$status"' in diff["run"]
    # The base branch's commits must be in the clone for the diff to synthesize them.
    assert step_using(ci, "actions/checkout")["with"]["fetch-depth"] == 0


def test_deploy_is_manual_and_authenticates_with_github_oidc() -> None:
    deploy = load("deploy.yml")
    assert list(deploy["on"]) == ["workflow_dispatch"]
    profile = deploy["on"]["workflow_dispatch"]["inputs"]["profile"]
    assert (profile["type"], profile["options"], profile["default"]) == ("choice", ["dev", "prod"], "dev")
    assert deploy["permissions"] == {"id-token": "write", "contents": "read"}
    (job,) = deploy["jobs"].values()
    assert job["environment"] == "${{ inputs.profile }}"
    credentials = step_using(deploy, "aws-actions/configure-aws-credentials")["with"]
    assert credentials["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert credentials["aws-region"] == "${{ vars.AWS_REGION }}"
    assert "secrets." not in (WORKFLOWS / "deploy.yml").read_text()
    runs = [step.get("run", "") for step in steps(deploy)]
    assert runs[-1] == 'make deploy PROFILE="$PROFILE" ARGS="--require-approval never"'
    assert steps(deploy)[-1]["env"] == {"PROFILE": "${{ inputs.profile }}"}


def test_the_documented_trust_policy_admits_exactly_the_deploy_environments() -> None:
    doc = (ROOT / "docs" / "deploy-from-github.md").read_text()
    trust, permissions = (json.loads(block) for block in re.findall(r"```json\n(.*?)```", doc, re.DOTALL))
    (statement,) = trust["Statement"]
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = statement["Condition"]
    assert list(condition) == ["StringEquals"]
    assert condition["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    profiles = load("deploy.yml")["on"]["workflow_dispatch"]["inputs"]["profile"]["options"]
    subjects = condition["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert subjects == [f"repo:<owner>/<repo>:environment:{profile}" for profile in profiles]
    (allowed,) = permissions["Statement"]
    assert (allowed["Action"], allowed["Resource"]) == (
        "sts:AssumeRole",
        "arn:aws:iam::<account>:role/cdk-hnb659fds-*-role-<account>-<region>",
    )
