"""Synthesizing the app the way the CDK CLI does, and reading the cloud assembly back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import assertions

from stacks.app import build_app
from stacks.config import CONTEXT_KEY, load_config

ROOT = Path(__file__).resolve().parents[1]

# What the CLI adds to the context of every synth: path and asset metadata, and the CDKMetadata
# resource that cfn-lint recognises CDK templates by.
CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}


@dataclass(frozen=True)
class Assembly:
    """A synthesized cloud assembly read back from disk."""

    outdir: Path

    def _read(self, name: str) -> dict[str, Any]:
        return dict(json.loads((self.outdir / name).read_text()))

    def template(self, stack: str) -> dict[str, Any]:
        return self._read(f"{stack}.template.json")

    def assertions(self, stack: str) -> assertions.Template:
        return assertions.Template.from_json(self.template(stack))

    @property
    def stacks(self) -> list[str]:
        return sorted(path.name.removesuffix(".template.json") for path in self.outdir.glob("*.template.json"))

    @property
    def validation_report(self) -> dict[str, Any]:
        return self._read("validation-report.json")

    @property
    def manifest(self) -> dict[str, Any]:
        return self._read("manifest.json")


# Fixed, named configurations: a fork's own settings in cdk.json change what `make synth` builds, never what
# the tests check. Each is the `genai` object, layered over its profile's defaults like any other.
CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "prod": {"profile": "prod"},
    # The other end of every switch at once.
    "flipped": {
        "profile": "prod",
        "account": "123456789012",
        "region": "eu-west-1",
        "inference_profile": "eu",
        "removal_policy": "destroy",
        "network": {"egress": "nat"},
        "knowledge_base": {
            "vector_store": "opensearch",
            "embedding_model": "cohere.embed-multilingual-v3",
            "data_deletion_policy": "retain",
            "chunking": {"strategy": "hierarchical"},
        },
        "agent": {"memory": False},
        "guardrail": {"enforced": True, "tier": "standard", "guardrail_profile": "eu.guardrail.v1:0"},
        "api": {"reserved_concurrency": 5},
        "observability": {
            "alarm_emails": ["ops@example.com", "oncall@example.com"],
            "monthly_budget_usd": None,
            "api_5xx_percent": 10,
            "invocation_logging": True,
        },
    },
    # Bring your own VPC, environment-agnostic: three AZs, two subnets sharing a route table, the S3 gateway
    # endpoint already there (only DynamoDB's is added) and one interface endpoint, in two AZs.
    "existing_vpc": {
        "network": {
            "existing_vpc": {
                "vpc_id": "vpc-0a1b2c3d4e5f67890",
                "cidr": "172.31.0.0/16",
                "availability_zones": ["eu-central-1a", "eu-central-1b", "eu-central-1c"],
                "subnet_ids": ["subnet-0aa11bb22cc33dd44", "subnet-0ee55ff6600778899", "subnet-0123456789abcdef0"],
                "route_table_ids": ["rtb-0aa11bb22cc33dd44", "rtb-0aa11bb22cc33dd44", "rtb-0fedcba9876543210"],
                "gateway_endpoints": ["dynamodb"],
            },
            "interface_endpoints": ["bedrock-runtime"],
            "endpoint_azs": 2,
        },
    },
}
# What users hit: each profile, environment-agnostic or pinned, through a geography's profile or directly. The
# default and prod configurations are the agnostic ones through the us profile.
MATRIX: dict[str, dict[str, Any]] = {
    f"{profile}-{where}-{geography}": {
        "profile": profile,
        **({"account": "123456789012", "region": region} if region else {}),
        "inference_profile": geography,
    }
    for profile in ("dev", "prod")
    for where, region, geography in (
        ("agnostic", None, "none"),
        ("pinned", "eu-west-1", "eu"),
        ("pinned", "us-east-1", "none"),
    )
}
# Smaller vectors somewhere in the matrix: the vector index must follow the knowledge base's embedding size.
MATRIX["dev-pinned-eu"]["knowledge_base"] = {"embedding_dimensions": 256}
MATRIX["prod-pinned-eu"]["knowledge_base"] = {"embedding_dimensions": 512}
# Invocation logging in an environment-agnostic dev stack (the flipped configuration has it pinned, in prod).
MATRIX["dev-agnostic-none"]["observability"] = {"invocation_logging": True}


def app_context() -> dict[str, Any]:
    """cdk.json's context (CDK's feature flags) without the project's own settings."""
    context = dict(json.loads((ROOT / "cdk.json").read_text())["context"])
    context.pop(CONTEXT_KEY, None)
    return context


def synthesize(outdir: Path, settings: Mapping[str, Any]) -> Assembly:
    """Synthesize the app for `settings` (the `genai` object) as `cdk synth -c genai=...` would.

    Compliance findings make `synth()` raise after it has written the templates and the report; the
    nag gate test reads the report, so the other tests still run and the gate names the findings.
    """
    context = {**app_context(), **CLI_CONTEXT, CONTEXT_KEY: json.dumps(settings)}
    app = cdk.App(context=context, outdir=str(outdir))
    build_app(load_config(context), app)
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
    return Assembly(outdir)


def synthesize_named(outdir: Path, name: str) -> Assembly:
    """One of MATRIX, in a process of its own (for a pool)."""
    return synthesize(outdir, MATRIX[name])


def one(template: assertions.Template, type_: str, path: str = "") -> tuple[str, dict[str, Any]]:
    """The logical id and body of the only resource of `type_` under `path`; fails when there are none or several."""
    ((logical_id, resource),) = resources_at(template, type_, path).items()
    return logical_id, dict(resource)


def resources_at(template: assertions.Template, type_: str, path: str) -> dict[str, Mapping[str, Any]]:
    """The resources of `type_` whose construct path starts with `path` (e.g. "Foundation/Network/")."""
    return {
        logical_id: resource
        for logical_id, resource in template.find_resources(type_).items()
        if resource.get("Metadata", {}).get("aws:cdk:path", "").startswith(path)
    }
