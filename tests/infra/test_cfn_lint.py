"""cfn-lint, with the CloudFormation resource schemas, over every synthesized template."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.synth import ROOT


@pytest.mark.parametrize("variant", ["assembly", "flipped_assembly"])
def test_templates_have_no_cfn_lint_errors_or_warnings(variant: str, request: pytest.FixtureRequest) -> None:
    templates = sorted(str(path) for path in request.getfixturevalue(variant).outdir.glob("*.template.json"))
    assert templates

    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--config-file", str(ROOT / ".cfnlintrc.yaml"), "--", *templates],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
