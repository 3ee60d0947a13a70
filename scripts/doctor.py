"""Pre-deploy check of the target AWS account behind `make doctor`: what synth cannot see offline.

It loads the configuration as the CDK app does (cdk.json's context, then each `-c key=value` as the CDK CLI
passes it), takes the region from the configuration's `region`, else --region, else the SDK's, and the
account from STS, then checks:

  bootstrap    the CDKToolkit stack exists and its version is recent enough for this app's assets
  model        every model the configuration calls: its inference profile (or on-demand offer, when called
               directly), and the account's access (Marketplace agreement, authorization, Anthropic use case)
  service      the region offers knowledge bases, guardrails, the vector store and AgentCore
  concurrency  Lambda leaves room for the reserved concurrency of the functions (read from the app built for
               the configuration); the account limit is not tiny
  network      the region has the AZs the VPC needs, and each interface endpoint is offered in the AZs it goes in
  cognito      the user pool domain prefix is free, or already this stack's

It prints one line per finding (PASS, WARN or FAIL) and the fix under each WARN and FAIL. It only reads:
nothing is created and no model is invoked. A call the credentials may not make is a WARN naming the action.

Exit codes:
  0  nothing failed (warnings may remain)
  1  at least one check failed: the deploy, or the first requests after it, would fail
  2  the checks could not run: bad arguments or configuration, no credentials or region, another account

Examples:
  make doctor
  make doctor ARGS="--region eu-west-1 -c genai.profile=prod"
  .venv/bin/python scripts/doctor.py --profile sandbox -c genai.inference_profile=eu
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoRegionError,
    UnknownEndpointError,
)

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/doctor.py`, the project's packages are one level up
    sys.path.insert(0, str(ROOT))

from scripts.aws_errors import describe_aws_error, error_code  # noqa: E402
from scripts.stack_outputs import application_stack_name, read_context  # noqa: E402
from stacks.config import AppConfig, ConfigError, NetworkConfig, load_config, model_identifier  # noqa: E402

PASS: Final = "PASS"  # noqa: S105 - a verdict, not a password
WARN: Final = "WARN"
FAIL: Final = "FAIL"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_ERROR: Final = 2

TOOLKIT_STACK: Final = "CDKToolkit"
QUALIFIER_KEY: Final = "@aws-cdk/core:bootstrapQualifier"
DEFAULT_QUALIFIER: Final = "hnb659fds"
# What the stacks and asset manifests synthesized by aws-cdk-lib 2.275 require (`requiresBootstrapStackVersion`);
# the CLI's `cdk rollback` needs 23.
REQUIRED_BOOTSTRAP_VERSION: Final = 6
ROLLBACK_BOOTSTRAP_VERSION: Final = 23
# Lambda keeps 100 concurrent executions unreserved (all of them when the account limit is lower).
MIN_UNRESERVED: Final = 100
CONCURRENCY_QUOTA: Final = "L-B99A9384"
ACCESS_DENIED: Final = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})

# The IAM action behind every call the checks make, by operation: the policy `make doctor` needs, all read-only.
IAM_ACTIONS: Final = {
    action.partition(":")[2]: action
    for action in (
        "sts:GetCallerIdentity", "cloudformation:DescribeStacks", "cloudformation:DescribeStackResources",
        "ssm:GetParameter", "bedrock:ListFoundationModels", "bedrock:GetInferenceProfile",
        "bedrock:GetFoundationModelAvailability", "bedrock:GetUseCaseForModelAccess", "bedrock:ListGuardrails",
        "bedrock:ListKnowledgeBases", "s3vectors:ListVectorBuckets", "aoss:ListCollections",
        "bedrock-agentcore:ListHarnesses", "bedrock-agentcore:ListGateways", "bedrock-agentcore:ListMemories",
        "lambda:GetAccountSettings", "ec2:DescribeAvailabilityZones", "ec2:DescribeSubnets",
        "ec2:DescribeVpcEndpointServices", "cognito-idp:DescribeUserPoolDomain",
    )
}  # fmt: skip

Clients = Callable[[str], Any]  # service name -> boto3 client in the checked region


@dataclass(frozen=True)
class Context:
    region: str
    account: str
    qualifier: str = DEFAULT_QUALIFIER


@dataclass(frozen=True)
class Result:
    status: str  # PASS, WARN or FAIL
    check: str
    subject: str
    detail: str
    fix: str = ""


Check = Callable[[Clients, AppConfig, Context], list[Result]]


def not_checked(check: str, subject: str, error: ClientError | BotoCoreError, region: str) -> Result:
    """A call that failed: FAIL when the region does not offer the service, WARN when it could not be asked."""
    message = error.response.get("Error", {}).get("Message", "").lower() if isinstance(error, ClientError) else ""
    if isinstance(error, EndpointConnectionError | UnknownEndpointError) or (
        "region" in message and ("not supported" in message or "not available" in message)
    ):
        return Result(FAIL, check, subject, f"not offered in {region}", "deploy to a region that offers it")
    if isinstance(error, ClientError) and error_code(error) in ACCESS_DENIED:
        action = IAM_ACTIONS.get(error.operation_name, error.operation_name)
        return Result(WARN, check, subject, f"could not check: needs {action}", f"allow {action} to check it")
    return Result(WARN, check, subject, f"could not check: {describe_aws_error(error)}", "run the doctor again")


def check_bootstrap(clients: Clients, config: AppConfig, context: Context) -> list[Result]:
    """The CDKToolkit stack exists and its version parameter is recent enough for this app."""
    fix = f"run `npx cdk bootstrap aws://{context.account}/{context.region}`"
    try:
        clients("cloudformation").describe_stacks(StackName=TOOLKIT_STACK)
    except ClientError as error:
        if error_code(error) != "ValidationError":
            raise
        return [Result(FAIL, "bootstrap", TOOLKIT_STACK, f"no {TOOLKIT_STACK} stack in {context.region}", fix)]
    parameter = f"/cdk-bootstrap/{context.qualifier}/version"
    try:
        version = int(clients("ssm").get_parameter(Name=parameter)["Parameter"]["Value"])
    except ClientError as error:
        if error_code(error) != "ParameterNotFound":
            raise
        return [Result(FAIL, "bootstrap", parameter, "no such parameter: the bootstrap is incomplete", fix)]
    if version < REQUIRED_BOOTSTRAP_VERSION:
        detail = f"version {version}; this app needs {REQUIRED_BOOTSTRAP_VERSION}"
        return [Result(FAIL, "bootstrap", TOOLKIT_STACK, detail, fix)]
    if version < ROLLBACK_BOOTSTRAP_VERSION:
        detail = f"version {version}: deploys work, `cdk rollback` needs {ROLLBACK_BOOTSTRAP_VERSION}"
        return [Result(WARN, "bootstrap", TOOLKIT_STACK, detail, fix)]
    return [Result(PASS, "bootstrap", TOOLKIT_STACK, f"version {version}")]


def model_uses(config: AppConfig) -> list[tuple[str, str]]:
    """(model, what it is called by) for every model the stack calls: an inference profile id, or the model id."""
    generative = [*(choice.model for choice in config.api.models), config.api.generation_model, config.agent.model]
    uses = [(model, model_identifier(model, config.inference_profile)) for model in generative]
    # The knowledge base calls its embedding model directly, whatever the inference profile.
    uses.append((config.knowledge_base.embedding_model, config.knowledge_base.embedding_model))
    return list(dict.fromkeys(uses))


def check_models(clients: Clients, config: AppConfig, context: Context) -> list[Result]:
    """Each model is offered as the stack calls it, and the account may use it."""
    bedrock = clients("bedrock")
    uses = model_uses(config)
    offered = {summary["modelId"]: summary for summary in bedrock.list_foundation_models()["modelSummaries"]}
    results = []
    for model, identifier in uses:
        try:
            results.append(_model(bedrock, model, identifier, offered.get(model), context.region))
        except (ClientError, BotoCoreError) as error:
            results.append(not_checked("model", model, error, context.region))
    if any(model.startswith("anthropic.") for model, _ in uses):
        try:
            results.append(_anthropic_use_case(bedrock))
        except (ClientError, BotoCoreError) as error:
            results.append(not_checked("model", "Anthropic use case", error, context.region))
    return results


def _model(bedrock: Any, model: str, identifier: str, summary: Any, region: str) -> Result:
    direct = identifier == model
    issues: list[tuple[str, str, str]] = []  # (status, detail, fix)
    if direct and summary is None:
        return Result(FAIL, "model", model, f"not offered in {region}", "choose a model this region offers")
    if direct and "ON_DEMAND" not in summary.get("inferenceTypesSupported", []):
        fix = "set inference_profile to your geography (us, eu, apac) or global"
        issues.append((FAIL, "only callable through an inference profile here", fix))
    if not direct:
        try:
            bedrock.get_inference_profile(inferenceProfileIdentifier=identifier)
        except ClientError as error:
            if error_code(error) not in ("ResourceNotFoundException", "ValidationException"):
                raise
            fix = "set inference_profile to a geography that has one (aws bedrock list-inference-profiles)"
            return Result(FAIL, "model", model, f"no inference profile {identifier} in {region}", fix)
    if summary is not None and summary.get("modelLifecycle", {}).get("status") == "LEGACY":
        issues.append((WARN, "a legacy model: Bedrock will retire it", "move to its successor"))
    availability = bedrock.get_foundation_model_availability(modelId=model)
    issues.extend(_access_issues(availability, model, direct))
    if not issues:
        return Result(PASS, "model", model, "callable on demand" if direct else f"callable through {identifier}")
    status = FAIL if any(status == FAIL for status, _, _ in issues) else WARN
    fixes = dict.fromkeys(fix for _, _, fix in issues)
    return Result(status, "model", model, "; ".join(detail for _, detail, _ in issues), "; ".join(fixes))


def _access_issues(availability: Any, model: str, direct: bool) -> list[tuple[str, str, str]]:
    """What GetFoundationModelAvailability says stands between the account and the model."""
    first_use = (
        "invoke it once as a principal allowed aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions"
        " (Bedrock subscribes the account on first use)"
    )
    if model.startswith("anthropic."):
        first_use = "submit the Anthropic use-case form (Bedrock console, Model catalog), then " + first_use
    issues = []
    # Through a cross-region profile the model may run in other regions of the geography.
    if direct and availability["regionAvailability"] == "NOT_AVAILABLE":
        issues.append((FAIL, "not available in this region", "choose a model this region offers"))
    if availability["authorizationStatus"] == "NOT_AUTHORIZED":
        issues.append((FAIL, "the account is not authorized to use it", first_use))
    if availability["entitlementAvailability"] == "NOT_AVAILABLE":
        issues.append((WARN, "not yet enabled for the account", first_use))
    agreement = availability["agreementAvailability"]
    if agreement["status"] == "ERROR":
        detail = f"Marketplace agreement failed: {agreement.get('errorMessage', 'no message')}"
        issues.append((FAIL, detail, "check the account's payment method, then " + first_use))
    elif agreement["status"] == "PENDING":
        issues.append((WARN, "Marketplace agreement pending", "wait a few minutes and run the doctor again"))
    elif agreement["status"] == "NOT_AVAILABLE":
        issues.append((WARN, "no Marketplace agreement yet", first_use))
    return issues


def _anthropic_use_case(bedrock: Any) -> Result:
    try:
        bedrock.get_use_case_for_model_access()
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        fix = "submit it once (Bedrock console, Model catalog, any Anthropic model) unless your organization did"
        return Result(WARN, "model", "Anthropic use case", "no use-case form on record for this account", fix)
    return Result(PASS, "model", "Anthropic use case", "use-case form on record")


def service_probes(config: AppConfig) -> list[tuple[str, str, str]]:
    """(label, service, list method) of each regional service the stack creates resources in."""
    if config.knowledge_base.vector_store == "s3vectors":
        vector_store = ("S3 Vectors", "s3vectors", "list_vector_buckets")
    else:
        vector_store = ("OpenSearch Serverless", "opensearchserverless", "list_collections")
    agentcore = "bedrock-agentcore-control"
    return [
        ("Knowledge bases", "bedrock-agent", "list_knowledge_bases"),
        ("Guardrails", "bedrock", "list_guardrails"),
        vector_store,
        ("AgentCore harness", agentcore, "list_harnesses"),
        ("AgentCore gateway", agentcore, "list_gateways"),
        ("AgentCore memory", agentcore, "list_memories"),
    ]


def check_services(clients: Clients, config: AppConfig, context: Context) -> list[Result]:
    """Each service answers a one-item list call in the region."""
    results = []
    for label, service, method in service_probes(config):
        try:
            getattr(clients(service), method)(maxResults=1)
        except (ClientError, BotoCoreError) as error:
            results.append(not_checked("service", label, error, context.region))
        else:
            results.append(Result(PASS, "service", label, f"offered in {context.region}"))
    return results


def reservations(config: AppConfig) -> dict[str, int]:
    """The reserved concurrency of each function of the app built for `config`, by construct path; none is 0."""
    # Imported here: the CDK starts Node.js, which only this check needs.
    import aws_cdk as cdk  # noqa: PLC0415
    from aws_cdk import aws_lambda as lambda_  # noqa: PLC0415

    from stacks.app import build_app  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="doctor-") as outdir:
        # cdk.json's feature flags shape the constructs as they do at synth; the settings come from `config`.
        app = build_app(config, cdk.App(context=read_context(), outdir=outdir))
        functions = [node for node in app.node.find_all() if isinstance(node, lambda_.CfnFunction)]
        return {
            _function_name(function.node.path): int(function.reserved_concurrent_executions or 0)
            for function in functions
        }


def _function_name(path: str) -> str:
    """`Agent/Tools` for `Application/Agent/Tools/Function/Resource`: the construct that made the function."""
    parts = path.split("/")[1:-1]
    while len(parts) > 1 and parts[-1] == "Function":
        parts.pop()
    return "/".join(parts)


def check_concurrency(clients: Clients, config: AppConfig, context: Context) -> list[Result]:
    """The account has the unreserved concurrency the reservations take, and a usable limit."""
    from stacks.constructs.packaging import PackagingError  # noqa: PLC0415 - it imports the CDK

    limits = clients("lambda").get_account_settings()["AccountLimit"]
    limit, unreserved = limits["ConcurrentExecutions"], limits["UnreservedConcurrentExecutions"]
    try:
        wanted = reservations(config)
    except PackagingError as error:
        fix = "run `make synth` once where PyPI can be reached, then the doctor again"
        return [Result(WARN, "concurrency", "reservations", f"could not build the app to read them: {error}", fix)]
    required = sum(wanted.values())
    floor = min(MIN_UNRESERVED, limit)
    increase = f"request a higher Lambda 'Concurrent executions' quota ({CONCURRENCY_QUOTA}) in Service Quotas"
    listed = ", ".join(f"{name} {count}" for name, count in wanted.items() if count)
    if unreserved - required < floor:
        detail = f"the functions reserve {required} ({listed}) of {unreserved} unreserved; Lambda keeps {floor} free"
        # Past 100 the floor stops growing: the limit must cover it, the others' reservations and these.
        fix = f"{increase}, to at least {MIN_UNRESERVED + (limit - unreserved) + required}, or reserve less"
        results = [Result(FAIL, "concurrency", "reservations", detail, fix)]
    else:
        detail = f"{required} reserved ({listed or 'none'}) of {unreserved} unreserved"
        results = [Result(PASS, "concurrency", "reservations", detail)]
    if limit < MIN_UNRESERVED:
        detail = f"{limit} concurrent executions in {context.region}: calls beyond that are throttled"
        results.append(Result(WARN, "concurrency", "account limit", detail, increase))
    return results


def deploy_azs(ec2: Any) -> list[str]:
    """The AZs Fn::GetAZs returns: in alphabetical order, only those with a default subnet unless none has one."""
    zones = ec2.describe_availability_zones(Filters=[{"Name": "zone-type", "Values": ["availability-zone"]}])
    names = sorted(zone["ZoneName"] for zone in zones["AvailabilityZones"] if zone.get("State") == "available")
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    with_default_subnet = {subnet["AvailabilityZone"] for subnet in subnets}
    return [name for name in names if name in with_default_subnet] or names


def check_network(clients: Clients, config: AppConfig, context: Context) -> list[Result]:
    """The VPC gets its AZs, and every interface endpoint is offered in the AZs the stack places it in."""
    ec2 = clients("ec2")
    network = config.network
    if network.existing_vpc is not None:
        # An imported VPC's AZs are the configured ones: the endpoints go to the first endpoint_azs of them.
        azs = list(network.existing_vpc.availability_zones)
        results = [Result(PASS, "network", "availability zones", f"{', '.join(azs)} (network.existing_vpc)")]
        return results + _endpoint_results(ec2, network, context, azs[: network.endpoint_azs])
    azs = deploy_azs(ec2)
    if len(azs) < network.max_azs:
        detail = f"Fn::GetAZs gives {len(azs)} ({', '.join(azs)}); network.max_azs is {network.max_azs}"
        fix = f"set network.max_azs to {len(azs)}, or give every AZ a default subnet (aws ec2 create-default-subnet)"
        return [Result(FAIL, "network", "availability zones", detail, fix)]
    results = [Result(PASS, "network", "availability zones", ", ".join(azs[: network.max_azs]))]
    return results + _endpoint_results(ec2, network, context, azs[: network.endpoint_azs])


def _endpoint_results(ec2: Any, network: NetworkConfig, context: Context, placed: list[str]) -> list[Result]:
    """Whether each interface endpoint service is offered in the AZs the stack places it in."""
    results: list[Result] = []
    for name in network.interface_endpoints:
        service = f"com.amazonaws.{context.region}.{name}"
        drop = f"drop {name} from network.interface_endpoints (with network.egress=nat the functions reach it)"
        try:
            details = ec2.describe_vpc_endpoint_services(ServiceNames=[service])["ServiceDetails"]
        except ClientError as error:
            if error_code(error) != "InvalidServiceName":
                raise
            results.append(Result(FAIL, "network", name, f"no {service} endpoint service", drop))
            continue
        offered = details[0].get("AvailabilityZones", []) if details else []
        missing = [az for az in placed if az not in offered]
        if missing:
            detail = f"not offered in {', '.join(missing)}, where the stack puts it (offered in: {', '.join(offered)})"
            results.append(Result(FAIL, "network", name, detail, drop))
        else:
            results.append(Result(PASS, "network", name, f"offered in {', '.join(placed)}"))
    return results


def domain_prefix(config: AppConfig, account: str) -> str:
    """The Cognito domain prefix the Api construct asks for: the Application stack's name and the account."""
    return f"{application_stack_name(config).lower()}-{account}"


