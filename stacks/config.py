"""Typed, validated configuration for the whole app.

Everything below `app.py` is configured through these dataclasses; nothing else reads context or the
environment. Each setting is declared once, as a field: what it allows, its default in each profile and what
it is for. The raw settings come from one context key (`genai` in cdk.json), are layered over the defaults of
the selected profile, and are validated here, once. A bad value raises `ConfigError` whose message is one line
naming the key, the value and what is allowed. docs/configuration.md is generated from the same declarations.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, get_type_hints

from stacks.regions import preflight

CONTEXT_KEY = "genai"
ROOT = Path(__file__).resolve().parents[1]

PROFILES = ("dev", "prod")
# The interface endpoints a function in the VPC may call; each costs about $7.30 per AZ per month.
INTERFACE_ENDPOINTS = ("bedrock-runtime", "bedrock-agent-runtime", "bedrock-agent", "bedrock-agentcore", "xray")
# The ones the functions in the VPC call by default. bedrock-agent (the control plane) is not among them: the
# functions that call it (ingestion, the agent's status tools) handle no customer data and run outside the VPC.
DEFAULT_INTERFACE_ENDPOINTS = tuple(name for name in INTERFACE_ENDPOINTS if name != "bedrock-agent")
# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
MAX_AZS = 3
# Embedding models a knowledge base can use: the output dimensions each offers and its input limit.
EMBEDDING_MODELS: dict[str, tuple[tuple[int, ...], int]] = {
    "amazon.titan-embed-text-v2:0": ((256, 512, 1024), 8192),
    "cohere.embed-multilingual-v3": ((1024,), 512),
    "cohere.embed-english-v3": ((1024,), 512),
}
DIMENSIONS = sorted({dimension for dimensions, _ in EMBEDDING_MODELS.values() for dimension in dimensions})
MAX_INPUT_TOKENS = max(limit for _, limit in EMBEDDING_MODELS.values())
CONTENT_FILTERS = ("sexual", "violence", "hate", "insults", "misconduct")
PII_ENTITIES = (
    "ADDRESS", "AGE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "CA_HEALTH_NUMBER", "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV", "CREDIT_DEBIT_CARD_EXPIRY", "CREDIT_DEBIT_CARD_NUMBER", "DRIVER_ID", "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IP_ADDRESS", "LICENSE_PLATE", "MAC_ADDRESS", "NAME", "PASSWORD", "PHONE",
    "PIN", "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "URL", "USERNAME", "US_BANK_ACCOUNT_NUMBER", "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", "US_PASSPORT_NUMBER", "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER",
)  # fmt: skip
# Secrets and payment data never pass; contact details are masked, so answers stay useful.
BLOCKED_PII = (
    "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "PASSWORD", "PIN", "CREDIT_DEBIT_CARD_NUMBER", "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY", "US_SOCIAL_SECURITY_NUMBER", "US_BANK_ACCOUNT_NUMBER",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
)  # fmt: skip
ANONYMIZED_PII = ("EMAIL", "PHONE", "NAME")
# Bedrock's limits on denied topics: definition length by tier, examples, topics, and custom words.
TOPIC_DEFINITION_LIMITS = {"classic": 200, "standard": 1000}
MAX_TOPICS = 30
MAX_TOPIC_EXAMPLES = 5
MAX_WORDS = 10_000
# Where an inference profile routes on-demand requests: the deploy region's geography, or global.
INFERENCE_PROFILES = ("us", "eu", "apac", "jp", "au", "global", "none")
MODEL_ID_PATTERN = r"[a-z0-9-]+\.[a-z0-9.-]+(:[0-9]+)?"
DEFAULT_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"


class ConfigError(ValueError):
    """A configuration value that synth must not go on with; the message is one line."""


def _fail(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{key}={json.dumps(value, default=str)} is not {allowed}")


Check = Callable[[Any], object]  # truthy when the value is allowed


class Constraint:
    """What a setting allows: `allowed` says it as the error message and the docs do; `parse` applies it."""

    def __init__(
        self, allowed: str, check: Check = lambda _: True, convert: Callable[[Any], Any] = lambda v: v
    ) -> None:
        self.allowed, self.check, self.convert = allowed, check, convert

    def parse(self, key: str, value: Any, at: Reader) -> Any:
        """The value to use for `key` (a setting of the object `at` reads), or a ConfigError."""
        if not self.check(value):
            raise _fail(key, value, self.allowed)
        return self.convert(value)


class Choice(Constraint):
    def __init__(self, *values: Any, note: str = "") -> None:
        # bool is an int in Python: true must not pass as 1 day of log retention.
        super().__init__(f"one of: {', '.join(map(str, values))}{note}", lambda v: type(v) is not bool and v in values)


class Integer(Constraint):
    def __init__(self, low: int, high: int, high_from: str = "", *, nullable: bool = False) -> None:
        limit = f"{high} ({high_from})" if high_from else high
        super().__init__(
            f"an integer from {low} to {limit}" + (" or null" if nullable else ""),
            lambda v: (nullable and v is None) or (type(v) is int and low <= v <= high),
        )


class Text(Constraint):
    def __init__(self, most: int) -> None:
        allowed = f"a non-empty string of at most {most} characters"
        super().__init__(allowed, lambda v: isinstance(v, str) and v.strip() and len(v) <= most)


class Pattern(Constraint):
    def __init__(self, pattern: str, allowed: str, *, nullable: bool = False) -> None:
        super().__init__(
            allowed + (" or null" if nullable else ""),
            lambda v: (nullable and v is None) or (isinstance(v, str) and re.fullmatch(pattern, v)),
        )


class Strings(Constraint):
    """A list of strings that each match `pattern`, as a tuple."""

    def __init__(self, pattern: str, allowed: str, *, most: int = 1000, distinct: bool = False) -> None:
        def check(v: Any) -> bool:
            strings = isinstance(v, list) and all(isinstance(s, str) and re.fullmatch(pattern, s) for s in v)
            return strings and len(v) <= most and (not distinct or len(set(v)) == len(v))

        super().__init__(allowed, check, tuple)


class Subset(Strings):
    def __init__(self, values: tuple[str, ...]) -> None:
        pattern = "|".join(map(re.escape, values))
        super().__init__(pattern, f"a list of distinct values from: {', '.join(values)}", distinct=True)


class Regex(Text):
    def parse(self, key: str, value: Any, at: Reader) -> str:
        try:
            re.compile(super().parse(key, value, at))
        except re.error as error:
            raise _fail(key, value, f"a valid regular expression ({error})") from None
        return str(value)


class File(Constraint):
    """A text file named relative to the project root; `read(key, name, text, at)` makes the value of it."""

    def __init__(self, read: Callable[[str, str, str, Reader], Any]) -> None:
        super().__init__("a readable file, relative to the project root")
        self.read = read

    def parse(self, key: str, value: Any, at: Reader) -> Any:
        try:
            text = (ROOT / Text(300).parse(key, value, at)).read_text(encoding="utf-8")
        except OSError:
            raise _fail(key, value, self.allowed) from None
        return self.read(key, value, text, at)


class Record(Constraint):
    """An object of the settings declared on the dataclass `cls`."""

    def __init__(self, cls: type) -> None:
        super().__init__("an object")
        self.cls = cls

    def parse(self, key: str, value: Any, at: Reader) -> Any:
        return Reader(self.cls, _object(key, value), key + ".", at.profile, at).build()


class Nullable(Constraint):
    """Null, or an object of the settings declared on the dataclass `cls`; `allowed` names its keys."""

    def __init__(self, cls: type, allowed: str) -> None:
        super().__init__(allowed, lambda v: v is None or isinstance(v, Mapping))
        self.record = Record(cls)

    def parse(self, key: str, value: Any, at: Reader) -> Any:
        return None if super().parse(key, value, at) is None else self.record.parse(key, value, at)


class Records(Constraint):
    def __init__(self, cls: type, fewest: int, most: int, allowed: str) -> None:
        super().__init__(allowed, lambda v: isinstance(v, list) and fewest <= len(v) <= most)
        self.item = Record(cls)

    def parse(self, key: str, value: Any, at: Reader) -> tuple[Any, ...]:
        items = super().parse(key, value, at)
        return tuple(self.item.parse(f"{key}[{index}]", item, at) for index, item in enumerate(items))


class Table(Constraint):
    """An object from some of `keys` to what `item` allows, in the order of `keys`."""

    def __init__(self, keys: tuple[str, ...], item: Constraint) -> None:
        super().__init__(f"an object from any of {', '.join(keys)} to {item.allowed}")
        self.keys, self.item = keys, item

    def parse(self, key: str, value: Any, at: Reader) -> dict[str, Any]:
        _reject_unknown(key + ".", _object(key, value), self.keys)
        return {name: self.item.parse(f"{key}.{name}", value[name], at) for name in self.keys if name in value}


def _private_network(value: Any) -> bool:
    try:
        network = ipaddress.IPv4Network(value)
    except (ValueError, TypeError):
        return False
    return network.is_private and 16 <= network.prefixlen <= 24


BOOLEAN = Constraint("one of: true, false", lambda v: isinstance(v, bool))
THRESHOLD = Constraint("a number from 0 to 0.99", lambda v: type(v) in (int, float) and 0 <= v <= 0.99, float)
CIDR = Constraint(
    "a private IPv4 CIDR block with a prefix length from /16 to /24",
    _private_network,
    lambda v: str(ipaddress.IPv4Network(v)),
)
# `-c genai.account=123456789012` arrives as a JSON number. JSON numbers cannot start with 0, and a shorter one has
# more likely lost a digit than leading zeros: only a number of 12 digits is taken as an id.
ACCOUNT_ID = Constraint(
    "a 12-digit AWS account id or null",
    lambda v: v is None or (type(v) in (str, int) and re.fullmatch(r"\d{12}", str(v))),
    lambda v: v if v is None else str(v),
)
ORIGINS = Strings(
    r"https://[a-z0-9.-]+(:[0-9]{1,5})?|http://localhost(:[0-9]{1,5})?",
    "a list of origins like https://app.example.com (no paths, no *)",
)
MODEL_ID = Pattern(MODEL_ID_PATTERN, "a Bedrock model id")
STRENGTHS = Choice("none", "low", "medium", "high")
PER_AZ = Integer(1, MAX_AZS, "network.max_azs")


@dataclass(frozen=True)
class Setting:
    """One setting: its key, what it allows, its default in each profile and what it is for."""

    key: str
    constraint: Constraint
    defaults: Mapping[str, Any]
    help: str


_SAME: Any = object()


def setting(
    constraint: Constraint, default: Any = None, *, dev: Any = _SAME, prod: Any = _SAME, help: str, key: str = ""
) -> Any:
    """A dataclass field declared as a setting; a null default makes it required unless null is allowed."""
    defaults = {"dev": default if dev is _SAME else dev, "prod": default if prod is _SAME else prod}
    return field(metadata={"setting": Setting(key, constraint, defaults, help)})


@cache
def settings_of(cls: type) -> Mapping[str, Setting]:
    """The settings of the dataclass `cls` by attribute name; a field typed as a dataclass is a section."""
    types = get_type_hints(cls)
    found = {}
    for f in fields(cls):
        if "setting" in f.metadata:
            found[f.name] = replace(f.metadata["setting"], key=f.metadata["setting"].key or f.name)
        elif is_dataclass(types[f.name]):
            found[f.name] = Setting(
                f.name, Record(types[f.name]), {profile: {} for profile in PROFILES}, types[f.name].__doc__
            )
    return found


Rule = Callable[["Reader"], dict[str, Any] | None]
RULES: dict[type, Rule] = {}


def rule(cls: type) -> Callable[[Rule], Rule]:
    """Register the cross-field checks of `cls`; they may return the values of its fields that are not settings."""

    def register(function: Rule) -> Rule:
        RULES[cls] = function
        return function

    return register


@dataclass
class Reader:
    """The settings given for one object, where it sits, and its values parsed so far."""

    cls: type
    given: Mapping[str, Any]
    path: str
    profile: str
    parent: Reader | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def __call__(self, name: str, constraint: Constraint | None = None) -> Any:
        """The value of setting `name`, parsed once, by `constraint` where a rule narrows the declared one."""
        if name not in self.values:
            spec = settings_of(self.cls)[name]
            self.values[name] = (constraint or spec.constraint).parse(self.path + spec.key, self.raw(name), self)
        return self.values[name]

    def raw(self, name: str) -> Any:
        """What was given for setting `name`, layered over its default in this profile."""
        spec = settings_of(self.cls)[name]
        default = spec.defaults[self.profile]
        value = self.given.get(spec.key, default)
        return _merge(default, value) if isinstance(default, Mapping) and isinstance(value, Mapping) else value

    def up(self, name: str) -> Any:
        """The value of setting `name` of the nearest enclosing object that declares it."""
        outer = self.parent
        while outer is not None and name not in settings_of(outer.cls):
            outer = outer.parent
        if outer is None:
            raise KeyError(name)  # a rule asked for a setting no enclosing object declares
        return outer(name)

    def build(self) -> Any:
        """The object: unknown keys and cross-field rules first, then every setting as declared."""
        specs = settings_of(self.cls)
        _reject_unknown(self.path, self.given, [spec.key for spec in specs.values()])
        rules = RULES.get(self.cls)
        derived = (rules(self) if rules else None) or {}
        return self.cls(**{name: self(name) for name in specs} | derived)


def _vpc_cidr(value: Any) -> bool:
    try:
        return isinstance(value, str) and 16 <= ipaddress.IPv4Network(value).prefixlen <= 28
    except ValueError:
        return False


def _names(pattern: str, allowed: str, *, distinct: bool = True) -> Constraint:
    """A list of 1 to MAX_EXISTING_AZS strings that each match `pattern`, as a tuple."""
    return Constraint(
        allowed,
        lambda v: (
            isinstance(v, list)
            and 1 <= len(v) <= MAX_EXISTING_AZS
            and all(isinstance(s, str) and re.fullmatch(pattern, s) for s in v)
            and (not distinct or len(set(v)) == len(v))
        ),
        tuple,
    )


# An existing VPC may span every AZ of its region (us-east-1 has six).
MAX_EXISTING_AZS = 6
GATEWAY_ENDPOINTS = ("s3", "dynamodb")


@dataclass(frozen=True, kw_only=True)
class ExistingVpc:
    """A VPC made elsewhere, imported as given (no lookup, so synth needs no credentials)."""

    vpc_id: str = setting(Pattern(r"vpc-[0-9a-f]{8,17}", "a VPC id like vpc-0123456789abcdef0"), help="Its id")
    cidr: str = setting(
        Constraint("an IPv4 CIDR block with a prefix length from /16 to /28", _vpc_cidr, str),
        help="Its CIDR block that holds subnet_ids: the interface endpoints admit HTTPS from it",
    )
    availability_zones: tuple[str, ...] = setting(
        _names(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d[a-z]", "a list of 1 to 6 distinct AZ names like eu-west-1a"),
        help="The AZs of subnet_ids, in their order",
    )
    subnet_ids: tuple[str, ...] = setting(
        _names(r"subnet-[0-9a-f]{8,17}", "a list of 1 to 6 distinct subnet ids like subnet-0123456789abcdef0"),
        help="The private subnets the functions and interface endpoints go in, one per AZ",
    )
    route_table_ids: tuple[str, ...] = setting(
        _names(r"rtb-[0-9a-f]{8,17}", "a list of 1 to 6 route table ids like rtb-0123456789abcdef0", distinct=False),
        help="The route table of each subnet, in the order of subnet_ids (subnets may share one)",
    )
    gateway_endpoints: tuple[str, ...] = setting(
        Subset(GATEWAY_ENDPOINTS),
        [],
        help="Gateway endpoints to add on those route tables; a second one for the same service fails the deploy",
    )


@rule(ExistingVpc)
def _one_subnet_per_az(get: Reader) -> None:
    zones = get("availability_zones")
    region = get.up("region")
    if region is not None and not all(re.fullmatch(re.escape(region) + "[a-z]", zone) for zone in zones):
        raise _fail(get.path + "availability_zones", get.raw("availability_zones"), f"a list of AZs of {region}")
    if len(get("subnet_ids")) != len(zones):
        raise _fail(
            get.path + "subnet_ids",
            get.raw("subnet_ids"),
            f"a list of one subnet per AZ ({len(zones)} in {get.path}availability_zones)",
        )
    if len(get("route_table_ids")) != len(zones):
        raise _fail(
            get.path + "route_table_ids",
            get.raw("route_table_ids"),
            f"a list of one route table per subnet ({len(zones)} in {get.path}subnet_ids)",
        )


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """The VPC the functions run in."""

    cidr: str = setting(CIDR, "10.0.0.0/16", help="Address range of the VPC")
    max_azs: int = setting(Integer(1, MAX_AZS), dev=2, prod=3, help="AZs of the VPC's subnets")
    egress: str = setting(Choice("none", "nat"), "none", help="nat: adds public subnets and NAT gateways")
    nat_gateways: int = setting(PER_AZ, dev=1, prod=3, help="With egress=nat; the profile's count shrinks to max_azs")
    interface_endpoints: tuple[str, ...] = setting(
        Subset(INTERFACE_ENDPOINTS),
        list(DEFAULT_INTERFACE_ENDPOINTS),
        help="Each costs about $7.30 per AZ per month; bedrock-agent is off (no function in the VPC calls it). "
        "With existing_vpc, leave out those it has: the functions use its endpoints through their private DNS",
    )
    endpoint_azs: int = setting(PER_AZ, dev=1, prod=2, help="AZs with interface endpoints; shrinks to max_azs too")
    flow_logs: bool = setting(
        BOOLEAN,
        True,
        help="A flow log of all the VPC's traffic into an encrypted log group; with existing_vpc it is added to that "
        "VPC (turn it off when the VPC's owner already logs it)",
    )
    existing_vpc: ExistingVpc | None = setting(  # noqa: RUF009 - a field() declaration, not a shared default
        Nullable(
            ExistingVpc,
            "null, or an object with vpc_id, cidr, availability_zones, subnet_ids, route_table_ids and optionally "
            f"gateway_endpoints (from: {', '.join(GATEWAY_ENDPOINTS)})",
        ),
        help="Run in this VPC, imported as given (no lookup), instead of creating one: no VPC, subnets, NAT or "
        "default-security-group rules are made. subnet_ids: its private subnets, one per AZ in the order of "
        "availability_zones, with route_table_ids one per subnet (they may repeat); cidr: its CIDR block that holds "
        "them (the interface endpoints admit HTTPS from it); gateway_endpoints: those to add, none by default (a "
        "second one for a service on the same route tables fails the deploy). Not with cidr, max_azs, nat_gateways "
        "or egress=nat",
    )

    @property
    def has_egress(self) -> bool:
        return self.egress == "nat"


# What only a created VPC has, and why it does not apply to an existing one.
CREATED_VPC_ONLY = {
    "cidr": "give its CIDR as network.existing_vpc.cidr",
    "max_azs": "its AZs are network.existing_vpc.availability_zones",
    "nat_gateways": "no NAT gateway is made in it",
    "egress": "no NAT gateway is made in it: its own routes decide egress",
}


@rule(NetworkConfig)
def _per_az_counts(get: Reader) -> dict[str, Any]:
    existing: ExistingVpc | None = get("existing_vpc")
    if existing is None:
        max_azs, limit = get("max_azs"), get.path + "max_azs"
    else:
        for name, why in CREATED_VPC_ONLY.items():
            if name in get.given and (name != "egress" or get.given[name] == "nat"):
                raise _fail(get.path + name, get.given[name], f"allowed with {get.path}existing_vpc ({why})")
        max_azs, limit = len(existing.availability_zones), get.path + "existing_vpc.availability_zones"
    within = Integer(1, max_azs, limit)
    # A profile's per-AZ counts are ceilings: with fewer AZs they shrink, unless set explicitly.
    counts = ("nat_gateways", "endpoint_azs")
    derived = {name: get(name, within) if name in get.given else min(get(name), max_azs) for name in counts}
    # An existing VPC's own CIDR and AZ count stand in for the settings that would shape a created one.
    return derived | ({"cidr": existing.cidr, "max_azs": max_azs} if existing else {})


@dataclass(frozen=True, kw_only=True)
class ChunkingConfig:
    """How documents are split into chunks before they are embedded."""

    strategy: str = setting(Choice("fixed", "hierarchical", "semantic", "none"), "fixed", help="none: one per file")
    max_tokens: int = setting(
        Integer(1, MAX_INPUT_TOKENS, "the embedding model's input limit"), 300, help="fixed, semantic: chunk size"
    )
    overlap_percentage: int = setting(Integer(1, 99), 20, help="fixed: overlap of neighbouring chunks")
    parent_max_tokens: int = setting(Integer(1, MAX_INPUT_TOKENS), 1500, help="hierarchical: parent chunk size")
    child_max_tokens: int = setting(
        Integer(1, MAX_INPUT_TOKENS, "parent_max_tokens and the embedding model's input limit"),
        300,
        help="hierarchical: child chunk size",
    )
    overlap_tokens: int = setting(Integer(1, 1000), 60, help="hierarchical: overlap of neighbouring chunks")
    breakpoint_percentile: int = setting(Integer(50, 99), 95, help="semantic: dissimilarity that starts a chunk")
    buffer_size: int = setting(Integer(0, 1), 0, help="semantic: sentences on each side compared with each one")


@rule(ChunkingConfig)
def _token_limits(get: Reader) -> None:
    model = get.up("embedding_model")
    max_input_tokens = EMBEDDING_MODELS[model][1]
    get("max_tokens", Integer(1, max_input_tokens, f"{model} input limit"))
    limit = min(get("parent_max_tokens"), max_input_tokens)
    get("child_max_tokens", Integer(1, limit, f"{get.path}parent_max_tokens and the {model} input limit"))


@dataclass(frozen=True, kw_only=True)
class KnowledgeBaseConfig:
    """The knowledge base: vector store, embeddings, chunking and the ingestion of document changes."""

    vector_store: str = setting(
        Choice("s3vectors", "opensearch"), "s3vectors", help="opensearch: hourly OCUs, hybrid search"
    )
    embedding_model: str = setting(Choice(*EMBEDDING_MODELS), "amazon.titan-embed-text-v2:0", help="Embeds all text")
    embedding_dimensions: int = setting(
        Choice(*DIMENSIONS, note=" (by model)"),
        1024,
        help="; ".join(f"{model}: {', '.join(map(str, d))}" for model, (d, _) in EMBEDDING_MODELS.items()),
    )
    data_deletion_policy: str = setting(Choice("delete", "retain"), "delete", help="Of the vectors, with their source")
    chunking: ChunkingConfig
    ingestion_batch_window_seconds: int = setting(Integer(1, 300), 60, help="Changes within it share one ingestion job")
    ingestion_max_receives: int = setting(Integer(1, 100), 12, help="Attempts before a change is dead-lettered")
    sample_documents: bool = setting(BOOLEAN, dev=True, prod=False, help="Upload sample-docs/ on deploy")
    opensearch_standby_replicas: bool = setting(BOOLEAN, dev=False, prod=True, help="With vector_store=opensearch")


@rule(KnowledgeBaseConfig)
def _dimensions(get: Reader) -> None:
    model = get("embedding_model")
    get("embedding_dimensions", Choice(*EMBEDDING_MODELS[model][0], note=f" (for {model})"))


@dataclass(frozen=True, kw_only=True)
class FilterStrengths:
    input: str = setting(STRENGTHS, help="On prompts")
    output: str = setting(STRENGTHS, help="On answers")


@dataclass(frozen=True, kw_only=True)
class DeniedTopic:
    name: str = setting(
        Pattern(r"[0-9a-zA-Z-_ !?.]{1,100}", "1 to 100 letters, digits, spaces or - _ ! ? ."), help="Unique"
    )
    definition: str = setting(
        Text(TOPIC_DEFINITION_LIMITS["standard"]),
        help=f"At most {TOPIC_DEFINITION_LIMITS['classic']} in the classic tier",
    )
    examples: tuple[str, ...] = setting(
        Strings(
            r"(?s).{1,100}",
            f"a list of at most {MAX_TOPIC_EXAMPLES} strings of 1 to 100 characters",
            most=MAX_TOPIC_EXAMPLES,
        ),
        [],
        help="Prompts on the topic",
    )


@rule(DeniedTopic)
def _definition_limit(get: Reader) -> None:
    get("definition", Text(TOPIC_DEFINITION_LIMITS[get.up("tier")]))


def _denied_topics(key: str, name: str, text: str, at: Reader) -> tuple[DeniedTopic, ...]:
    try:
        topics = tomllib.loads(text).get("topic", [])
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{name}: not valid TOML ({error})") from None
    if not isinstance(topics, list) or not 1 <= len(topics) <= MAX_TOPICS:
        raise ConfigError(f"{name}: has {len(topics)} [[topic]] entries; allowed: 1 to {MAX_TOPICS}")
    parsed = []
    for number, topic in enumerate(topics, start=1):
        where = f"{Path(name).name} topic {number}"
        parsed.append(Reader(DeniedTopic, _object(where, topic), f"{where}: ", at.profile, at).build())
    names = [topic.name for topic in parsed]
    if len(set(names)) != len(names):
        raise ConfigError(f"{name}: topic names must be unique, got {names}")
    return tuple(parsed)


def _blocked_words(key: str, name: str, text: str, at: Reader) -> tuple[str, ...]:
    words = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for number, word in enumerate(words, start=1):
        if len(word) > 100:
            raise _fail(f"{Path(name).name} word {number}", word, "at most 100 characters")
    if len(words) > MAX_WORDS or len({w.lower() for w in words}) != len(words):
        raise ConfigError(f"{name}: needs at most {MAX_WORDS} distinct words, got {len(words)}")
    return tuple(words)


@dataclass(frozen=True, kw_only=True)
class RegexFilter:
    name: str = setting(Text(100), help="Its name")
    pattern: str = setting(Regex(500), help="A regular expression")
    action: str = setting(Choice("block", "anonymize"), help="What to do with a match")
    description: str = setting(Text(1000), "Custom pattern", help="What it finds")


@dataclass(frozen=True, kw_only=True)
class GuardrailConfig:
    """The guardrail applied to every model call and every retrieved passage."""

    tier: str = setting(Choice("classic", "standard"), "classic", help="Of the content filters and denied topics")
    guardrail_profile: str | None = setting(
        Pattern(r"[a-z0-9-]+\.guardrail\.v[0-9:]+", "like us.guardrail.v1:0", nullable=True),
        help="Cross-region guardrail profile; the standard tier needs one",
    )
    content_filters: Mapping[str, FilterStrengths] = setting(
        Table(CONTENT_FILTERS, Record(FilterStrengths)),
        {name: {"input": "high", "output": "high"} for name in CONTENT_FILTERS},
        help="Strength of each content filter",
    )
    image_filters: bool = setting(BOOLEAN, True, help="Apply the content filters to images too")
    prompt_attack: str = setting(Choice("low", "medium", "high"), "high", help="Prompt attack filter (on prompts)")
    profanity: bool = setting(BOOLEAN, True, help="Block the managed profanity word list")
    denied_topics: tuple[DeniedTopic, ...] = setting(
        File(_denied_topics),
        "prompts/guardrail/denied_topics.toml",
        key="denied_topics_file",
        help=f"TOML: 1 to {MAX_TOPICS} [[topic]] tables with a name, a definition and examples (see below)",
    )
    blocked_words: tuple[str, ...] = setting(
        File(_blocked_words),
        "prompts/guardrail/blocked_words.txt",
        key="blocked_words_file",
        help=f"At most {MAX_WORDS} distinct words or phrases of up to 100 characters, one a line; # starts a comment",
    )
    pii: Mapping[str, str] = setting(
        Table(PII_ENTITIES, Choice("block", "anonymize", "none")),
        {**dict.fromkeys(BLOCKED_PII, "block"), **dict.fromkeys(ANONYMIZED_PII, "anonymize")},
        help="What to do with each type of personal information; types left out pass",
    )
    regexes: tuple[RegexFilter, ...] = setting(
        Records(RegexFilter, 0, 30, "a list of at most 30 objects with name, pattern, action and description"),
        [],
        help="Custom patterns to block or mask",
    )
    grounding_threshold: float = setting(THRESHOLD, 0.75, help="Answers less grounded in the passages are blocked")
    relevance_threshold: float = setting(THRESHOLD, 0.75, help="Answers less relevant to the question are blocked")
    blocked_input_message: str = setting(Text(500), "Sorry, I can't help with that request.", help="For prompts")
    blocked_output_message: str = setting(Text(500), "Sorry, I can't share that answer.", help="For answers")
    enforced: bool = setting(
        BOOLEAN,
        False,
        help="Also enforce it on every call of the stack's generation models in the account and region (Bedrock "
        "enforced guardrails: account-wide, so off by default)",
    )


@rule(GuardrailConfig)
def _guardrail_profile(get: Reader) -> None:
    if get("tier") == "standard" and get("guardrail_profile") is None:
        raise _fail(
            get.path + "guardrail_profile", None, "set: the standard tier needs a cross-region guardrail profile"
        )


def model_identifier(model: str, inference_profile: str) -> str:
    """The id to call a model by: through the inference profile of a geography, or directly."""
    return model if inference_profile == "none" else f"{inference_profile}.{model}"


def _instruction(key: str, name: str, text: str, at: Reader) -> str:
    # Bedrock accepts instructions of 40 to 20,000 characters.
    if not 40 <= len(text.strip()) <= 20_000:
        raise _fail(key, name, "a file of 40 to 20,000 characters")
    return text.strip()


@dataclass(frozen=True, kw_only=True)
class AgentConfig:
    """The agent (an AgentCore harness): its model, instruction, limits, sessions and memory."""

    model: str = setting(
        Pattern(MODEL_ID_PATTERN, "a Bedrock model id like amazon.nova-pro-v1:0"),
        DEFAULT_MODEL,
        help="Called through inference_profile",
    )
    inference_profile: str
    instruction: str = setting(
        File(_instruction), "prompts/agent_instruction.md", key="instruction_file", help="The agent's instruction"
    )
    max_iterations: int = setting(Integer(1, 50), 10, help="Model and tool steps per turn")
    max_tokens: int = setting(Integer(256, 8192), 2048, help="Output tokens per model call")
    max_turn_tokens: int = setting(Integer(1000, 200_000), 16_000, help="Output tokens per turn, all calls together")
    timeout_seconds: int = setting(Integer(10, 900), 120, help="Longest turn, in seconds")
    idle_timeout_seconds: int = setting(
        Integer(60, 28_800), 300, help="A session's microVM ends after this idle time (it bills memory while it runs)"
    )
    max_lifetime_seconds: int = setting(Integer(60, 28_800), 3600, help="A session's microVM ends after this time")
    memory: bool = setting(BOOLEAN, True, help="AgentCore Memory: recent messages and a summary per session")
    memory_days: int = setting(Integer(3, 365), 30, help="How long memory keeps events")
    memory_messages: int = setting(Integer(1, 100), 20, help="Recent messages a session starts with")

    @property
    def model_identifier(self) -> str:
        """What the agent calls: the inference profile id, or the model id itself."""
        return model_identifier(self.model, self.inference_profile)


@rule(AgentConfig)
def _agent_profile(get: Reader) -> dict[str, Any]:
    return {"inference_profile": get.up("inference_profile")}


@dataclass(frozen=True, kw_only=True)
class ModelChoice:
    id: str  # what callers pass: the inference profile id, or the model id
    model: str = setting(MODEL_ID, help="Called through inference_profile")
    name: str = setting(Text(60), help="What GET /models calls it")


@rule(ModelChoice)
def _model_id(get: Reader) -> dict[str, Any]:
    return {"id": model_identifier(get("model"), get.up("inference_profile"))}


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """The REST API: WAF, user pool, throttling, its function, and the models callers may choose."""

    waf: bool = setting(BOOLEAN, dev=False, prod=True, help="AWS WAF in front of the API (about $10 a month)")
    waf_rate_limit: int = setting(Integer(10, 2_000_000_000), 1000, help="WAF blocks an IP above it (per 5 minutes)")
    mfa: str = setting(Choice("off", "optional", "required"), dev="optional", prod="required", help="For people")
    deletion_protection: bool = setting(BOOLEAN, dev=False, prod=True, help="Of the user pool")
    throttle_rate: int = setting(Integer(1, 10_000), 10, help="Stage throttling: requests per second")
    throttle_burst: int = setting(Integer(1, 5_000), 20, help="Stage throttling: burst")
    cors_origins: tuple[str, ...] = setting(ORIGINS, [], help="Browser origins allowed to call; none: no CORS")
    memory_mb: int = setting(Integer(128, 10_240), 512, help="Of the API function")
    reserved_concurrency: int | None = setting(
        Integer(1, 1_000, nullable=True),
        None,
        help="Concurrency reserved for each of the API's two functions (buffered and streaming); null: none. "
        "Lambda keeps 100 of the account's concurrency unreserved, so new accounts (often 10 in all) cannot "
        "reserve any: check with `make doctor`",
    )
    inference_profile: str
    models: tuple[ModelChoice, ...] = setting(
        Records(ModelChoice, 1, 10, "a list of 1 to 10 objects with model and name"),
        [
            {"model": DEFAULT_MODEL, "name": "Claude Haiku 4.5"},
            {"model": "amazon.nova-pro-v1:0", "name": "Amazon Nova Pro"},
            {"model": "amazon.nova-lite-v1:0", "name": "Amazon Nova Lite"},
            {"model": "amazon.nova-micro-v1:0", "name": "Amazon Nova Micro"},
        ],
        help="The models callers may choose",
    )
    generation_model: str = setting(MODEL_ID, DEFAULT_MODEL, help="What POST /ask answers with: one of models")
    system_prompt: str = setting(
        Text(4000),
        "You are a helpful assistant. Answer briefly and accurately, and say so when you do not know.",
        help="The system prompt of /chat and /compare (callers cannot send their own)",
    )
    max_tokens: int = setting(Integer(1, 8192), 1024, help="Output tokens of a model call that asks for none")
    max_tokens_ceiling: int = setting(
        Integer(1, 8192), 4096, help="The most output tokens any call gets, whatever it asks for"
    )
    max_request_characters: int = setting(
        Integer(1000, 200_000), 24_000, help="The most text a request may carry, all fields together (else 413)"
    )
    caller_calls_per_minute: int = setting(
        Integer(1, 10_000), 20, help="Model calls a caller may make a minute (a compare counts one per model)"
    )
    stream_timeout_seconds: int = setting(
        Integer(30, 900), 300, help="Longest streamed answer (the streaming function's timeout)"
    )


@rule(ApiConfig)
def _api_models(get: Reader) -> dict[str, Any]:
    profile = get.up("inference_profile")
    ids = {model.id for model in get("models")}
    if len(ids) != len(get("models")):
        raise _fail(get.path + "models", get.raw("models"), "a list of distinct models")
    if model_identifier(get("generation_model"), profile) not in ids:
        raise _fail(get.path + "generation_model", get("generation_model"), "one of the models in api.models")
    get("max_tokens", Integer(1, get("max_tokens_ceiling"), get.path + "max_tokens_ceiling"))
    return {"inference_profile": profile}


EMAILS = Strings(r"[^@\s]+@[^@\s]+\.[^@\s]+", "a list of up to 10 distinct email addresses", most=10, distinct=True)
PERCENTS = Constraint(
    "a list of 1 to 5 distinct whole percentages from 1 to 1000",
    lambda v: (
        isinstance(v, list)
        and 1 <= len(v) <= 5
        and len(set(v)) == len(v)
        and all(type(p) is int and 1 <= p <= 1000 for p in v)
    ),
    tuple,
)


@dataclass(frozen=True, kw_only=True)
class ObservabilityConfig:
    """The dashboard, the alarms and who they reach, the budget, and model invocation logging."""

    alarm_emails: tuple[str, ...] = setting(
        EMAILS, [], help="Subscribed to the alerts topic (each confirms by email); none: subscribe yourself"
    )
    monthly_budget_usd: int | None = setting(
        Integer(1, 1_000_000, nullable=True),
        dev=100,
        prod=500,
        help="AWS Budgets cost budget of the resources tagged with this project; null: no budget",
    )
    budget_alerts: tuple[int, ...] = setting(
        PERCENTS,
        [80, 100],
        help="Percentages of the budget whose actual spend alerts the topic (forecast spend alerts at 100)",
    )
    api_latency_p90_ms: int = setting(
        Integer(1_000, 29_000), 20_000, help="Alarm when the buffered routes' p90 latency stays above this"
    )
    api_5xx_percent: int = setting(Integer(1, 100), 5, help="Alarm when this share of API requests fails with 5xx")
    invocation_logging: bool = setting(
        BOOLEAN,
        False,
        help="Bedrock model invocation logging (prompts and answers) for the whole account and region: opt-in",
    )


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    """Settings of both stacks."""

    profile: str = setting(Choice(*PROFILES), dev="dev", prod="prod", help="Defaults of the settings left out")
    stack_prefix: str = setting(
        Pattern(r"[A-Za-z][A-Za-z0-9]{0,31}", "a letter then up to 31 letters or digits"),
        "BedrockGenAi",
        help="Stack names: <prefix>-Foundation and <prefix>-Application",
    )
    account: str | None = setting(
        ACCOUNT_ID,
        help="null: environment-agnostic. A JSON number (as -c gives) counts only with 12 digits: no padding",
    )
    region: str | None = setting(
        Pattern(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d", "an AWS region name like eu-west-1", nullable=True),
        help="null: environment-agnostic (AZs resolved at deploy time)",
    )
    removal_policy: str = setting(Choice("retain", "destroy"), "retain", help="What `cdk destroy` does to data")
    inference_profile: str = setting(
        Choice(*INFERENCE_PROFILES),
        "us",
        help="Every model is called through the inference profile of this geography (match the region); none: directly",
    )
    log_retention_days: int = setting(Choice(*LOG_RETENTION_DAYS), dev=30, prod=365, help="Of every log group")
    termination_protection: bool = setting(BOOLEAN, dev=False, prod=True, help="Of both stacks")
    network: NetworkConfig
    knowledge_base: KnowledgeBaseConfig
    guardrail: GuardrailConfig
    agent: AgentConfig
    api: ApiConfig
    observability: ObservabilityConfig

    @property
    def retain_data(self) -> bool:
        return self.removal_policy == "retain"


def load_config(context: Mapping[str, Any]) -> AppConfig:
    """Build the config from CDK context: the `genai` object plus any `genai.<path>` overrides."""
    settings = dict(_object(CONTEXT_KEY, _parse_json(context.get(CONTEXT_KEY, {}))))
    for key in sorted(k for k in context if k.startswith(CONTEXT_KEY + ".")):
        _set_path(settings, key.removeprefix(CONTEXT_KEY + ".").split("."), _parse_json(context[key]))
    return parse_settings(settings)


def parse_settings(settings: Mapping[str, Any]) -> AppConfig:
    """Validate raw settings layered over the defaults of their profile, and against the region when pinned."""
    profile = Reader(AppConfig, settings, "", "dev")("profile")
    config: AppConfig = Reader(AppConfig, settings, "", profile).build()
    problem = _region_problem(config)
    if problem is not None:
        raise ConfigError(problem)
    return config


def _region_problem(config: AppConfig) -> str | None:
    """What a pinned region cannot run of this configuration (stacks/regions.py, a dated table), or None."""
    if config.region is None:
        return None
    models = {"agent.model": config.agent.model}
    models.update({f"api.models[{index}].model": choice.model for index, choice in enumerate(config.api.models)})
    return preflight(
        region=config.region,
        inference_profile=config.inference_profile,
        generation_models=models,
        embedding_model=config.knowledge_base.embedding_model,
        vector_store=config.knowledge_base.vector_store,
        guardrail_tier=config.guardrail.tier,
        guardrail_profile=config.guardrail.guardrail_profile,
    )


def _object(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(key, value, "an object")
    return value


def _reject_unknown(path: str, raw: Mapping[str, Any], known: Iterable[str]) -> None:
    names = sorted(known)
    for key, value in raw.items():
        if key not in names:
            raise _fail(f"{path}{key}", value, "a known setting; known: " + ", ".join(names))


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _parse_json(value: Any) -> Any:
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
