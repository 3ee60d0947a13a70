"""Idle monthly cost of a synthesized cloud assembly, priced from the dated table in docs/prices.toml.

Reads the stacks listed in `<assembly>/manifest.json` (or every `*.template.json`), finds each resource that
bills while nothing happens (interface endpoints, NAT gateways, keys, web ACLs, OpenSearch OCUs, dashboards,
alarms, ...) and prints one line per charge, the total per stack and overall, then the per-use prices that matter
for these stacks. `--json` prints the same as JSON; `--max-total USD` exits 1 when the total is above it.

Counting lives here (RULES: resource type -> what it bills); prices live in the table, each with its source.
A resource type with no rule that is not known to be free is never counted as $0 in silence: it is listed as not
priced, the total says it leaves it out, and `--max-total` fails.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ASSEMBLY = ROOT / "cdk.out"
DEFAULT_PRICES = ROOT / "docs" / "prices.toml"
BEDROCK_NOTE = (
    "Not included: Amazon Bedrock model and embedding tokens (chat, ask, agent, knowledge-base ingestion), "
    "which depend on traffic and model; see https://aws.amazon.com/bedrock/pricing/"
)
PERIODS = ("hour", "day", "month")
PAID_MANAGED_RULE_GROUPS = {
    "AWSManagedRulesBotControlRuleSet": "waf_bot_control",
    "AWSManagedRulesATPRuleSet": "waf_fraud_control",
    "AWSManagedRulesACFPRuleSet": "waf_fraud_control",
}
CLASSIC_MIN_OCU = {True: (1.0, 1.0), False: (0.5, 0.5)}  # standby replicas -> (indexing, search)


@dataclass(frozen=True)
class Price:
    """One idle price: usd per `per` (hour, day or month) for one `unit`."""

    key: str
    usd: float
    per: str
    unit: str
    source: str
    as_of: datetime.date
    note: str = ""
    free_tier: str = ""


@dataclass(frozen=True)
class PerUsePrice:
    """A price that bills only with traffic, listed when one of `applies_to` is in the assembly."""

    key: str
    service: str
    usd: float
    unit: str
    applies_to: tuple[str, ...]
    source: str
    as_of: datetime.date
    free_tier: str = ""

    def text(self) -> str:
        free = f", {self.free_tier} free" if self.free_tier else ""
        return f"{unit_price(self.usd)} per {self.unit}{free}"


@dataclass(frozen=True)
class PriceTable:
    path: str
    region: str
    hours_per_month: float
    idle: Mapping[str, Price]
    per_use: Sequence[PerUsePrice]

    def per_month(self, price: Price) -> float:
        """How many `per` periods a month holds."""
        return {"hour": self.hours_per_month, "day": self.hours_per_month / 24, "month": 1.0}[price.per]


@dataclass(frozen=True)
class Usage:
    """What a resource bills while idle: `quantity` units of the idle price `price_key`."""

    price_key: str
    quantity: float
    what: str
    quantity_label: str
    note: str = ""


@dataclass(frozen=True)
class Line:
    stack: str
    logical_id: str
    path: str
    resource_type: str
    what: str
    quantity: float
    quantity_label: str
    price_key: str
    unit_price: float
    per: str
    monthly: float
    note: str = ""


@dataclass(frozen=True)
class Unpriced:
    """What a rule returns for a resource that may bill while idle in a way this script does not price."""

    reason: str


@dataclass(frozen=True)
class Skipped:
    """A resource left out of the total: with no idle charge (shown with --verbose), or not priced (always shown)."""

    stack: str
    logical_id: str
    path: str
    resource_type: str
    reason: str


@dataclass(frozen=True)
class Stack:
    name: str
    stack_name: str
    template: Mapping[str, Any]


@dataclass
class StackCost:
    name: str
    stack_name: str
    lines: list[Line] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)


@dataclass(frozen=True)
class Estimate:
    assembly: str
    prices: PriceTable
    stacks: Sequence[StackCost]
    skipped: Sequence[Skipped]
    per_use: Sequence[PerUsePrice]
    notes: Sequence[str]
    unpriced: Sequence[Skipped] = ()

    @property
    def total(self) -> float:
        return sum(stack.total for stack in self.stacks)


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def unit_price(amount: float) -> str:
    """A price with every digit it has, and at least cents: $0.01, $0.625, $0.0000166667."""
    digits = f"{amount:.10f}".rstrip("0")
    whole, _, cents = digits.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def plural(count: float, noun: str) -> str:
    number = f"{count:g}"
    return f"{number} {noun}" if count == 1 else f"{number} {noun}s"


def load_prices(path: Path) -> PriceTable:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    idle = {}
    for key, entry in data["idle"].items():
        if entry["per"] not in PERIODS:
            raise ValueError(f"{path}: idle.{key}.per={entry['per']!r} is not one of: {', '.join(PERIODS)}")
        idle[key] = Price(
            key=key,
            usd=float(entry["usd"]),
            per=entry["per"],
            unit=entry["unit"],
            source=entry["source"],
            as_of=entry["as_of"],
            note=entry.get("note", ""),
            free_tier=entry.get("free_tier", ""),
        )
    per_use = [
        PerUsePrice(
            key=key,
            service=entry["service"],
            usd=float(entry["usd"]),
            unit=entry["unit"],
            applies_to=tuple(entry["applies_to"]),
            source=entry["source"],
            as_of=entry["as_of"],
            free_tier=entry.get("free_tier", ""),
        )
        for key, entry in data["per_use"].items()
    ]
    return PriceTable(shown(path), data["region"], float(data["hours_per_month"]), idle, per_use)


def shown(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def load_assembly(directory: Path) -> list[Stack]:
    """The stacks of a cloud assembly, in manifest order (nested assemblies of stages included)."""
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        return [
            Stack(path.name.removesuffix(".template.json"), path.name.removesuffix(".template.json"), _read(path))
            for path in sorted(directory.glob("*.template.json"))
        ]
    stacks: list[Stack] = []
    for artifact_id, artifact in json.loads(manifest.read_text(encoding="utf-8"))["artifacts"].items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "aws:cloudformation:stack":
            stacks.append(
                Stack(
                    artifact.get("displayName", artifact_id),
                    properties.get("stackName", artifact_id),
                    _read(directory / properties["templateFile"]),
                )
            )
        elif artifact.get("type") == "cdk:cloud-assembly":
            stacks.extend(load_assembly(directory / properties["directoryName"]))
    return stacks


def _read(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return template


# Counting rules: resource properties -> what the resource bills while idle.


def vpc_endpoint(props: Mapping[str, Any]) -> list[Usage]:
    if props.get("VpcEndpointType", "Gateway") != "Interface":
        return []
    subnets = props.get("SubnetIds")
    azs = len(subnets) if isinstance(subnets, list) else 1
    label = plural(azs, "AZ") if isinstance(subnets, list) else "1 AZ (subnets not a literal list)"
    return [Usage("vpc_interface_endpoint", azs, f"interface endpoint {service_name(props.get('ServiceName'))}", label)]


def service_name(value: Any) -> str:
    """`bedrock-runtime` from `com.amazonaws.<region>.bedrock-runtime`, also inside an Fn::Join."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        value = separator.join(part if isinstance(part, str) else "{}" for part in parts)
    if not isinstance(value, str):
        return "(service not literal)"
    match = re.fullmatch(r"com\.amazonaws\.[^.]+\.(.+)", value)
    return match.group(1) if match else value


