"""Synthesize the app once per session per configuration, and share the cloud assemblies."""

from __future__ import annotations

import json

import pytest
from aws_cdk import assertions

from tests.synth import Assembly, synthesize


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The default configuration, exactly as `make synth` builds it."""
    return synthesize(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="session")
def egress_assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The other end of every switch: prod, pinned environment, NAT egress, data not retained, OpenSearch."""
    settings = {
        "profile": "prod",
        "account": "123456789012",
        "region": "eu-west-1",
        "removal_policy": "destroy",
        "network": {"egress": "nat"},
        "knowledge_base": {
            "vector_store": "opensearch",
            "embedding_model": "cohere.embed-multilingual-v3",
            "data_deletion_policy": "retain",
            "chunking": {"strategy": "hierarchical"},
        },
        "inference_profile": "none",
        "agent": {"memory": False},
        "guardrail": {"enforced": True},
    }
    overrides = {"genai": json.dumps(settings)}
    return synthesize(tmp_path_factory.mktemp("egress"), overrides)


@pytest.fixture(scope="session")
def foundation(assembly: Assembly) -> assertions.Template:
    return assembly.assertions("Foundation")


@pytest.fixture(scope="session")
def egress_foundation(egress_assembly: Assembly) -> assertions.Template:
    return egress_assembly.assertions("Foundation")


@pytest.fixture(scope="session")
def application(assembly: Assembly) -> assertions.Template:
    return assembly.assertions("Application")
