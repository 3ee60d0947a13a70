"""The SDK the functions run with: the pinned packages are in the deployment package and shadow the runtime's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import botocore
import pytest

from stacks.config import ROOT
from stacks.constructs.packaging import assemble

REQUIREMENTS = ROOT / "lambda/api/requirements.txt"


@pytest.fixture(scope="module")
def api_package() -> Path:
    return assemble("api", REQUIREMENTS)


def test_the_api_package_holds_its_sources_and_the_pinned_sdk(api_package: Path) -> None:
    assert (api_package / "api/handler.py").is_file()
    assert (api_package / "common/schema.py").is_file()
    assert (api_package / "boto3").is_dir()
    assert (api_package / "botocore").is_dir()
    assert not list(api_package.rglob("__pycache__"))


def test_the_bundled_botocore_has_every_operation_the_function_calls(api_package: Path) -> None:
    # Load botocore exactly as Lambda would from /var/task: from the package, before anything installed here.
    probe = (
        "import json, sys, botocore, botocore.session;"
        "from api.clients import OPERATIONS;"
        "session = botocore.session.get_session();"
        "print(json.dumps({'file': botocore.__file__, 'version': botocore.__version__,"
        " 'missing': [f'{s}:{o}' for s, ops in OPERATIONS.items()"
        " for o in ops if o not in session.get_service_model(s).operation_names]}))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", f"import sys; sys.path.insert(0, {str(api_package)!r}); {probe}"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(result.stdout)

    assert loaded["file"].startswith(str(api_package))
    assert loaded["missing"] == []
    # The tests stub the same SDK the function deploys with.
    assert loaded["version"] == botocore.__version__