def nat_gateway(props: Mapping[str, Any]) -> list[Usage]:
    return [Usage("nat_gateway", 1, "NAT gateway", "1 gateway")]


def public_ip(props: Mapping[str, Any]) -> list[Usage]:
    return [Usage("public_ipv4", 1, "Elastic IP (public IPv4 address)", "1 address")]


def kms_key(props: Mapping[str, Any]) -> list[Usage]:
    note = ""
    if props.get("EnableKeyRotation"):
        days = props.get("RotationPeriodInDays", 365)
        note = f"rotation every {days} days adds $1/month after the first rotation and $1 after the second (at most $3)"
    return [Usage("kms_key", 1, "customer managed KMS key", "1 key", note)]


def web_acl(props: Mapping[str, Any]) -> list[Usage]:
    rules = props.get("Rules") or []
    usages = [
        Usage("waf_web_acl", 1, "WAF web ACL", "1 web ACL"),
        Usage("waf_rule", len(rules), "WAF rules (a managed rule group is one rule)", plural(len(rules), "rule")),
    ]
    for rule in rules:
        group = rule.get("Statement", {}).get("ManagedRuleGroupStatement", {})
        if group.get("VendorName") == "AWS" and group.get("Name") in PAID_MANAGED_RULE_GROUPS:
            usages.append(
                Usage(PAID_MANAGED_RULE_GROUPS[group["Name"]], 1, f"WAF {group['Name']} subscription", "1 group")
            )
    return usages


