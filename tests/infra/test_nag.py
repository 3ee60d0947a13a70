"""The compliance gate: cdk-nag's AwsSolutions, Serverless, NIST 800-53 R5 and HIPAA packs.

The gate is the synthesized validation-report.json, which is what `cdk synth` reads too: open findings
are in `violations`, acknowledged ones in `suppressedViolations` with their reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from stacks.app import add_compliance_checks
from tests.synth import MATRIX, Assembly

PACKS = {"AwsSolutions", "Serverless", "NIST.800.53.R5", "HIPAA.Security"}
MIN_REASON = 20


def _open_findings(report: dict[str, Any]) -> list[str]:
    return [
        f"{violation['ruleName']} at {construct['constructPath']}: {violation['description'][:120]}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def _weak_acknowledgements(report: dict[str, Any]) -> list[str]:
    return [
        f"{suppressed['acknowledgedId']} at {suppressed['acknowledgedAt']}: {suppressed.get('reason')!r}"
        for plugin in report["pluginReports"]
        for suppressed in plugin.get("suppressedViolations", [])
        if len(suppressed.get("reason") or "") < MIN_REASON
    ]


@pytest.mark.parametrize("variant", ["assembly", "prod_assembly", "flipped_assembly"])
def test_no_open_findings(variant: str, request: pytest.FixtureRequest) -> None:
    report = request.getfixturevalue(variant).validation_report

    findings = _open_findings(report)
    assert not findings, "open cdk-nag findings:\n" + "\n".join(findings)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_no_open_findings_for_any_profile_environment_or_geography(name: str, matrix: dict[str, Assembly]) -> None:
    assembly = matrix[name]

    assert assembly.stacks == ["Application", "Foundation"]
    findings = _open_findings(assembly.validation_report)
    assert not findings, f"open cdk-nag findings in {name}:\n" + "\n".join(findings)


@pytest.mark.parametrize("variant", ["assembly", "flipped_assembly"])
def test_every_acknowledgement_states_its_reason(variant: str, request: pytest.FixtureRequest) -> None:
    report = request.getfixturevalue(variant).validation_report

    weak = _weak_acknowledgements(report)
    assert not weak, f"acknowledgements with reasons under {MIN_REASON} characters:\n" + "\n".join(weak)


def test_acknowledgements_are_one_finding_on_one_construct(assembly: Assembly, flipped_assembly: Assembly) -> None:
    for each in (assembly, flipped_assembly):
        for plugin in each.validation_report["pluginReports"]:
            for suppressed in plugin.get("suppressedViolations", []):
                assert suppressed["acknowledgedAt"] not in ("Foundation", "Application"), "stack-wide acknowledgement"
                assert "::" in suppressed["acknowledgedId"], "acknowledgements name the pack and the rule"


def test_the_gate_sees_findings_from_all_four_packs(tmp_path: Path) -> None:
    """A deliberately bad stack, checked with the same registration, must fail every pack."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Bad")
    vpc = ec2.Vpc(stack, "Vpc", restrict_default_security_group=False, nat_gateways=0, subnet_configuration=[])
    group = ec2.SecurityGroup(stack, "Open", vpc=vpc)
    group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22))
    add_compliance_checks(app)

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()

    report = Assembly(tmp_path).validation_report
    failing = {plugin["pluginName"] for plugin in report["pluginReports"] if plugin["violations"]}
    assert failing >= PACKS - {"Serverless"}  # Serverless has no VPC or security group rules
    assert _open_findings(report)