def check_cognito(clients: Clients, config: AppConfig, context: Context) -> list[Result]:
    """The domain prefix is free, or it is the one this stack already created."""
    domain = domain_prefix(config, context.account)
    try:
        found = clients("cognito-idp").describe_user_pool_domain(Domain=domain).get("DomainDescription", {})
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        found = {}
    pool = found.get("UserPoolId")
    if not pool:
        return [Result(PASS, "cognito", domain, "domain prefix is free")]
    stack = application_stack_name(config)
    owner = _stack_of(clients("cloudformation"), pool)
    if found.get("AWSAccountId", context.account) == context.account and owner == stack:
        return [Result(PASS, "cognito", domain, f"already the domain of {stack}'s user pool")]
    where = f"stack {owner}" if owner else "no CloudFormation stack"
    fix = f"delete it (aws cognito-idp delete-user-pool-domain --domain {domain} --user-pool-id {pool})"
    return [Result(FAIL, "cognito", domain, f"taken by user pool {pool} ({where})", f"{fix} or change stack_prefix")]


def _stack_of(cloudformation: Any, physical_id: str) -> str | None:
    try:
        resources = cloudformation.describe_stack_resources(PhysicalResourceId=physical_id)["StackResources"]
    except ClientError as error:
        if error_code(error) != "ValidationError":
            raise
        return None
    return str(resources[0]["StackName"]) if resources else None