def opensearch_collection(props: Mapping[str, Any]) -> list[Usage]:
    if props.get("CollectionGroupName"):
        return []  # its OCUs are those of its collection group
    kind = f"{props.get('Type', '')} collection".strip()
    return [ocu_usage(props.get("StandbyReplicas", "ENABLED") == "ENABLED", None, None, kind)]


def opensearch_collection_group(props: Mapping[str, Any]) -> list[Usage]:
    limits = props.get("CapacityLimits") or {}
    if props.get("Generation") == "NEXTGEN":
        default: tuple[float, float] = (0.0, 0.0)  # NextGen groups scale to zero unless a minimum is set
    else:
        default = CLASSIC_MIN_OCU[props.get("StandbyReplicas") == "ENABLED"]
    indexing = limits.get("MinIndexingCapacityInOcu", default[0])
    search = limits.get("MinSearchCapacityInOcu", default[1])
    return [ocu_usage(props.get("StandbyReplicas") == "ENABLED", indexing, search, "collection group")]


def ocu_usage(standby: bool, indexing: float | None, search: float | None, kind: str) -> Usage:
    floor = CLASSIC_MIN_OCU[standby]
    indexing = floor[0] if indexing is None else float(indexing)
    search = floor[1] if search is None else float(search)
    replicas = "with standby replicas" if standby else "without standby replicas"
    what = f"OpenSearch Serverless {kind}, minimum OCUs {replicas}"
    return Usage("opensearch_ocu", indexing + search, what, f"{indexing:g} indexing + {search:g} search OCU")


def dashboard(props: Mapping[str, Any]) -> list[Usage]:
    return [Usage("cloudwatch_dashboard", 1, "CloudWatch dashboard", "1 dashboard")]


def alarm(props: Mapping[str, Any]) -> list[Usage]:
    """Alarm metrics: 1 for a plain alarm, one per metric read by metric math, 3 for an anomaly band."""
    metrics = props.get("Metrics")
    if isinstance(metrics, list):
        stats = [m for m in metrics if "MetricStat" in m]
        bands = [m for m in metrics if "ANOMALY_DETECTION_BAND" in str(m.get("Expression", ""))]
        count = max(len(stats), 1) + 2 * len(bands)
        periods = [m["MetricStat"].get("Period", 60) for m in stats]
        kind = "anomaly-detection alarm" if bands else "metric-math alarm"
    else:
        count, periods, kind = 1, [props.get("Period", 60)], "alarm"
    high_resolution = any(isinstance(p, int | float) and p < 60 for p in periods)
    key = "cloudwatch_alarm_high_resolution" if high_resolution else "cloudwatch_alarm"
    resolution = "high-resolution" if high_resolution else "standard"
    return [Usage(key, count, f"CloudWatch {resolution} {kind}", plural(count, "alarm metric"))]


def composite_alarm(props: Mapping[str, Any]) -> list[Usage]:
    return [Usage("cloudwatch_composite_alarm", 1, "CloudWatch composite alarm", "1 alarm")]


