"""The offline Region preflight: what it lets through, the one line it stops synth with, and its dated table."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from stacks import regions
from stacks.regions import preflight

HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA_PRO = "amazon.nova-pro-v1:0"
DEFAULT_MODELS = {
    "agent.model": HAIKU,
    "api.models[0].model": HAIKU,
    "api.models[1].model": NOVA_PRO,
    "api.models[2].model": "amazon.nova-lite-v1:0",
    "api.models[3].model": "amazon.nova-micro-v1:0",
}
REGION_NAME = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")


def check(region: str, inference_profile: str, **overrides: Any) -> str | None:
    """The preflight of the default configuration, with the given Region, profile and overrides."""
    settings: dict[str, Any] = {
        "generation_models": DEFAULT_MODELS,
        "embedding_model": "amazon.titan-embed-text-v2:0",
        "vector_store": "s3vectors",
        "guardrail_tier": "classic",
        "guardrail_profile": None,
    }
    return preflight(region=region, inference_profile=inference_profile, **{**settings, **overrides})


@pytest.mark.parametrize(
    ("region", "inference_profile"), [("us-east-1", "us"), ("us-west-2", "us"), ("eu-west-1", "eu")]
)
def test_the_default_configuration_runs_in_its_home_geographies(region: str, inference_profile: str) -> None:
    assert check(region, inference_profile) is None


def test_opensearch_cohere_and_a_standard_guardrail_pass_where_all_are_offered() -> None:
    problem = check(
        "eu-central-1",
        "eu",
        vector_store="opensearch",
        embedding_model="cohere.embed-multilingual-v3",
        guardrail_tier="standard",
        guardrail_profile="eu.guardrail.v1:0",
    )

    assert problem is None


def test_the_us_profile_in_eu_west_1_names_the_profiles_that_work_there() -> None:
    assert (
        check("eu-west-1", "us") == 'inference_profile="us" is not available in eu-west-1; use one of: eu, global, none'
    )


def test_a_model_without_a_profile_in_the_chosen_geography_names_the_key_and_what_works() -> None:
    assert check("ap-northeast-1", "jp") == (
        'api.models[1].model="amazon.nova-pro-v1:0" is not offered in ap-northeast-1 through the jp profile; '
        "use another model, or inference_profile one of: apac"
    )


def test_a_profile_a_model_has_but_not_from_this_region_fails() -> None:
    # London may call Claude's EU profiles but not Nova's; Nova runs there on demand.
    assert check("eu-west-2", "eu") == (
        'api.models[1].model="amazon.nova-pro-v1:0" is not offered in eu-west-2 through the eu profile; '
        "use another model, or inference_profile one of: none"
    )


def test_a_model_without_on_demand_throughput_in_the_region_needs_a_profile() -> None:
    assert check("eu-west-1", "none") == (
        'api.models[1].model="amazon.nova-pro-v1:0" is not offered in eu-west-1 without an inference profile; '
        "use another model, or inference_profile one of: eu"
    )


def test_a_model_offered_nowhere_from_the_region_asks_for_another_model() -> None:
    assert check("us-gov-west-1", "us-gov", generation_models={"agent.model": HAIKU}) == (
        f'agent.model="{HAIKU}" is not offered in us-gov-west-1 through the us-gov profile; use another model'
    )


def test_sonnet_runs_through_the_govcloud_profile_and_haiku_directly_in_its_on_demand_regions() -> None:
    assert check("us-gov-west-1", "us-gov", generation_models={"agent.model": SONNET}) is None
    assert check("eu-north-1", "none", generation_models={"agent.model": HAIKU}) is None


def test_s3vectors_in_a_region_without_it_points_to_opensearch(monkeypatch: pytest.MonkeyPatch) -> None:
    name, offered = regions.VECTOR_STORES["s3vectors"]
    monkeypatch.setitem(regions.VECTOR_STORES, "s3vectors", (name, offered - {"eu-west-1"}))

    assert (
        check("eu-west-1", "eu")
        == 'knowledge_base.vector_store="s3vectors" is not offered in eu-west-1; use opensearch'
    )


def test_a_region_missing_a_service_names_it_and_the_regions_that_run_the_stack() -> None:
    problem = check("il-central-1", "eu")

    assert problem is not None
    assert problem.startswith('region="il-central-1" is not a Region with Amazon Bedrock Knowledge Bases; use one of: ')
    suggested = problem.rsplit(": ", 1)[1].split(", ")
    assert "us-east-1" in suggested
    assert "il-central-1" not in suggested
    # Every suggested Region runs each service the stack uses (models are checked separately).
    assert all(check(region, "none", generation_models={}, embedding_model="x.y") is None for region in suggested)


def test_milan_has_knowledge_bases_but_not_the_agentcore_harness() -> None:
    problem = check("eu-south-1", "eu")

    assert problem is not None
    assert problem.startswith('region="eu-south-1" is not a Region with Amazon Bedrock AgentCore harness; ')


def test_an_embedding_model_not_offered_in_the_region_names_those_that_are() -> None:
    assert check("ap-southeast-1", "global", generation_models={"agent.model": HAIKU}) == (
        'knowledge_base.embedding_model="amazon.titan-embed-text-v2:0" is not offered in ap-southeast-1; '
        "use one of: cohere.embed-multilingual-v3, cohere.embed-english-v3"
    )


def test_a_guardrail_profile_of_another_geography_names_the_local_one() -> None:
    problem = check("eu-west-1", "eu", guardrail_tier="standard", guardrail_profile="us.guardrail.v1:0")

    assert problem == (
        'guardrail.guardrail_profile="us.guardrail.v1:0" is not available in eu-west-1; use one of: eu.guardrail.v1:0'
    )


def test_the_standard_tier_where_no_guardrail_profile_exists_falls_back_to_classic() -> None:
    problem = check(
        "sa-east-1", "global", generation_models={}, guardrail_tier="standard", guardrail_profile="us.guardrail.v1:0"
    )

    assert problem == (
        'guardrail.guardrail_profile="us.guardrail.v1:0" is not available in sa-east-1; '
        "set it to null and guardrail.tier to classic"
    )


@pytest.mark.parametrize("region", ["xx-newland-1", "eusc-de-east-1", "us-iso-east-1"])
def test_a_region_the_table_does_not_know_passes(region: str) -> None:
    assert check(region, "us", guardrail_tier="standard", guardrail_profile="us.guardrail.v1:0") is None


def test_models_and_guardrail_profiles_the_table_does_not_know_pass() -> None:
    problem = check(
        "eu-west-1",
        "eu",
        generation_models={"agent.model": "example.future-model-v1:0"},
        embedding_model="example.future-embedding-v1:0",
        guardrail_profile="xx.guardrail.v1:0",
    )

    assert problem is None


def test_every_problem_is_one_line() -> None:
    problems = [check("eu-west-1", "us"), check("il-central-1", "eu"), check("eu-west-2", "eu")]

    assert all(problem is not None and "\n" not in problem for problem in problems)


def test_the_table_is_dated_and_every_part_has_an_aws_source() -> None:
    assert isinstance(regions.READ_ON, date)
    assert date(2026, 1, 1) <= regions.READ_ON <= date.today()
    assert set(regions.SOURCES) >= {"bedrock", "knowledge_bases", "guardrails", "agentcore", "geographies", "models"}
    for urls in regions.SOURCES.values():
        assert urls
        assert all(
            re.match(r"https://([a-z0-9.-]+\.)?amazonaws\.com/|https://(docs\.)?aws\.amazon\.com/", u) for u in urls
        )


def test_every_region_in_the_table_is_a_region_name() -> None:
    assert all(REGION_NAME.fullmatch(region) for region in regions.KNOWN_REGIONS)
    assert "us-east-1" in regions.KNOWN_REGIONS
    assert all("us-east-1" in offered for offered in regions.SERVICES.values())


def test_every_geography_draws_on_regions_where_bedrock_runs() -> None:
    for geography, sources in regions.GEOGRAPHIES.items():
        assert sources, geography
        assert sources <= regions.BEDROCK, geography
    assert regions.GEOGRAPHIES["global"].isdisjoint({"us-gov-east-1", "us-gov-west-1"})
    assert regions.INFERENCE_PROFILES[-1] == "none"
    assert set(regions.INFERENCE_PROFILES[:-1]) == set(regions.GEOGRAPHIES)


def test_every_model_refers_to_known_geographies_and_their_regions() -> None:
    for model, entry in regions.MODELS.items():
        assert entry.geographies <= set(regions.GEOGRAPHIES), model
        assert entry.direct <= regions.BEDROCK, model
        callers = frozenset().union(*(regions.GEOGRAPHIES[g] for g in entry.geographies - {"global"}))
        assert entry.geo <= callers, model
        assert bool(entry.geo) == bool(entry.geographies - {"global"}), model


def test_embedding_models_and_guardrail_profiles_stay_within_their_services() -> None:
    for model, offered in regions.EMBEDDING_MODELS.items():
        assert offered, model
        assert offered <= regions.BEDROCK, model
    for geography, sources in regions.GUARDRAIL_PROFILES.items():
        assert sources <= regions.SERVICES["Amazon Bedrock Guardrails"], geography
