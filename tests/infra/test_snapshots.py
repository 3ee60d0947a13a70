"""One snapshot per stack: the refactoring net. Update with `pytest --snapshot-update` after reading the diff."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.synth import Assembly

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def normalise(template: dict[str, Any]) -> dict[str, Any]:
    """Mask what changes without a change to the app: asset hashes and the CDK version analytics."""
    masked = json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))
    if "CDKMetadata" in masked["Resources"]:
        masked["Resources"]["CDKMetadata"]["Properties"] = "<cdk-metadata>"
        masked["Conditions"]["CDKMetadataAvailable"] = "<regions-with-cdk-metadata>"
    return dict(masked)


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", ["Foundation", "Application"])
def test_stack_matches_snapshot(stack: str, assembly: Assembly, snapshot_json: SnapshotAssertion) -> None:
    assert normalise(assembly.template(stack)) == snapshot_json