def secret(props: Mapping[str, Any]) -> list[Usage]:
    copies = 1 + len(props.get("ReplicaRegions") or [])
    return [Usage("secrets_manager_secret", copies, "Secrets Manager secret", plural(copies, "secret"))]


def budget_action(props: Mapping[str, Any]) -> list[Usage]:
    return [Usage("budget_action", 1, "budget with an action", "1 budget")]


def api_stage(props: Mapping[str, Any]) -> list[Usage]:
    if not props.get("CacheClusterEnabled"):
        return []
    size = str(props.get("CacheClusterSize", "0.5"))
    note = "" if size == "0.5" else f"a {size} GB cache costs more than the 0.5 GB rate used here"
    return [Usage("api_gateway_cache", 1, f"API Gateway stage cache ({size} GB)", "1 cache", note)]


def agentcore(props: Mapping[str, Any]) -> list[Usage]:
    return [Usage("agentcore", 1, "AgentCore resource: no idle charge (see per-use prices)", "1 resource")]


def budget(props: Mapping[str, Any]) -> list[Usage]:
    kind = str((props.get("Budget") or {}).get("BudgetType", "")).lower() or "a"
    return [Usage("budget", 1, f"AWS Budgets {kind} budget without actions: no charge", "1 budget")]


RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}


def event_rule(props: Mapping[str, Any]) -> list[Usage]:
    """A scheduled rule is free, but it runs its targets while nothing else happens: say how often."""
    schedule = props.get("ScheduleExpression")
    if not isinstance(schedule, str):
        return []
    what = f"EventBridge scheduled rule ({schedule})"
    match = RATE.fullmatch(schedule)
    if not match:
        return [Usage("eventbridge_scheduled_rule", 1, what, "1 rule", f"{schedule} runs its targets while idle")]
    # A month of 730 hours, as in the price table.
    runs = 730 * 60 / (int(match.group(1)) * MINUTES[match.group(2).removesuffix("s")])
    note = (
        f"{schedule} runs its targets {runs:,.0f} times a month while idle; what a run costs (Lambda requests and "
        "duration, the custom metrics it publishes) is a per-use price"
    )
    return [Usage("eventbridge_scheduled_rule", 1, what, f"{runs:,.0f} runs a month", note)]


def provisioned_concurrency(props: Mapping[str, Any]) -> list[Usage] | Unpriced:
    if props.get("ProvisionedConcurrencyConfig"):
        return Unpriced("provisioned concurrency bills per GB-second while idle: not priced here")
    return []


def event_source_mapping(props: Mapping[str, Any]) -> list[Usage] | Unpriced:
    if props.get("ProvisionedPollerConfig"):
        return Unpriced("provisioned event pollers bill hourly while idle: not priced here")
    return []


def dynamodb_table(props: Mapping[str, Any]) -> list[Usage] | Unpriced:
    if props.get("BillingMode") == "PAY_PER_REQUEST":
        return []
    return Unpriced("provisioned read and write capacity bills hourly while idle: not priced here")


