"""Typed, validated configuration for the whole app.

Everything below `app.py` is configured through these dataclasses; nothing else reads context or the
environment. The raw settings come from one context key (`genai` in cdk.json), are layered over the
defaults of the selected profile, and are validated here, once. A bad value raises `ConfigError` whose
message is one line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

CONTEXT_KEY = "genai"
ROOT = Path(__file__).resolve().parents[1]

PROFILES = ("dev", "prod")
EGRESS_MODES = ("none", "nat")
REMOVAL_POLICIES = ("retain", "destroy")
# The interface endpoints the stack's Lambdas call; each costs about $7.30 per AZ per month.
INTERFACE_ENDPOINTS = ("bedrock-runtime", "bedrock-agent-runtime", "bedrock-agent", "bedrock-agentcore", "xray")
# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
MAX_AZS = 3
VECTOR_STORES = ("s3vectors", "opensearch")
# Embedding models a knowledge base can use: the output dimensions each offers and its input limit.
EMBEDDING_MODELS: dict[str, tuple[tuple[int, ...], int]] = {
    "amazon.titan-embed-text-v2:0": ((256, 512, 1024), 8192),
    "cohere.embed-multilingual-v3": ((1024,), 512),
    "cohere.embed-english-v3": ((1024,), 512),
}
CHUNKING_STRATEGIES = ("fixed", "hierarchical", "semantic", "none")
DATA_DELETION_POLICIES = ("delete", "retain")
GUARDRAIL_TIERS = ("classic", "standard")
CONTENT_FILTERS = ("sexual", "violence", "hate", "insults", "misconduct")
FILTER_STRENGTHS = ("none", "low", "medium", "high")
PROMPT_ATTACK_STRENGTHS = ("low", "medium", "high")
PII_ACTIONS = ("block", "anonymize", "none")
REGEX_ACTIONS = ("block", "anonymize")
PII_ENTITIES = (
    "ADDRESS", "AGE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "CA_HEALTH_NUMBER", "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV", "CREDIT_DEBIT_CARD_EXPIRY", "CREDIT_DEBIT_CARD_NUMBER", "DRIVER_ID", "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IP_ADDRESS", "LICENSE_PLATE", "MAC_ADDRESS", "NAME", "PASSWORD", "PHONE",
    "PIN", "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "URL", "USERNAME", "US_BANK_ACCOUNT_NUMBER", "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", "US_PASSPORT_NUMBER", "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER",
)  # fmt: skip
# Bedrock's limits on denied topics: definition length by tier, examples, topics, and custom words.
TOPIC_DEFINITION_LIMITS = {"classic": 200, "standard": 1000}
MAX_TOPICS = 30
MAX_TOPIC_EXAMPLES = 5
MAX_WORDS = 10_000
# Where an inference profile routes on-demand requests: the deploy region's geography, or global.
INFERENCE_PROFILES = ("us", "eu", "apac", "global", "none")
MFA_MODES = ("off", "optional", "required")
MODEL_ID_PATTERN = r"[a-z0-9-]+\.[a-z0-9.-]+(:[0-9]+)?"
# Secrets and payment data never pass; contact details are masked, so answers stay useful.
BLOCKED_PII = (
    "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "PASSWORD", "PIN", "CREDIT_DEBIT_CARD_NUMBER", "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY", "US_SOCIAL_SECURITY_NUMBER", "US_BANK_ACCOUNT_NUMBER",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
)  # fmt: skip
ANONYMIZED_PII = ("EMAIL", "PHONE", "NAME")

_DEFAULTS: dict[str, Any] = {
    "stack_prefix": "BedrockGenAi",
    "account": None,
    "region": None,
    "removal_policy": "retain",
    "inference_profile": "us",
    "network": {
        "cidr": "10.0.0.0/16",
        "egress": "none",
        "interface_endpoints": list(INTERFACE_ENDPOINTS),
    },
    "knowledge_base": {
        "vector_store": "s3vectors",
        "embedding_model": "amazon.titan-embed-text-v2:0",
        "embedding_dimensions": 1024,
        "data_deletion_policy": "delete",
        "ingestion_batch_window_seconds": 60,
        "ingestion_max_receives": 12,
        "chunking": {
            "strategy": "fixed",
            "max_tokens": 300,
            "overlap_percentage": 20,
            "parent_max_tokens": 1500,
            "child_max_tokens": 300,
            "overlap_tokens": 60,
            "breakpoint_percentile": 95,
            "buffer_size": 0,
        },
    },
    "guardrail": {
        "tier": "classic",
        "guardrail_profile": None,
        "content_filters": {name: {"input": "high", "output": "high"} for name in CONTENT_FILTERS},
        "image_filters": True,
        "prompt_attack": "high",
        "profanity": True,
        "denied_topics_file": "prompts/guardrail/denied_topics.toml",
        "blocked_words_file": "prompts/guardrail/blocked_words.txt",
        "pii": {**dict.fromkeys(BLOCKED_PII, "block"), **dict.fromkeys(ANONYMIZED_PII, "anonymize")},
        "regexes": [],
        "grounding_threshold": 0.75,
        "relevance_threshold": 0.75,
        "blocked_input_message": "Sorry, I can't help with that request.",
        "blocked_output_message": "Sorry, I can't share that answer.",
    },
    "agent": {
        "model": "anthropic.claude-haiku-4-5-20251001-v1:0",
        "instruction_file": "prompts/agent_instruction.md",
        "max_iterations": 10,
        "max_tokens": 2048,
        "max_turn_tokens": 16000,
        "timeout_seconds": 120,
        "idle_timeout_seconds": 300,
        "max_lifetime_seconds": 3600,
        "memory": True,
        "memory_days": 30,
        "memory_messages": 20,
    },
    "api": {
        "throttle_rate": 10,
        "throttle_burst": 20,
        "waf_rate_limit": 1000,
        "cors_origins": [],
        "memory_mb": 512,
        "reserved_concurrency": 10,
        "models": [
            {"model": "anthropic.claude-haiku-4-5-20251001-v1:0", "name": "Claude Haiku 4.5"},
            {"model": "amazon.nova-pro-v1:0", "name": "Amazon Nova Pro"},
            {"model": "amazon.nova-lite-v1:0", "name": "Amazon Nova Lite"},
            {"model": "amazon.nova-micro-v1:0", "name": "Amazon Nova Micro"},
        ],
        "generation_model": "anthropic.claude-haiku-4-5-20251001-v1:0",
    },
}

PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "log_retention_days": 30,
        "termination_protection": False,
        "network": {"max_azs": 2, "endpoint_azs": 1, "nat_gateways": 1},
        "knowledge_base": {"sample_documents": True, "opensearch_standby_replicas": False},
        "api": {"waf": False, "mfa": "optional", "deletion_protection": False},
    },
    "prod": {
        "log_retention_days": 365,
        "termination_protection": True,
        "network": {"max_azs": 3, "endpoint_azs": 2, "nat_gateways": 3},
        "knowledge_base": {"sample_documents": False, "opensearch_standby_replicas": True},
        "api": {"waf": True, "mfa": "required", "deletion_protection": True},
    },
}


class ConfigError(ValueError):
    """A configuration value that synth must not go on with; the message is one line."""


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    cidr: str
    max_azs: int
    egress: str
    nat_gateways: int
    interface_endpoints: tuple[str, ...]
    endpoint_azs: int

    @property
    def has_egress(self) -> bool:
        return self.egress == "nat"


@dataclass(frozen=True, kw_only=True)
class ChunkingConfig:
    strategy: str
    max_tokens: int
    overlap_percentage: int
    parent_max_tokens: int
    child_max_tokens: int
    overlap_tokens: int
    breakpoint_percentile: int
    buffer_size: int


@dataclass(frozen=True, kw_only=True)
class KnowledgeBaseConfig:
    vector_store: str
    embedding_model: str
    embedding_dimensions: int
    data_deletion_policy: str
    chunking: ChunkingConfig
    ingestion_batch_window_seconds: int
    ingestion_max_receives: int
    sample_documents: bool
    opensearch_standby_replicas: bool


@dataclass(frozen=True, kw_only=True)
class FilterStrengths:
    input: str
    output: str


@dataclass(frozen=True, kw_only=True)
class DeniedTopic:
    name: str
    definition: str
    examples: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RegexFilter:
    name: str
    pattern: str
    action: str
    description: str


@dataclass(frozen=True, kw_only=True)
class GuardrailConfig:
    tier: str
    guardrail_profile: str | None
    content_filters: Mapping[str, FilterStrengths]
    image_filters: bool
    prompt_attack: str
    profanity: bool
    denied_topics: tuple[DeniedTopic, ...]
    blocked_words: tuple[str, ...]
    pii: Mapping[str, str]
    regexes: tuple[RegexFilter, ...]
    grounding_threshold: float
    relevance_threshold: float
    blocked_input_message: str
    blocked_output_message: str


GUARDRAIL_SETTINGS = (
    "blocked_input_message", "blocked_output_message", "blocked_words_file", "content_filters", "denied_topics_file",
    "grounding_threshold", "guardrail_profile", "image_filters", "pii", "profanity", "prompt_attack", "regexes",
    "relevance_threshold", "tier",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class AgentConfig:
    model: str
    inference_profile: str
    instruction: str
    max_iterations: int
    max_tokens: int
    max_turn_tokens: int
    timeout_seconds: int
    idle_timeout_seconds: int
    max_lifetime_seconds: int
    memory: bool
    memory_days: int
    memory_messages: int

    @property
    def model_identifier(self) -> str:
        """What the agent calls: the inference profile id, or the model id itself."""
        return model_identifier(self.model, self.inference_profile)


def model_identifier(model: str, inference_profile: str) -> str:
    """The id to call a model by: through the inference profile of a geography, or directly."""
    return model if inference_profile == "none" else f"{inference_profile}.{model}"


AGENT_SETTINGS = (
    "idle_timeout_seconds", "instruction_file", "max_iterations", "max_lifetime_seconds", "max_tokens",
    "max_turn_tokens", "memory", "memory_days", "memory_messages", "model", "timeout_seconds",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ModelChoice:
    id: str  # what callers pass: the inference profile id, or the model id
    model: str
    name: str


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    waf: bool
    waf_rate_limit: int
    mfa: str
    deletion_protection: bool
    throttle_rate: int
    throttle_burst: int
    cors_origins: tuple[str, ...]
    memory_mb: int
    reserved_concurrency: int
    inference_profile: str
    models: tuple[ModelChoice, ...]
    generation_model: str


API_SETTINGS = (
    "cors_origins", "deletion_protection", "generation_model", "memory_mb", "mfa", "models", "reserved_concurrency",
    "throttle_burst", "throttle_rate", "waf", "waf_rate_limit",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    profile: str
    stack_prefix: str
    account: str | None
    region: str | None
    removal_policy: str
    inference_profile: str
    log_retention_days: int
    termination_protection: bool
    network: NetworkConfig
    knowledge_base: KnowledgeBaseConfig
    guardrail: GuardrailConfig
    agent: AgentConfig
    api: ApiConfig

    @property
    def retain_data(self) -> bool:
        return self.removal_policy == "retain"


def load_config(context: Mapping[str, Any]) -> AppConfig:
    """Build the config from CDK context: the `genai` object plus any `genai.<path>` overrides."""
    raw = _parse_json(CONTEXT_KEY, context.get(CONTEXT_KEY, {}))
    settings = dict(_require_object(CONTEXT_KEY, raw))
    for key in sorted(k for k in context if k.startswith(CONTEXT_KEY + ".")):
        _set_path(settings, key.removeprefix(CONTEXT_KEY + ".").split("."), _parse_json(key, context[key]))
    return parse_settings(settings)


def parse_settings(settings: Mapping[str, Any]) -> AppConfig:
    """Validate raw settings layered over the defaults of their profile."""
    profile = _choice("profile", settings.get("profile", "dev"), PROFILES)
    merged = _merge(_merge(_DEFAULTS, PROFILE_DEFAULTS[profile]), settings)
    merged["profile"] = profile
    _reject_unknown(merged, AppConfig, path="")
    network_raw = _section(merged, "network", NetworkConfig)
    kb_raw = _section(merged, "knowledge_base", KnowledgeBaseConfig)
    guardrail_raw = _section(merged, "guardrail", GUARDRAIL_SETTINGS)
    agent_raw = _section(merged, "agent", AGENT_SETTINGS)
    api_raw = _section(merged, "api", API_SETTINGS)
    profile_geography = _choice("inference_profile", merged["inference_profile"], INFERENCE_PROFILES)
    return AppConfig(
        profile=profile,
        stack_prefix=_pattern(
            "stack_prefix",
            merged["stack_prefix"],
            r"[A-Za-z][A-Za-z0-9]{0,31}",
            "a letter then up to 31 letters or digits",
        ),
        account=_optional_pattern("account", merged["account"], r"\d{12}", "a 12-digit AWS account id"),
        region=_optional_pattern(
            "region", merged["region"], r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d", "an AWS region name like eu-west-1"
        ),
        removal_policy=_choice("removal_policy", merged["removal_policy"], REMOVAL_POLICIES),
        inference_profile=profile_geography,
        log_retention_days=_choice("log_retention_days", merged["log_retention_days"], LOG_RETENTION_DAYS),
        termination_protection=_boolean("termination_protection", merged["termination_protection"]),
        network=_network(network_raw, explicit=settings.get("network", {})),
        knowledge_base=_knowledge_base(kb_raw),
        guardrail=_guardrail(guardrail_raw),
        agent=_agent(agent_raw, profile_geography),
        api=_api(api_raw, profile_geography),
    )


def _network(raw: Mapping[str, Any], *, explicit: Mapping[str, Any]) -> NetworkConfig:
    max_azs = _integer("network.max_azs", raw["max_azs"], 1, MAX_AZS)
    # A profile's per-AZ counts are ceilings: with fewer AZs they shrink, unless set explicitly.
    raw = {
        **raw,
        **{key: min(raw[key], max_azs) for key in ("nat_gateways", "endpoint_azs") if key not in explicit},
    }
    return NetworkConfig(
        cidr=_cidr("network.cidr", raw["cidr"]),
        max_azs=max_azs,
        egress=_choice("network.egress", raw["egress"], EGRESS_MODES),
        nat_gateways=_integer("network.nat_gateways", raw["nat_gateways"], 1, max_azs, "network.max_azs"),
        interface_endpoints=_subset("network.interface_endpoints", raw["interface_endpoints"], INTERFACE_ENDPOINTS),
        endpoint_azs=_integer("network.endpoint_azs", raw["endpoint_azs"], 1, max_azs, "network.max_azs"),
    )


def _knowledge_base(raw: Mapping[str, Any]) -> KnowledgeBaseConfig:
    model = _choice("knowledge_base.embedding_model", raw["embedding_model"], tuple(EMBEDDING_MODELS))
    dimensions, max_input_tokens = EMBEDDING_MODELS[model]
    dimension = raw["embedding_dimensions"]
    if isinstance(dimension, bool) or dimension not in dimensions:
        allowed = ", ".join(str(d) for d in dimensions)
        raise _fail("knowledge_base.embedding_dimensions", dimension, f"one of: {allowed} (for {model})")
    return KnowledgeBaseConfig(
        vector_store=_choice("knowledge_base.vector_store", raw["vector_store"], VECTOR_STORES),
        embedding_model=model,
        embedding_dimensions=dimension,
        data_deletion_policy=_choice(
            "knowledge_base.data_deletion_policy", raw["data_deletion_policy"], DATA_DELETION_POLICIES
        ),
        chunking=_chunking(_section(raw, "chunking", ChunkingConfig, path="knowledge_base."), max_input_tokens, model),
        ingestion_batch_window_seconds=_integer(
            "knowledge_base.ingestion_batch_window_seconds", raw["ingestion_batch_window_seconds"], 0, 300
        ),
        ingestion_max_receives=_integer("knowledge_base.ingestion_max_receives", raw["ingestion_max_receives"], 1, 100),
        sample_documents=_boolean("knowledge_base.sample_documents", raw["sample_documents"]),
        opensearch_standby_replicas=_boolean(
            "knowledge_base.opensearch_standby_replicas", raw["opensearch_standby_replicas"]
        ),
    )


def _chunking(raw: Mapping[str, Any], max_input_tokens: int, model: str) -> ChunkingConfig:
    key = "knowledge_base.chunking."
    tokens_limit = f"{model} input limit"
    parent_max_tokens = _integer(key + "parent_max_tokens", raw["parent_max_tokens"], 1, 8192)
    return ChunkingConfig(
        strategy=_choice(key + "strategy", raw["strategy"], CHUNKING_STRATEGIES),
        max_tokens=_integer(key + "max_tokens", raw["max_tokens"], 1, max_input_tokens, tokens_limit),
        overlap_percentage=_integer(key + "overlap_percentage", raw["overlap_percentage"], 1, 99),
        parent_max_tokens=parent_max_tokens,
        child_max_tokens=_integer(
            key + "child_max_tokens",
            raw["child_max_tokens"],
            1,
            min(parent_max_tokens, max_input_tokens),
            f"{key}parent_max_tokens and the {model} input limit",
        ),
        overlap_tokens=_integer(key + "overlap_tokens", raw["overlap_tokens"], 1, 1000),
        breakpoint_percentile=_integer(key + "breakpoint_percentile", raw["breakpoint_percentile"], 50, 99),
        buffer_size=_integer(key + "buffer_size", raw["buffer_size"], 0, 1),
    )


def _section(raw: Mapping[str, Any], name: str, known: type | Iterable[str], *, path: str = "") -> Mapping[str, Any]:
    section = _require_object(path + name, raw[name])
    _reject_unknown(section, known, path=f"{path}{name}.")
    return section


def _guardrail(raw: Mapping[str, Any]) -> GuardrailConfig:
    key = "guardrail."
    tier = _choice(key + "tier", raw["tier"], GUARDRAIL_TIERS)
    profile = _optional_pattern(
        key + "guardrail_profile",
        raw["guardrail_profile"],
        r"[a-z0-9-]+\.guardrail\.v[0-9:]+",
        "like us.guardrail.v1:0",
    )
    if tier == "standard" and profile is None:
        raise _fail(key + "guardrail_profile", profile, "set: the standard tier needs a cross-region guardrail profile")
    filters = _section(raw, "content_filters", CONTENT_FILTERS, path=key)
    return GuardrailConfig(
        tier=tier,
        guardrail_profile=profile,
        content_filters={name: _strengths(f"{key}content_filters.{name}", filters[name]) for name in CONTENT_FILTERS},
        image_filters=_boolean(key + "image_filters", raw["image_filters"]),
        prompt_attack=_choice(key + "prompt_attack", raw["prompt_attack"], PROMPT_ATTACK_STRENGTHS),
        profanity=_boolean(key + "profanity", raw["profanity"]),
        denied_topics=_denied_topics(key + "denied_topics_file", raw["denied_topics_file"], tier),
        blocked_words=_blocked_words(key + "blocked_words_file", raw["blocked_words_file"]),
        pii=_pii(key + "pii", raw["pii"]),
        regexes=_regexes(key + "regexes", raw["regexes"]),
        grounding_threshold=_threshold(key + "grounding_threshold", raw["grounding_threshold"]),
        relevance_threshold=_threshold(key + "relevance_threshold", raw["relevance_threshold"]),
        blocked_input_message=_text(key + "blocked_input_message", raw["blocked_input_message"], 500),
        blocked_output_message=_text(key + "blocked_output_message", raw["blocked_output_message"], 500),
    )


def _agent(raw: Mapping[str, Any], inference_profile: str) -> AgentConfig:
    key = "agent."
    instruction_key = key + "instruction_file"
    _, instruction = _read(instruction_key, raw["instruction_file"])
    # Bedrock accepts instructions of 40 to 20,000 characters.
    if not 40 <= len(instruction.strip()) <= 20_000:
        raise _fail(instruction_key, raw["instruction_file"], "a file of 40 to 20,000 characters")
    return AgentConfig(
        model=_pattern(
            key + "model",
            raw["model"],
            r"[a-z0-9-]+\.[a-z0-9.-]+(:[0-9]+)?",
            "a Bedrock model id like amazon.nova-pro-v1:0",
        ),
        inference_profile=inference_profile,
        instruction=instruction.strip(),
        max_iterations=_integer(key + "max_iterations", raw["max_iterations"], 1, 50),
        max_tokens=_integer(key + "max_tokens", raw["max_tokens"], 256, 8192),
        max_turn_tokens=_integer(key + "max_turn_tokens", raw["max_turn_tokens"], 1000, 200_000),
        timeout_seconds=_integer(key + "timeout_seconds", raw["timeout_seconds"], 10, 900),
        idle_timeout_seconds=_integer(key + "idle_timeout_seconds", raw["idle_timeout_seconds"], 60, 28_800),
        max_lifetime_seconds=_integer(key + "max_lifetime_seconds", raw["max_lifetime_seconds"], 60, 28_800),
        memory=_boolean(key + "memory", raw["memory"]),
        memory_days=_integer(key + "memory_days", raw["memory_days"], 3, 365),
        memory_messages=_integer(key + "memory_messages", raw["memory_messages"], 1, 100),
    )


def _api(raw: Mapping[str, Any], inference_profile: str) -> ApiConfig:
    key = "api."
    models = _models(key + "models", raw["models"], inference_profile)
    generation = _pattern(key + "generation_model", raw["generation_model"], MODEL_ID_PATTERN, "a Bedrock model id")
    if model_identifier(generation, inference_profile) not in {m.id for m in models}:
        raise _fail(key + "generation_model", generation, "one of the models in api.models")
    throttle_rate = _integer(key + "throttle_rate", raw["throttle_rate"], 1, 10_000)
    origins = raw["cors_origins"]
    if not isinstance(origins, list) or not all(
        isinstance(o, str) and re.fullmatch(r"https://[a-z0-9.-]+(:[0-9]{1,5})?|http://localhost(:[0-9]{1,5})?", o)
        for o in origins
    ):
        raise _fail(key + "cors_origins", origins, "a list of origins like https://app.example.com (no paths, no *)")
    return ApiConfig(
        waf=_boolean(key + "waf", raw["waf"]),
        waf_rate_limit=_integer(key + "waf_rate_limit", raw["waf_rate_limit"], 10, 2_000_000_000),
        mfa=_choice(key + "mfa", raw["mfa"], MFA_MODES),
        deletion_protection=_boolean(key + "deletion_protection", raw["deletion_protection"]),
        throttle_rate=throttle_rate,
        throttle_burst=_integer(key + "throttle_burst", raw["throttle_burst"], 1, 5_000),
        cors_origins=tuple(origins),
        memory_mb=_integer(key + "memory_mb", raw["memory_mb"], 128, 10_240),
        reserved_concurrency=_integer(key + "reserved_concurrency", raw["reserved_concurrency"], 1, 1_000),
        inference_profile=inference_profile,
        models=models,
        generation_model=generation,
    )


def _models(key: str, raw: Any, inference_profile: str) -> tuple[ModelChoice, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= 10:
        raise _fail(key, raw, "a list of 1 to 10 objects with model and name")
    models = []
    for index, item in enumerate(raw):
        path = f"{key}[{index}]"
        section = _require_object(path, item)
        _reject_unknown(section, ("model", "name"), path=path + ".")
        model = _pattern(path + ".model", section.get("model"), MODEL_ID_PATTERN, "a Bedrock model id")
        name = _text(path + ".name", section.get("name"), 60)
        models.append(ModelChoice(id=model_identifier(model, inference_profile), model=model, name=name))
    if len({m.id for m in models}) != len(models):
        raise _fail(key, raw, "a list of distinct models")
    return tuple(models)


def _strengths(key: str, raw: Any) -> FilterStrengths:
    section = _require_object(key, raw)
    _reject_unknown(section, ("input", "output"), path=key + ".")
    return FilterStrengths(
        input=_choice(key + ".input", section.get("input"), FILTER_STRENGTHS),
        output=_choice(key + ".output", section.get("output"), FILTER_STRENGTHS),
    )


def _pii(key: str, raw: Any) -> dict[str, str]:
    entities = _require_object(key, raw)
    _reject_unknown(entities, PII_ENTITIES, path=key + ".")
    return {name: _choice(f"{key}.{name}", action, PII_ACTIONS) for name, action in sorted(entities.items())}


def _regexes(key: str, raw: Any) -> tuple[RegexFilter, ...]:
    if not isinstance(raw, list) or len(raw) > 30:
        raise _fail(key, raw, "a list of at most 30 objects with name, pattern, action and description")
    regexes = []
    for index, item in enumerate(raw):
        path = f"{key}[{index}]"
        section = _require_object(path, item)
        _reject_unknown(section, ("action", "description", "name", "pattern"), path=path + ".")
        pattern = _text(path + ".pattern", section.get("pattern"), 500)
        try:
            re.compile(pattern)
        except re.error as error:
            raise _fail(path + ".pattern", pattern, f"a valid regular expression ({error})") from None
        regexes.append(
            RegexFilter(
                name=_text(path + ".name", section.get("name"), 100),
                pattern=pattern,
                action=_choice(path + ".action", section.get("action"), REGEX_ACTIONS),
                description=_text(path + ".description", section.get("description", "Custom pattern"), 1000),
            )
        )
    return tuple(regexes)


def _threshold(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 0.99:
        raise _fail(key, value, "a number from 0 to 0.99")
    return float(value)


def _text(key: str, value: Any, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise _fail(key, value, f"a non-empty string of at most {max_length} characters")
    return value


def _read(key: str, value: Any) -> tuple[Path, str]:
    relative = _text(key, value, 300)
    path = ROOT / relative
    try:
        return path, path.read_text(encoding="utf-8")
    except OSError:
        raise _fail(key, value, "a readable file, relative to the project root") from None


def _denied_topics(key: str, value: Any, tier: str) -> tuple[DeniedTopic, ...]:
    path, text = _read(key, value)
    try:
        topics = tomllib.loads(text).get("topic", [])
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{value}: not valid TOML ({error})") from None
    if not isinstance(topics, list) or not 1 <= len(topics) <= MAX_TOPICS:
        raise ConfigError(f"{value}: has {len(topics)} [[topic]] entries; allowed: 1 to {MAX_TOPICS}")
    limit = TOPIC_DEFINITION_LIMITS[tier]
    parsed: list[DeniedTopic] = []
    for index, topic in enumerate(topics, start=1):
        where = f"{path.name} topic {index}"
        _reject_unknown(topic, ("definition", "examples", "name"), path=f"{where}: ")
        name = _pattern(
            f"{where}: name",
            topic.get("name"),
            r"[0-9a-zA-Z-_ !?.]{1,100}",
            "1 to 100 letters, digits, spaces or - _ ! ? .",
        )
        examples = topic.get("examples", [])
        if (
            not isinstance(examples, list)
            or len(examples) > MAX_TOPIC_EXAMPLES
            or not all(isinstance(e, str) and 0 < len(e) <= 100 for e in examples)
        ):
            raise _fail(
                f"{where}: examples", examples, f"a list of at most {MAX_TOPIC_EXAMPLES} strings of 1 to 100 characters"
            )
        parsed.append(
            DeniedTopic(
                name=name,
                definition=_text(f"{where}: definition", topic.get("definition"), limit),
                examples=tuple(examples),
            )
        )
    names = [topic.name for topic in parsed]
    if len(set(names)) != len(names):
        raise ConfigError(f"{value}: topic names must be unique, got {names}")
    return tuple(parsed)


def _blocked_words(key: str, value: Any) -> tuple[str, ...]:
    path, text = _read(key, value)
    words = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for number, word in enumerate(words, start=1):
        if len(word) > 100:
            raise _fail(f"{path.name} word {number}", word, "at most 100 characters")
    if len(words) > MAX_WORDS or len({w.lower() for w in words}) != len(words):
        raise ConfigError(f"{value}: needs at most {MAX_WORDS} distinct words, got {len(words)}")
    return tuple(words)


def _show(value: Any) -> str:
    return json.dumps(value, default=str)


def _fail(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{key}={_show(value)} is not {allowed}")


def _choice(key: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    # bool is an int in Python: true must not pass as 1 day of log retention.
    if isinstance(value, bool) or value not in allowed:
        raise _fail(key, value, "one of: " + ", ".join(str(a) for a in allowed))
    return value


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, value, "one of: true, false")
    return value


def _integer(key: str, value: Any, low: int, high: int, high_from: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        limit = f"{high} ({high_from})" if high_from else str(high)
        raise _fail(key, value, f"an integer from {low} to {limit}")
    return value


def _pattern(key: str, value: Any, pattern: str, allowed: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise _fail(key, value, allowed)
    return value


def _optional_pattern(key: str, value: Any, pattern: str, allowed: str) -> str | None:
    return None if value is None else _pattern(key, value, pattern, f"{allowed} or null")


def _cidr(key: str, value: Any) -> str:
    allowed = "a private IPv4 CIDR block with a prefix length from /16 to /24"
    try:
        network = ipaddress.IPv4Network(value)
    except (ValueError, TypeError):
        raise _fail(key, value, allowed) from None
    if not network.is_private or not 16 <= network.prefixlen <= 24:
        raise _fail(key, value, allowed)
    return str(network)


def _subset(key: str, value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not all(isinstance(item, str) and item in allowed for item in value)
        or len(set(value)) != len(value)
    ):
        raise _fail(key, value, "a list of distinct values from: " + ", ".join(allowed))
    return tuple(value)


def _require_object(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(key, value, "an object")
    return value


def _reject_unknown(raw: Mapping[str, Any], known_keys: type | Iterable[str], *, path: str) -> None:
    known = sorted(f.name for f in fields(known_keys)) if isinstance(known_keys, type) else sorted(known_keys)
    for key, value in raw.items():
        if key not in known:
            raise _fail(f"{path}{key}", value, "a known setting; known: " + ", ".join(known))


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _parse_json(key: str, value: Any) -> Any:
    """Context given with `-c` arrives as a string: read it as JSON when it is JSON, else as text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _set_path(settings: dict[str, Any], path: list[str], value: Any) -> None:
    node = settings
    for i, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, Mapping):
            raise _fail(".".join(path[: i + 1]), child, "an object")
        else:
            child = node[part] = dict(child)
        node = child
    node[path[-1]] = value
