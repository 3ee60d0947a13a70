"""Synthesize the app once per session per named configuration (tests/synth.py), and share the assemblies."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from aws_cdk import assertions

from tests.synth import CONFIGURATIONS, MATRIX, Assembly, synthesize, synthesize_named


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The default configuration: the dev profile, environment-agnostic, as a fresh clone builds it."""
    return synthesize(tmp_path_factory.mktemp("default"), CONFIGURATIONS["default"])


@pytest.fixture(scope="session")
def prod_assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The prod profile, environment-agnostic."""
    return synthesize(tmp_path_factory.mktemp("prod"), CONFIGURATIONS["prod"])


@pytest.fixture(scope="session")
def flipped_assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The other end of every switch: prod, pinned in eu-west-1, NAT, data not retained, OpenSearch, and more."""
    return synthesize(tmp_path_factory.mktemp("flipped"), CONFIGURATIONS["flipped"])


@pytest.fixture(scope="session")
def existing_vpc_assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The default configuration in a VPC made elsewhere, imported as given."""
    return synthesize(tmp_path_factory.mktemp("existing-vpc"), CONFIGURATIONS["existing_vpc"])


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Assembly]:
    """Every profile, environment-agnostic or pinned, through a geography or directly: two synths at a time."""
    root = tmp_path_factory.mktemp("matrix")
    # Spawned, not forked: the parent's jsii runtime must not be shared with the workers.
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {name: pool.submit(synthesize_named, root / name, name) for name in MATRIX}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="session")
def foundation(assembly: Assembly) -> assertions.Template:
    return assembly.assertions("Foundation")


@pytest.fixture(scope="session")
def flipped_foundation(flipped_assembly: Assembly) -> assertions.Template:
    return flipped_assembly.assertions("Foundation")


@pytest.fixture(scope="session")
def application(assembly: Assembly) -> assertions.Template:
    return assembly.assertions("Application")