Rule = Callable[[Mapping[str, Any]], list[Usage] | Unpriced]
RULES: dict[str, Rule] = {
    "AWS::EC2::VPCEndpoint": vpc_endpoint,
    "AWS::EC2::NatGateway": nat_gateway,
    "AWS::EC2::EIP": public_ip,
    "AWS::KMS::Key": kms_key,
    "AWS::KMS::ReplicaKey": kms_key,
    "AWS::WAFv2::WebACL": web_acl,
    "AWS::OpenSearchServerless::Collection": opensearch_collection,
    "AWS::OpenSearchServerless::CollectionGroup": opensearch_collection_group,
    "AWS::CloudWatch::Dashboard": dashboard,
    "AWS::CloudWatch::Alarm": alarm,
    "AWS::CloudWatch::CompositeAlarm": composite_alarm,
    "AWS::SecretsManager::Secret": secret,
    "AWS::Budgets::BudgetsAction": budget_action,
    "AWS::ApiGateway::Stage": api_stage,
    "AWS::Budgets::Budget": budget,
    "AWS::Events::Rule": event_rule,
    "AWS::Lambda::Alias": provisioned_concurrency,
    "AWS::Lambda::Version": provisioned_concurrency,
    "AWS::Lambda::EventSourceMapping": event_source_mapping,
    "AWS::DynamoDB::Table": dynamodb_table,
}
RULE_PREFIXES: dict[str, Rule] = {"AWS::BedrockAgentCore::": agentcore}
# Types known to bill nothing while idle, one by one: a type of the same family may bill (an EC2 route server, a
# Cognito user pool replica), so families are not trusted wholesale. What these bill with traffic (tokens, requests,
# GB logged) is a per-use price. Bedrock resources bill tokens, which are out of scope here, and guardrail text units
# (an enforced guardrail configuration too); an application inference profile only tags the calls made through it.
NO_IDLE_CHARGE = frozenset(
    {
        *(
            f"AWS::ApiGateway::{name}"
            for name in (
                "Account", "ApiKey", "Authorizer", "BasePathMapping", "Deployment", "DocumentationPart", "DomainName",
                "GatewayResponse", "Method", "Model", "RequestValidator", "Resource", "RestApi", "UsagePlan",
                "UsagePlanKey",
            )
        ),
        *(
            f"AWS::Bedrock::{name}"
            for name in (
                "ApplicationInferenceProfile", "DataSource", "EnforcedGuardrailConfiguration", "Guardrail",
                "GuardrailVersion", "KnowledgeBase", "Prompt", "PromptVersion",
            )
        ),
        "AWS::CDK::Metadata",
        "AWS::CloudFormation::CustomResource",
        *(
            f"AWS::Cognito::{name}"
            # A machine-to-machine client bills only in a month it requests tokens (a per-use price).
            for name in ("UserPool", "UserPoolClient", "UserPoolDomain", "UserPoolGroup", "UserPoolResourceServer")
        ),
        *(
            f"AWS::EC2::{name}"
            for name in (
                "FlowLog", "InternetGateway", "Route", "RouteTable", "SecurityGroup", "SecurityGroupEgress",
                "SecurityGroupIngress", "Subnet", "SubnetRouteTableAssociation", "VPC", "VPCGatewayAttachment",
            )
        ),
        "AWS::KMS::Alias",
        *(f"AWS::Lambda::{name}" for name in ("EventInvokeConfig", "Function", "LayerVersion", "Permission", "Url")),
        *(
            f"AWS::Logs::{name}"
            for name in (
                "Delivery", "DeliveryDestination", "DeliverySource", "LogGroup", "MetricFilter", "ResourcePolicy",
                "SubscriptionFilter",
            )
        ),
        *(f"AWS::OpenSearchServerless::{name}" for name in ("AccessPolicy", "Index", "SecurityPolicy")),
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        *(f"AWS::S3Vectors::{name}" for name in ("Index", "VectorBucket", "VectorBucketPolicy")),
        *(f"AWS::SNS::{name}" for name in ("Subscription", "Topic", "TopicPolicy")),
        *(f"AWS::SQS::{name}" for name in ("Queue", "QueuePolicy")),
        *(f"AWS::WAFv2::{name}" for name in ("IPSet", "LoggingConfiguration", "RegexPatternSet", "WebACLAssociation")),
    }
)  # fmt: skip
# IAM and custom resources (Custom::<Name>) never bill; a custom resource's provider function is its own resource.
NO_IDLE_CHARGE_PREFIXES = ("AWS::IAM::", "Custom::")
NO_IDLE_CHARGE_REASON = "no idle charge"
NO_RULE_REASON = "no price rule for this type"


def rule_for(resource_type: str) -> Rule | None:
    if resource_type in RULES:
        return RULES[resource_type]
    return next((rule for prefix, rule in RULE_PREFIXES.items() if resource_type.startswith(prefix)), None)


