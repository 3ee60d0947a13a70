"""scripts/compliance.py: docs/compliance.md lists every pack, open finding and acknowledgement, and is never stale."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from scripts.compliance import COMMAND, OUTPUT, main, render
from tests.synth import Assembly


def acknowledged(rule: str, path: str, reason: str, at: str | None = None) -> dict[str, Any]:
    return {
        "ruleName": rule,
        "description": "The rule's own description.",
        "violatingConstructs": [{"constructPath": path}],
        "acknowledgedId": f"Pack::{rule}",
        "reason": reason,
        "acknowledgedAt": at or path,
    }


def violation(rule: str, *paths: str) -> dict[str, Any]:
    return {
        "ruleName": rule,
        "description": "The S3 Bucket has\nno replication.",
        "violatingConstructs": [{"constructPath": path} for path in paths],
    }


REPORT: dict[str, Any] = {
    "version": "55.0.0",
    "title": "Validation Report",
    "pluginReports": [
        {
            "pluginName": "Serverless",
            "conclusion": "success",
            "violations": [],
            "suppressedViolations": [
                acknowledged("Serverless-SQSRedrivePolicy", "Foundation/Queue/Resource", "It is itself a DLQ."),
            ],
        },
        {
            "pluginName": "AwsSolutions",
            "conclusion": "success",
            "violations": [],
            "suppressedViolations": [
                acknowledged("AwsSolutions-IAM5[Resource::*]", "Foundation/B/Role/Policy/Resource", "X-Ray | no ARN"),
                acknowledged(
                    "AwsSolutions-IAM5[Resource::<Fn.Arn>:*]", "Application/A/Role/Policy/Resource", "on <fn>:*"
                ),
                acknowledged("AwsSolutions-IAM5[Resource::*]", "Application/A/Role/Policy/Resource", "ENIs need *"),
            ],
        },
    ],
}


def test_the_committed_page_is_what_the_default_assembly_gives(assembly: Assembly) -> None:
    assert render(assembly.validation_report) == OUTPUT.read_text(encoding="utf-8"), f"stale: run {COMMAND}"


def test_the_committed_page_has_every_acknowledgement_of_the_default_assembly(assembly: Assembly) -> None:
    page = OUTPUT.read_text(encoding="utf-8")
    suppressed = [
        (plugin["pluginName"], entry)
        for plugin in assembly.validation_report["pluginReports"]
        for entry in plugin["suppressedViolations"]
    ]

    assert suppressed
    for _, entry in suppressed:
        row = f"| `{entry['acknowledgedAt']}` | `{entry['ruleName']}` |"
        assert row in page, row
    for pack in ("AwsSolutions", "Serverless", "NIST.800.53.R5", "HIPAA.Security"):
        count = sum(name == pack for name, _ in suppressed)
        assert f"| {pack} | 0 | {count} |" in page


def test_packs_and_acknowledgements_are_sorted_and_escaped() -> None:
    page = render(REPORT)

    assert "| AwsSolutions | 0 | 3 |\n| Serverless | 0 | 1 |" in page
    assert page.index("### AwsSolutions") < page.index("### Serverless")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `Application/A/Role/Policy/Resource` | `AwsSolutions-IAM5[Resource::*]` | ENIs need * |",
        "| `Application/A/Role/Policy/Resource` | `AwsSolutions-IAM5[Resource::<Fn.Arn>:*]` | on \\<fn>:* |",
        "| `Foundation/B/Role/Policy/Resource` | `AwsSolutions-IAM5[Resource::*]` | X-Ray \\| no ARN |",
        "| `Foundation/Queue/Resource` | `Serverless-SQSRedrivePolicy` | It is itself a DLQ. |",
    ]
    assert "## Open findings\n\nNone.\n" in page


def test_the_order_of_the_report_does_not_change_the_page() -> None:
    shuffled = copy.deepcopy(REPORT)
    shuffled["pluginReports"].reverse()
    for plugin in shuffled["pluginReports"]:
        plugin["suppressedViolations"].reverse()

    assert render(shuffled) == render(REPORT)


def test_an_acknowledgement_made_on_a_parent_says_where() -> None:
    report = copy.deepcopy(REPORT)
    report["pluginReports"][0]["suppressedViolations"] = [
        acknowledged("Serverless-LambdaDLQ", "Application/Fn/Resource", "Invoked synchronously.", at="Application/Fn")
    ]

    assert (
        "| `Application/Fn/Resource` (acknowledged at `Application/Fn`) | `Serverless-LambdaDLQ` | "
        "Invoked synchronously. |"
    ) in render(report)


def test_open_findings_are_listed_per_construct_and_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = copy.deepcopy(REPORT)
    report["pluginReports"][0]["violations"] = [violation("Serverless-Rule", "Foundation/Z", "Foundation/Y")]
    (tmp_path / "validation-report.json").write_text(json.dumps(report))
    output = tmp_path / "compliance.md"

    assert main(["--assembly", str(tmp_path)], output=output) == 1

    page = output.read_text()
    assert "| AwsSolutions | 0 | 3 |\n| Serverless | 2 | 1 |" in page
    assert (
        "## Open findings\n\n### Serverless\n\n| Construct | Rule | Finding |\n| --- | --- | --- |\n"
        "| `Foundation/Y` | `Serverless-Rule` | The S3 Bucket has no replication. |\n"
        "| `Foundation/Z` | `Serverless-Rule` | The S3 Bucket has no replication. |\n"
    ) in page
    assert capsys.readouterr().err == f"2 open cdk-nag finding(s), listed in {output}\n"


def test_main_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "validation-report.json").write_text(json.dumps(REPORT))
    output = tmp_path / "docs" / "compliance.md"
    args = ["--assembly", str(tmp_path)]

    assert main([*args, "--check"], output=output) == 1
    assert main(args, output=output) == 0
    assert main([*args, "--check"], output=output) == 0
    output.write_text(output.read_text().replace("ENIs need *", "ENIs"))
    assert main([*args, "--check"], output=output) == 1
    assert main(["--assembly", str(tmp_path / "missing")], output=output) == 2

    errors = capsys.readouterr().err.splitlines()
    assert errors[:2] == [f"{output} is out of date with {tmp_path / 'validation-report.json'}; run {COMMAND}"] * 2
    assert errors[2].endswith(f"does not exist: synthesize first ({COMMAND} does)")
