"""Renaming a stateful resource's construct replaces it (and orphans or deletes its data): pin them."""

from __future__ import annotations

from conftest import Assembly

STATEFUL_TYPES = {"AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::EC2::VPC"}

PINNED = {
    "Foundation": {
        "EncryptionKey3A692D6E": "AWS::KMS::Key",
        "NetworkFlowLogs2BEC3212": "AWS::Logs::LogGroup",
        "NetworkVpc7FB7348F": "AWS::EC2::VPC",
    },
}


def test_stateful_logical_ids_are_pinned(assembly: Assembly) -> None:
    for stack, pinned in PINNED.items():
        resources = assembly.template(stack)["Resources"]
        stateful = {logical_id: r["Type"] for logical_id, r in resources.items() if r["Type"] in STATEFUL_TYPES}

        assert stateful == pinned, f"{stack}: a stateful resource was added, renamed or removed; update PINNED"