def resources(stack: Stack) -> Iterator[tuple[str, str, str, Mapping[str, Any]]]:
    """(logical id, construct path, type, properties) of each resource of a stack."""
    for logical_id, resource in stack.template.get("Resources", {}).items():
        path = resource.get("Metadata", {}).get("aws:cdk:path", "")
        yield logical_id, path.removesuffix("/Resource"), resource["Type"], resource.get("Properties", {})


def estimate(stacks: Sequence[Stack], prices: PriceTable, assembly: str = "") -> Estimate:
    costs: list[StackCost] = []
    skipped: list[Skipped] = []
    unpriced: list[Skipped] = []
    keys_used: set[str] = set()
    types_seen: set[str] = set()
    per_use_types = {name for price in prices.per_use for name in price.applies_to}
    for stack in stacks:
        cost = StackCost(stack.name, stack.stack_name)
        for logical_id, path, resource_type, props in resources(stack):
            types_seen.add(resource_type)
            rule = rule_for(resource_type)
            outcome = rule(props) if rule else []
            usages = outcome if isinstance(outcome, list) else []
            for usage in usages:
                price = prices.idle[usage.price_key]
                keys_used.add(usage.price_key)
                cost.lines.append(
                    Line(
                        stack=stack.name,
                        logical_id=logical_id,
                        path=path or logical_id,
                        resource_type=resource_type,
                        what=usage.what,
                        quantity=usage.quantity,
                        quantity_label=usage.quantity_label,
                        price_key=usage.price_key,
                        unit_price=price.usd,
                        per=price.per,
                        monthly=usage.quantity * price.usd * prices.per_month(price),
                        note=usage.note,
                    )
                )
            known_free = (
                rule is not None
                or resource_type in NO_IDLE_CHARGE
                or resource_type in per_use_types
                or resource_type.startswith(NO_IDLE_CHARGE_PREFIXES)
            )
            if isinstance(outcome, Unpriced) or not known_free:
                reason = outcome.reason if isinstance(outcome, Unpriced) else NO_RULE_REASON
                unpriced.append(Skipped(stack.name, logical_id, path or logical_id, resource_type, reason))
            elif not usages:
                skipped.append(
                    Skipped(stack.name, logical_id, path or logical_id, resource_type, NO_IDLE_CHARGE_REASON)
                )
        costs.append(cost)
    present = keys_used | types_seen
    per_use = [price for price in prices.per_use if present.intersection(price.applies_to)]
    notes = [f"{line.path}: {line.note}" for cost in costs for line in cost.lines if line.note]
    notes += [
        f"{prices.idle[key].free_tier} (not subtracted)" for key in sorted(keys_used) if prices.idle[key].free_tier
    ]
    return Estimate(assembly, prices, costs, skipped, per_use, notes, unpriced)


def render_text(result: Estimate, *, verbose: bool = False) -> str:
    prices = result.prices
    out = [
        f"Idle monthly cost of {result.assembly} ({prices.region} list prices, "
        f"{prices.hours_per_month:g} hours a month; prices and their sources: {prices.path})",
    ]
    rows = [
        (line.path, line.what, line.quantity_label, f"{unit_price(line.unit_price)}/{line.per}")
        for stack in result.stacks
        for line in stack.lines
    ]
    widths = [max([len(row[i]) for row in rows], default=0) for i in range(4)]
    for stack in result.stacks:
        out.append("")
        out.append(f"{stack.name} ({stack.stack_name})")
        for line in stack.lines:
            cells = (line.path, line.what, line.quantity_label, f"{unit_price(line.unit_price)}/{line.per}")
            padded = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            out.append(f"  {padded}  {usd(line.monthly):>10}")
        if not stack.lines:
            out.append("  nothing that bills while idle")
        out.append(f"  {stack.name} total: {usd(stack.total)} a month")
    if result.unpriced:
        count = plural(len(result.unpriced), "resource")
        out += ["", f"Total: {usd(result.total)} a month while idle, not counting {count} not priced (below)"]
        out += ["", "Not priced (they may bill while idle: price them by hand, or add a rule to scripts/cost.py):"]
        out += [f"  {s.stack}  {s.path}  {s.resource_type}: {s.reason}" for s in result.unpriced]
    else:
        out += ["", f"Total: {usd(result.total)} a month while idle"]
    if result.notes:
        out += ["", "Notes (free tiers are per account, shared with everything else in it):"]
        out += [f"  {note}" for note in result.notes]
    if verbose and result.skipped:
        out += ["", "No idle charge:"]
        out += [f"  {s.stack}  {s.path}  {s.resource_type}: {s.reason}" for s in result.skipped]
    out += ["", "Per-use prices that matter for these stacks (not in the total):"]
    services: dict[str, list[str]] = {}
    for price in result.per_use:
        services.setdefault(price.service, []).append(price.text())
    out += [f"  {service}: {'; '.join(texts)}" for service, texts in services.items()]
    out += ["", BEDROCK_NOTE]
    return "\n".join(out) + "\n"


