"""Where the stack can run: AWS Regions per service, inference geography and model, and one offline check.

The table is a dated copy of AWS documentation (`READ_ON`, `SOURCES`). It only ever says "no" for a Region
it knows: a Region missing from every set is unknown and passes, because AWS adds Regions faster than this
table is re-read. Where two sources disagree the table keeps the union, so a stale page never blocks a deploy
that AWS would accept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

READ_ON = date(2026, 12, 1)

_DOCS = "https://docs.aws.amazon.com/bedrock/latest/userguide/"
# Region availability of CloudFormation resource types, published per Region by AWS and shipped in cfn-lint
# 1.58.0 (the linter this project pins); it settles whether a Region can deploy the resource at all.
_CFN_REGISTRY = "https://schema.cloudformation.us-east-1.amazonaws.com/CloudformationSchema.zip"
SOURCES: dict[str, tuple[str, ...]] = {
    "bedrock": (_DOCS + "endpoints-region-availability.html",),
    "knowledge_bases": (_DOCS + "knowledge-base-supported.html", _CFN_REGISTRY),
    "guardrails": (_DOCS + "guardrails-supported.html", _CFN_REGISTRY),
    "guardrail_profiles": (_DOCS + "guardrails-cross-region-support.html",),
    "agentcore": (
        "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/agentcore-regions.html",
        _CFN_REGISTRY,
    ),
    "s3vectors": (_CFN_REGISTRY,),
    "opensearch": ("https://docs.aws.amazon.com/general/latest/gr/opensearch-service.html", _CFN_REGISTRY),
    "geographies": (
        _DOCS + "geographic-cross-region-inference.html",
        "https://docs.aws.amazon.com/cdk/api/v2/docs/@aws-cdk_aws-bedrock-alpha.CrossRegionInferenceProfileRegion.html",
        "https://aws.amazon.com/blogs/machine-learning/accelerate-generative-ai-innovation-in-canada-with-amazon-bedrock-cross-region-inference/",
    ),
    "models": (
        _DOCS + "models-region-compatibility.html",
        _DOCS + "model-card-anthropic-claude-haiku-4-5.html",
        _DOCS + "model-card-anthropic-claude-sonnet-4-5.html",
    ),
}


def _regions(names: str) -> frozenset[str]:
    return frozenset(names.split())


_US = "us-east-1 us-east-2 us-west-1 us-west-2"
_GOV = "us-gov-east-1 us-gov-west-1"
_EU = "eu-central-1 eu-central-2 eu-north-1 eu-south-1 eu-south-2 eu-west-1 eu-west-2 eu-west-3"
_APAC = "ap-east-2 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-south-2 ap-southeast-1 ap-southeast-2"
_APAC_NEW = "ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-6 ap-southeast-7"
_OTHER = "ca-central-1 ca-west-1 mx-central-1 sa-east-1 af-south-1 il-central-1 me-central-1 me-south-1"
BEDROCK = _regions(" ".join((_US, _GOV, _EU, _APAC, _APAC_NEW, _OTHER)))
COMMERCIAL = BEDROCK - _regions(_GOV)

# The services every configuration uses, in the order a deployer should fix them.
SERVICES: dict[str, frozenset[str]] = {
    "Amazon Bedrock": BEDROCK,
    "Amazon Bedrock Knowledge Bases": _regions(
        f"us-east-1 us-east-2 us-west-2 {_GOV} ca-central-1 sa-east-1 {_EU} {_APAC}"
    )
    - {"ap-east-2"},
    "Amazon Bedrock Guardrails": _regions(
        f"{_US} {_GOV} ca-central-1 sa-east-1 {_EU} {_APAC} {_APAC_NEW} il-central-1 me-central-1"
    )
    - {"ap-southeast-6"},
    "Amazon Bedrock AgentCore harness": _regions(
        "us-east-1 us-east-2 us-west-2 us-gov-west-1 ca-central-1 sa-east-1 eu-central-1 eu-north-1 eu-west-1"
        " eu-west-2 eu-west-3 ap-northeast-1 ap-northeast-2 ap-south-1 ap-southeast-1 ap-southeast-2"
    ),
    "Amazon Bedrock AgentCore Memory": _regions(
        "us-east-1 us-east-2 us-west-2 us-gov-west-1 ca-central-1 sa-east-1 eu-central-1 eu-north-1 eu-south-1"
        " eu-west-1 eu-west-2 eu-west-3 ap-northeast-1 ap-northeast-2 ap-south-1 ap-southeast-1 ap-southeast-2"
    ),
    "Amazon Bedrock AgentCore Gateway": _regions(
        f"{_US} us-gov-west-1 ca-central-1 sa-east-1 {_EU} ap-northeast-1 ap-northeast-2 ap-south-1 ap-south-2"
        " ap-southeast-1 ap-southeast-2 ap-southeast-5 ap-southeast-7"
    )
    - {"eu-central-2"},
}
VECTOR_STORES: dict[str, tuple[str, frozenset[str]]] = {
    "s3vectors": (
        "Amazon S3 Vectors",
        _regions(
            f"{_US} {_GOV} {_EU} {_APAC} {_APAC_NEW} ca-central-1 ca-west-1 mx-central-1 sa-east-1 af-south-1 ap-east-1"
        ),
    ),
    "opensearch": (
        "Amazon OpenSearch Serverless",
        _regions(f"{_US} {_GOV} {_EU} {_APAC} ca-central-1 sa-east-1 ap-east-1") - {"ap-east-2"},
    ),
}

# Cross-Region inference profiles: the Regions that may call each geography's profiles (the union over
# models; each model narrows it below). Canada calls the US profiles; Tel Aviv the EU ones; Auckland the AU ones.
GEOGRAPHIES: dict[str, frozenset[str]] = {
    "us": _regions(f"{_US} ca-central-1 ca-west-1"),
    "us-gov": _regions(_GOV),
    "eu": _regions(f"{_EU} il-central-1"),
    "apac": _regions(f"{_APAC} ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-7"),
    "jp": _regions("ap-northeast-1 ap-northeast-3"),
    "au": _regions("ap-southeast-2 ap-southeast-4 ap-southeast-6"),
    "in": _regions("ap-south-1 ap-south-2"),
    "global": COMMERCIAL,
}
INFERENCE_PROFILES = (*sorted(GEOGRAPHIES), "none")


class Model(NamedTuple):
    """Where a model runs: its profiles' geographies, the Regions that may call those profiles, and on demand."""

    geographies: frozenset[str]
    geo: frozenset[str]
    direct: frozenset[str]


