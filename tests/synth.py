"""Synthesizing the app the way the CDK CLI does, and reading the cloud assembly back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import assertions

from stacks import build_app
from stacks.config import load_config

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


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads((ROOT / "cdk.json").read_text())["context"])


def synthesize(outdir: Path, overrides: Mapping[str, Any] | None = None) -> Assembly:
    """Synthesize the app with cdk.json's context plus `overrides`, as `cdk synth -c ...` would.

    Compliance findings make `synth()` raise after it has written the templates and the report; the
    nag gate test reads the report, so the other tests still run and the gate names the findings.
    """
    context = {**cdk_json_context(), **CLI_CONTEXT, **(overrides or {})}
    app = cdk.App(context=context, outdir=str(outdir))
    build_app(load_config(context), app)
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
    return Assembly(outdir)


def resources_at(template: assertions.Template, type_: str, path: str) -> dict[str, Mapping[str, Any]]:
    """The resources of `type_` whose construct path starts with `path` (e.g. "Foundation/Network/")."""
    return {
        logical_id: resource
        for logical_id, resource in template.find_resources(type_).items()
        if resource.get("Metadata", {}).get("aws:cdk:path", "").startswith(path)
    }