def to_json(result: Estimate) -> dict[str, Any]:
    prices = result.prices
    return {
        "assembly": result.assembly,
        "prices": prices.path,
        "region": prices.region,
        "hours_per_month": prices.hours_per_month,
        "stacks": [
            {
                "name": stack.name,
                "stack_name": stack.stack_name,
                "resources": [
                    {
                        "logical_id": line.logical_id,
                        "path": line.path,
                        "type": line.resource_type,
                        "what": line.what,
                        "quantity": line.quantity,
                        "quantity_label": line.quantity_label,
                        "price_key": line.price_key,
                        "unit_price_usd": line.unit_price,
                        "per": line.per,
                        "monthly_usd": round(line.monthly, 2),
                        "note": line.note,
                        "source": prices.idle[line.price_key].source,
                        "as_of": prices.idle[line.price_key].as_of.isoformat(),
                    }
                    for line in stack.lines
                ],
                "total_usd": round(stack.total, 2),
            }
            for stack in result.stacks
        ],
        "total_usd": round(result.total, 2),
        "total_is_complete": not result.unpriced,
        "unpriced": [
            {"stack": s.stack, "logical_id": s.logical_id, "path": s.path, "type": s.resource_type, "reason": s.reason}
            for s in result.unpriced
        ],
        "notes": list(result.notes),
        "no_idle_charge": [
            {"stack": s.stack, "logical_id": s.logical_id, "path": s.path, "type": s.resource_type, "reason": s.reason}
            for s in result.skipped
        ],
        "per_use": [
            {
                "key": price.key,
                "service": price.service,
                "usd": price.usd,
                "unit": price.unit,
                "free_tier": price.free_tier,
                "source": price.source,
                "as_of": price.as_of.isoformat(),
            }
            for price in result.per_use
        ],
        "not_included": BEDROCK_NOTE,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--assembly", type=Path, default=DEFAULT_ASSEMBLY, help="cloud assembly (default: cdk.out)")
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help="price table (default: docs/prices.toml)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--verbose", action="store_true", help="also list the resources with no idle charge")
    parser.add_argument("--max-total", type=float, metavar="USD", help="exit 1 when the monthly total is above USD")
    args = parser.parse_args(argv)

    stacks = load_assembly(args.assembly) if args.assembly.is_dir() else []
    if not stacks:
        print(f"no stack templates in {args.assembly}: run `make synth` first", file=sys.stderr)
        return 2
    result = estimate(stacks, load_prices(args.prices), shown(args.assembly))
    if args.json:
        print(json.dumps(to_json(result), indent=2))
    else:
        print(render_text(result, verbose=args.verbose), end="")
    if args.max_total is not None and result.unpriced:
        count = plural(len(result.unpriced), "resource")
        print(f"cannot check --max-total: {count} not priced, the total leaves them out", file=sys.stderr)
        return 1
    if args.max_total is not None and round(result.total, 2) > args.max_total:
        print(f"idle total {usd(result.total)} a month is above --max-total {usd(args.max_total)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
