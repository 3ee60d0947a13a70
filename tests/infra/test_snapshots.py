"""One snapshot per stack of the default and the prod configurations: the refactoring net.

Update with `.venv/bin/pytest tests/infra/test_snapshots.py --snapshot-update` after reading the diff (or
`make template-diff BASE=main`, which says what a deploy would replace).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.synth import Assembly

ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# The guardrail's published version is named after a digest of its configuration: masked, a policy change shows in
# the snapshot diff as the guardrail's changed property alone, not as the renamed version everything refers to.
GUARDRAIL_REVISION = re.compile(r"(GuardrailVersion|Version|Configuration )[0-9a-f]{10}")


def normalise(template: dict[str, Any]) -> dict[str, Any]:
    """Mask what changes without a change to the app: asset hashes and the CDK version analytics."""
    text = GUARDRAIL_REVISION.sub(r"\1<revision>", ASSET_HASH.sub("<asset-hash>", json.dumps(template)))
    masked = json.loads(text)
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


@pytest.mark.parametrize("stack", ["Foundation", "Application"])
def test_prod_stack_matches_snapshot(stack: str, prod_assembly: Assembly, snapshot_json: SnapshotAssertion) -> None:
    assert normalise(prod_assembly.template(stack)) == snapshot_json


def test_a_guardrail_revision_is_masked_but_nothing_else_of_its_name() -> None:
    masked = normalise(
        {"Resources": {"GuardrailVersion21fe90717560F8B52B": {"Description": "Configuration 21fe907175"}}}
    )

    assert masked == {"Resources": {"GuardrailVersion<revision>60F8B52B": {"Description": "Configuration <revision>"}}}