_CLAUDE_45_GEO = f"{_US} ca-central-1 {_EU} ap-northeast-1 ap-southeast-2 ap-southeast-4 ap-southeast-6"
_NOVA_GEO = f"us-east-1 us-east-2 us-west-2 {_EU} il-central-1 ap-northeast-1 ap-northeast-2 ap-south-1 ap-southeast-1"
MODELS: dict[str, Model] = {
    "anthropic.claude-haiku-4-5-20251001-v1:0": Model(
        geographies=_regions("us eu jp au in global"),
        geo=_regions(f"{_CLAUDE_45_GEO} ap-northeast-3 ap-south-1 ap-south-2"),
        direct=_regions("us-east-1 eu-north-1 eu-west-1 ap-northeast-1 ap-southeast-4"),
    ),
    "anthropic.claude-sonnet-4-5-20250929-v1:0": Model(
        geographies=_regions("us us-gov eu jp au global"),
        geo=_regions(f"{_CLAUDE_45_GEO} {_GOV}"),
        direct=frozenset(),
    ),
    "amazon.nova-pro-v1:0": Model(
        geographies=_regions("us eu apac"),
        geo=_regions(f"{_NOVA_GEO} us-west-1 ap-southeast-2") - {"eu-central-2", "eu-west-2"},
        direct=_regions("us-east-1 us-gov-west-1 eu-west-2 ap-southeast-2 ap-southeast-3 me-central-1"),
    ),
    "amazon.nova-lite-v1:0": Model(
        geographies=_regions("us eu apac"),
        geo=_regions(f"{_NOVA_GEO} us-west-1 ca-central-1 ap-southeast-2") - {"eu-central-2", "eu-west-2"},
        direct=_regions(
            "us-east-1 us-east-2 us-west-2 us-gov-west-1 eu-north-1 eu-west-2 ap-northeast-1 ap-southeast-2"
            " ap-southeast-3 me-central-1"
        ),
    ),
    "amazon.nova-micro-v1:0": Model(
        geographies=_regions("us eu apac"),
        geo=_regions(f"{_NOVA_GEO} ap-southeast-2") - {"eu-central-2", "eu-west-2"},
        direct=_regions("us-east-1 us-gov-west-1 eu-west-2 ap-southeast-2"),
    ),
}
_COHERE_EMBED = _regions(
    "us-east-1 us-west-2 ca-central-1 sa-east-1 eu-central-1 eu-west-1 eu-west-2 eu-west-3 ap-northeast-1"
    " ap-south-1 ap-southeast-1 ap-southeast-2"
)
# Embedding models are always called on demand in the deploy Region.
EMBEDDING_MODELS: dict[str, frozenset[str]] = {
    "amazon.titan-embed-text-v2:0": _regions(
        f"us-east-1 us-east-2 us-west-2 {_GOV} ca-central-1 sa-east-1 {_EU} {_APAC}"
    )
    - {"ap-east-2", "ap-southeast-1"},
    "cohere.embed-multilingual-v3": _COHERE_EMBED,
    "cohere.embed-english-v3": _COHERE_EMBED,
}
# Guardrail profiles (`<geography>.guardrail.v1:0`, needed by the standard tier) and the Regions that may use them.
GUARDRAIL_PROFILES: dict[str, frozenset[str]] = {
    "us": _regions(_US),
    "us-gov": _regions(_GOV),
    "eu": _regions("eu-central-1 eu-north-1 eu-south-1 eu-south-2 eu-west-1 eu-west-3 il-central-1"),
    "uk": _regions("eu-west-2"),
    "ca": _regions("ca-central-1"),
    "au": _regions("ap-southeast-2"),
    "apac": _regions(f"{_APAC} ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-7 me-central-1")
    - {"ap-northeast-3", "ap-south-2"},
}
KNOWN_REGIONS = BEDROCK.union(*SERVICES.values(), *(regions for _, regions in VECTOR_STORES.values()))