CHECKS: Final[tuple[tuple[str, Check], ...]] = (
    ("bootstrap", check_bootstrap),
    ("model", check_models),
    ("service", check_services),
    ("concurrency", check_concurrency),
    ("network", check_network),
    ("cognito", check_cognito),
)


def run_checks(clients: Clients, config: AppConfig, context: Context) -> list[Result]:
    """Every check's results; a call that fails outside a check's own handling becomes one WARN or FAIL."""
    results: list[Result] = []
    for name, check in CHECKS:
        try:
            results.extend(check(clients, config, context))
        except (ClientError, BotoCoreError) as error:
            results.append(not_checked(name, getattr(error, "operation_name", "-"), error, context.region))
    return results


def render_table(results: Sequence[Result]) -> str:
    """One line per result, its fix on the next line, then the summary line."""
    check_width = max(len(result.check) for result in results)
    subject_width = max(len(result.subject) for result in results)
    lines = []
    for result in results:
        lines.append(
            f"{result.status}  {result.check:<{check_width}}  {result.subject:<{subject_width}}  {result.detail}"
        )
        if result.fix and result.status != PASS:
            lines.append(f"      fix: {result.fix}")
    counts = {status: sum(result.status == status for result in results) for status in (PASS, WARN, FAIL)}
    lines.append(f"{counts[PASS]} passed, {counts[WARN]} warnings, {counts[FAIL]} failed")
    return "\n".join(lines)


