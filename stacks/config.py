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
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

CONTEXT_KEY = "genai"

PROFILES = ("dev", "prod")
EGRESS_MODES = ("none", "nat")
REMOVAL_POLICIES = ("retain", "destroy")
# The interface endpoints the stack's Lambdas call; each costs about $7.30 per AZ per month.
INTERFACE_ENDPOINTS = ("bedrock-runtime", "bedrock-agent-runtime", "bedrock-agent", "xray")
# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
MAX_AZS = 3

_DEFAULTS: dict[str, Any] = {
    "stack_prefix": "BedrockGenAi",
    "account": None,
    "region": None,
    "removal_policy": "retain",
    "network": {
        "cidr": "10.0.0.0/16",
        "egress": "none",
        "interface_endpoints": list(INTERFACE_ENDPOINTS),
    },
}

PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "log_retention_days": 30,
        "termination_protection": False,
        "network": {"max_azs": 2, "endpoint_azs": 1, "nat_gateways": 1},
    },
    "prod": {
        "log_retention_days": 365,
        "termination_protection": True,
        "network": {"max_azs": 3, "endpoint_azs": 2, "nat_gateways": 3},
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
class AppConfig:
    profile: str
    stack_prefix: str
    account: str | None
    region: str | None
    removal_policy: str
    log_retention_days: int
    termination_protection: bool
    network: NetworkConfig

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
    network_raw = _require_object("network", merged["network"])
    _reject_unknown(network_raw, NetworkConfig, path="network.")
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
        log_retention_days=_choice("log_retention_days", merged["log_retention_days"], LOG_RETENTION_DAYS),
        termination_protection=_boolean("termination_protection", merged["termination_protection"]),
        network=_network(network_raw, explicit=settings.get("network", {})),
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


def _reject_unknown(raw: Mapping[str, Any], cls: type, *, path: str) -> None:
    known = sorted(f.name for f in fields(cls))
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