def preflight(
    *,
    region: str,
    inference_profile: str,
    generation_models: Mapping[str, str],
    embedding_model: str,
    vector_store: str,
    guardrail_tier: str,
    guardrail_profile: str | None,
) -> str | None:
    """The first reason `region` cannot run this configuration, as one line, or None (also for unknown Regions)."""
    if region not in KNOWN_REGIONS:
        return None
    problems = (
        _services(region, vector_store),
        _geography(region, inference_profile),
        *(_model(key, model, region, inference_profile) for key, model in generation_models.items()),
        _embedding(region, embedding_model),
        _guardrail_profile(region, guardrail_tier, guardrail_profile),
    )
    return next((problem for problem in problems if problem), None)


def _services(region: str, vector_store: str) -> str | None:
    store_name, store_regions = VECTOR_STORES[vector_store]
    needs = {**SERVICES, store_name: store_regions}
    missing = [name for name, regions in needs.items() if region not in regions]
    stores = [name for name, (_, regions) in VECTOR_STORES.items() if region in regions]
    if missing == [store_name] and stores:
        return _fail("knowledge_base.vector_store", vector_store, f"offered in {region}; use {' or '.join(stores)}")
    if missing:
        runs = sorted(frozenset.intersection(*needs.values()))
        return _fail("region", region, f"a Region with {missing[0]}; use one of: {', '.join(runs)}")
    return None


def _geography(region: str, inference_profile: str) -> str | None:
    if region in GEOGRAPHIES.get(inference_profile, KNOWN_REGIONS):
        return None
    usable = [name for name in INFERENCE_PROFILES if name == "none" or region in GEOGRAPHIES[name]]
    return _fail("inference_profile", inference_profile, f"available in {region}; use one of: {', '.join(usable)}")


def _model(key: str, model: str, region: str, inference_profile: str) -> str | None:
    entry = MODELS.get(model)
    if entry is None or inference_profile not in INFERENCE_PROFILES:
        return None
    ways = [name for name in INFERENCE_PROFILES if _offered(entry, region, name)]
    if inference_profile in ways:
        return None
    route = (
        "without an inference profile" if inference_profile == "none" else f"through the {inference_profile} profile"
    )
    hint = f"use another model, or inference_profile one of: {', '.join(ways)}" if ways else "use another model"
    return _fail(key, model, f"offered in {region} {route}; {hint}")


def _offered(model: Model, region: str, inference_profile: str) -> bool:
    if inference_profile == "none":
        return region in model.direct
    sources = GEOGRAPHIES[inference_profile]
    if inference_profile == "global":
        return "global" in model.geographies and region in sources
    return inference_profile in model.geographies and region in sources & model.geo


def _embedding(region: str, embedding_model: str) -> str | None:
    if region in EMBEDDING_MODELS.get(embedding_model, KNOWN_REGIONS):
        return None
    others = [name for name, regions in EMBEDDING_MODELS.items() if region in regions]
    return _fail(
        "knowledge_base.embedding_model",
        embedding_model,
        f"offered in {region}; {_one_of(others, 'no embedding model in this table is')}",
    )


def _guardrail_profile(region: str, tier: str, profile: str | None) -> str | None:
    geography = (profile or "").split(".guardrail.")[0]
    if region in GUARDRAIL_PROFILES.get(geography, KNOWN_REGIONS):
        return None
    usable = [f"{name}.guardrail.v1:0" for name, regions in GUARDRAIL_PROFILES.items() if region in regions]
    fallback = "set it to null and guardrail.tier to classic" if tier == "standard" else "set it to null"
    return _fail("guardrail.guardrail_profile", profile, f"available in {region}; {_one_of(usable, fallback)}")


def _one_of(options: list[str], fallback: str) -> str:
    return f"use one of: {', '.join(options)}" if options else fallback


def _fail(key: str, value: object, allowed: str) -> str:
    return f"{key}={json.dumps(value)} is not {allowed}"