def _context_pair(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not key or not equals:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    summary, _, details = (__doc__ or "").partition("\n\n")
    actions = textwrap.fill(
        "IAM actions it calls: " + ", ".join(sorted(IAM_ACTIONS.values())), 110, break_on_hyphens=False
    )
    parser = argparse.ArgumentParser(
        prog="doctor.py",
        description=summary,
        epilog=f"{details}\n\n{actions}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--region", help="region to check when the configuration sets none (default: the SDK's)")
    parser.add_argument("--profile", help="AWS profile of the target account (default: the SDK's)")
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        type=_context_pair,
        default=[],
        metavar="KEY=VALUE",
        help="CDK context over cdk.json's, as `cdk -c` takes it, e.g. genai.profile=prod; repeat for several",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, session: Any = None) -> int:
    """Run every check and print the table; returns the exit code. Without a session, boto3's for --profile."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse printed the help, or the usage and a one-line error
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
    context_values = read_context(args.context)
    try:
        config = load_config(context_values)
    except ConfigError as error:
        return fail(f"config error: {error}")
    try:
        session = session or boto3.session.Session(profile_name=args.profile)
        region = config.region or args.region or session.region_name
        if not region:
            raise NoRegionError
        clients: Clients = functools.cache(functools.partial(session.client, region_name=region))
        account = clients("sts").get_caller_identity()["Account"]
    except (ClientError, BotoCoreError) as error:
        return fail(describe_aws_error(error))
    if config.account is not None and config.account != account:
        return fail(f"the credentials are for account {account}, the configuration's account is {config.account}")
    context = Context(region, account, context_values.get(QUALIFIER_KEY, DEFAULT_QUALIFIER))
    results = run_checks(clients, config, context)
    print(f"doctor: {config.stack_prefix} ({config.profile}) in account {account}, region {region}")
    print(render_table(results))
    return EXIT_FAILED if any(result.status == FAIL for result in results) else EXIT_OK


def fail(message: str) -> int:
    print(f"doctor: error: {message}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
