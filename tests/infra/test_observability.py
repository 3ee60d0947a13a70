"""What an operator sees: a dashboard of real metrics of this app, alarms that reach the topic, and the budget."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from api.telemetry import UPSTREAM_THROTTLES
from ingestion.outcomes import Outcomes, Window

from stacks.config import AppConfig, model_identifier, parse_settings
from tests.synth import CONFIGURATIONS, ROOT, Assembly

ROUTES = json.loads((ROOT / "lambda" / "api" / "routes.json").read_text())["routes"]
# What the buffered function counts a request to no route under (lambda/api/handler.py, UNMATCHED).
UNMATCHED_ROUTE = "unmatched"
# The metrics each AWS namespace publishes, from its service's CloudWatch documentation.
SERVICE_METRICS = {
    "AWS/ApiGateway": {"Count", "4XXError", "5XXError", "Latency"},
    "AWS/Lambda": {"Errors", "Throttles", "Duration", "ConcurrentExecutions"},
    "AWS/Bedrock": {
        "Invocations",
        "InvocationLatency",
        "InvocationThrottles",
        "InvocationClientErrors",
        "InputTokenCount",
        "OutputTokenCount",
    },
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible"},
    "AWS/DynamoDB": {"ConsumedWriteCapacityUnits"},
}
VARIANTS = ["assembly", "flipped_assembly"]
Check = Callable[[str, dict[str, str]], None]
CONFIG_OF = {"assembly": "default", "prod_assembly": "prod", "flipped_assembly": "flipped"}


def _config(variant: str) -> AppConfig:
    return parse_settings(CONFIGURATIONS[CONFIG_OF[variant]])


@dataclass(frozen=True)
class Stacks:
    """Both templates of an assembly, and what their CloudFormation expressions point at."""

    application: dict[str, Any]
    foundation: dict[str, Any]

    def template(self, stack: str) -> dict[str, Any]:
        return self.application if stack == "Application" else self.foundation

    def reference(self, expression: Any, stack: str = "Application") -> tuple[str, dict[str, Any]]:
        """The Ref or GetAtt a weak cross-stack reference reads from the Foundation's outputs, and its stack."""
        if "Fn::GetStackOutput" in expression:
            name = expression["Fn::GetStackOutput"]["OutputName"]
            return "Foundation", self.foundation["Outputs"][name]["Value"]
        return stack, expression

    def target(self, expression: Any, stack: str = "Application") -> tuple[str, str]:
        """(stack, logical id) of the resource a Ref, GetAtt or weak cross-stack reference points at."""
        stack, expression = self.reference(expression, stack)
        logical_id = expression["Ref"] if "Ref" in expression else expression["Fn::GetAtt"][0]
        assert logical_id in self.template(stack)["Resources"], expression
        return stack, logical_id

    def resource(self, expression: Any, stack: str = "Application") -> dict[str, Any]:
        stack, logical_id = self.target(expression, stack)
        return dict(self.template(stack)["Resources"][logical_id])

    def of_type(self, type_: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (stack, logical_id): resource
            for stack in ("Application", "Foundation")
            for logical_id, resource in self.template(stack)["Resources"].items()
            if resource["Type"] == type_
        }


def _stacks(assembly: Assembly) -> Stacks:
    return Stacks(assembly.template("Application"), assembly.template("Foundation"))


@dataclass(frozen=True)
class Dashboard:
    """The dashboard body with each CloudFormation expression replaced by a marker `§<n>§`."""

    body: dict[str, Any]
    expressions: list[Any]

    def resolve(self, value: str) -> Any:
        """The expression a value stands for, when the whole value is one marker."""
        match = re.fullmatch(r"§(\d+)§", value)
        return self.expressions[int(match.group(1))] if match else None

    def widget(self, title: str) -> dict[str, Any]:
        (widget,) = [w for w in self.body["widgets"] if w["properties"].get("title") == title]
        return dict(widget["properties"])

    def metrics(self, title: str | None = None) -> Iterator[tuple[str, str, dict[str, str], dict[str, Any]]]:
        """(namespace, metric name, dimensions, options) of each metric of one widget, or of every widget."""
        for widget in self.body["widgets"]:
            if title is not None and widget["properties"].get("title") != title:
                continue
            for entry in widget["properties"].get("metrics", []):
                if isinstance(entry[0], str):
                    names, options = entry[2:-1], entry[-1]
                    yield entry[0], entry[1], dict(zip(names[::2], names[1::2], strict=True)), options

    def searches(self) -> list[str]:
        return [
            entry[0]["expression"]
            for widget in self.body["widgets"]
            for entry in widget["properties"].get("metrics", [])
            if isinstance(entry[0], dict)
        ]


def _dashboard(stacks: Stacks) -> Dashboard:
    ((_, resource),) = stacks.of_type("AWS::CloudWatch::Dashboard").items()
    separator, parts = resource["Properties"]["DashboardBody"]["Fn::Join"]
    assert separator == ""
    expressions: list[Any] = []
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
        else:
            text += f"§{len(expressions)}§"
            expressions.append(part)
    return Dashboard(json.loads(text), expressions)


def _environment(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource["Properties"].get("Environment", {}).get("Variables", {}))


def _method_paths(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(HTTP method, resource path) of every method of the REST API."""
    resources = template["Resources"]

    def path(reference: Any) -> str:
        if "Fn::GetAtt" in reference:  # the API's root resource
            return ""
        resource = resources[reference["Ref"]]["Properties"]
        return f"{path(resource['ParentId'])}/{resource['PathPart']}"

    return {
        (r["Properties"]["HttpMethod"], path(r["Properties"]["ResourceId"]) or "/")
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::Method"
    }


def _model_ids(config: AppConfig) -> set[str]:
    """The models the stack calls by id (the API calls its own through application inference profiles)."""
    return {model_identifier(config.agent.model, config.agent.inference_profile), config.knowledge_base.embedding_model}


BEDROCK_SEARCH = re.compile(r"SEARCH\('\{AWS/Bedrock,ModelId\} MetricName=\"(\w+)\" \"(§\d+§)\"', '[\w.]+', 300\)")


def _profile_searches(stacks: Stacks, dashboard: Dashboard) -> dict[str, set[str]]:
    """Bedrock metric name → the application inference profiles a dashboard search names, by model source."""
    found: dict[str, set[str]] = {}
    for search in dashboard.searches():
        match = BEDROCK_SEARCH.fullmatch(search)
        if match is None:
            continue
        name, marker = match.groups()
        reference = dashboard.resolve(marker)
        assert reference["Fn::GetAtt"][1] == "InferenceProfileId"
        profile = stacks.resource(reference)
        assert profile["Type"] == "AWS::Bedrock::ApplicationInferenceProfile"
        source = json.dumps(profile["Properties"]["ModelSource"]["CopyFrom"])
        found.setdefault(name, set()).add(source)
    return found


def _emf_names() -> dict[str, set[str]]:
    """The metric names each function's code publishes, by the service its metrics carry."""
    api = {
        name
        for module in ("handler.py", "stream.py")
        for name in re.findall(r'add_metric\(name="(\w+)"', (ROOT / "lambda" / "api" / module).read_text())
    }
    window = Window(start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 1, 1, 0, 15, tzinfo=UTC))
    ingestion = set(Outcomes(window=window, complete=0, failed=0, stopped=0, documents_failed=0).metrics)
    return {"genai-api": api, "genai-api-stream": api, "genai-ingestion": ingestion}


def _route_names() -> set[str]:
    return {
        UNMATCHED_ROUTE,
        *(route["name"] for route in ROUTES),
        *(f"{route['name']}-stream" for route in ROUTES if route.get("stream")),
    }


def _dimension_checks(stacks: Stacks, dashboard: Dashboard, config: AppConfig) -> dict[str, Check]:
    """For each dimension name, what its value must be for the metric to exist."""

    def of_type(type_: str, attribute: str | None = None) -> Check:
        def check(value: str, _: dict[str, str]) -> None:
            stack, expression = stacks.reference(dashboard.resolve(value))
            assert stacks.template(stack)["Resources"][stacks.target(expression, stack)[1]]["Type"] == type_
            if attribute is not None:
                assert expression["Fn::GetAtt"][1] == attribute

        return check

    def api_name(value: str, _: dict[str, str]) -> None:
        (api,) = stacks.of_type("AWS::ApiGateway::RestApi").values()
        assert value == api["Properties"]["Name"]

    def method(_: str, dimensions: dict[str, str]) -> None:
        assert (dimensions["Method"], dimensions["Resource"]) in _method_paths(stacks.application)

    def model(value: str, _: dict[str, str]) -> None:
        assert value in _model_ids(config)

    def route(value: str, _: dict[str, str]) -> None:
        assert value in _route_names()

    return {
        "FunctionName": of_type("AWS::Lambda::Function"),
        "QueueName": of_type("AWS::SQS::Queue", "QueueName"),
        "TableName": of_type("AWS::DynamoDB::Table"),
        "Stage": of_type("AWS::ApiGateway::Stage"),
        "ApiName": api_name,
        "Method": method,
        "Resource": method,
        "ModelId": model,
        "route": route,
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_dashboard_metric_is_one_this_app_publishes(variant: str, request: pytest.FixtureRequest) -> None:
    stacks = _stacks(request.getfixturevalue(variant))
    dashboard = _dashboard(stacks)
    checks = _dimension_checks(stacks, dashboard, _config(variant))
    functions = list(stacks.of_type("AWS::Lambda::Function").values())
    emitted = _emf_names()
    count = 0

    for namespace, name, dimensions, _ in dashboard.metrics():
        count += 1
        if namespace.startswith("AWS/"):
            assert name in SERVICE_METRICS[namespace], (namespace, name)
        else:
            # A function's own metric: its namespace and service are the ones that function is configured with.
            (publisher,) = [
                f
                for f in functions
                if _environment(f).get("POWERTOOLS_SERVICE_NAME") == dimensions["service"]
                and _environment(f).get("POWERTOOLS_METRICS_NAMESPACE") == namespace
            ]
            assert name in emitted[dimensions["service"]], (namespace, name)
            assert publisher
        for dimension, value in dimensions.items():
            if dimension != "service":
                checks[dimension](value, dimensions)

    assert count > 100


@pytest.mark.parametrize("variant", VARIANTS)
def test_agentcore_searches_name_the_gateway_the_harness_and_the_memory(
    variant: str, request: pytest.FixtureRequest
) -> None:
    stacks = _stacks(request.getfixturevalue(variant))
    dashboard = _dashboard(stacks)
    searched = []
    for search in dashboard.searches():
        if "AWS/Bedrock" in search:
            continue  # the API's models, through their application inference profiles
        (marker,) = re.findall(r"§\d+§", search)
        searched.append(stacks.resource(dashboard.resolve(marker))["Type"])

    expected = ["AWS::BedrockAgentCore::Gateway", "AWS::BedrockAgentCore::Harness"]
    if _config(variant).agent.memory:
        expected.append("AWS::BedrockAgentCore::Memory")
    assert searched == expected


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_function_of_both_stacks_has_its_four_graphs(variant: str, request: pytest.FixtureRequest) -> None:
    stacks = _stacks(request.getfixturevalue(variant))
    dashboard = _dashboard(stacks)
    functions = set(stacks.of_type("AWS::Lambda::Function"))

    for title, metric in [
        ("Function errors", "Errors"),
        ("Function throttles", "Throttles"),
        ("Function duration p90 (ms)", "Duration"),
        ("Function concurrency (max)", "ConcurrentExecutions"),
    ]:
        graphed = {
            stacks.target(dashboard.resolve(dimensions["FunctionName"]))
            for _, name, dimensions, _ in dashboard.metrics(title)
            if name == metric
        }
        assert graphed == functions, title


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_method_of_the_api_has_requests_errors_and_latency(variant: str, request: pytest.FixtureRequest) -> None:
    stacks = _stacks(request.getfixturevalue(variant))
    dashboard = _dashboard(stacks)
    methods = {m for m in _method_paths(stacks.application) if m[0] != "OPTIONS"}

    for title in ("API requests", "API 4xx", "API 5xx", *(f"API latency p{p} (ms)" for p in (50, 90, 99))):
        graphed = {(d["Method"], d["Resource"]) for _, _, d, _ in dashboard.metrics(title)}
        assert graphed == methods, title
    stats = {options["stat"] for _, name, _, options in dashboard.metrics() if name == "Latency"}
    assert stats == {"p50", "p90", "p99"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_configured_model_has_every_bedrock_graph(variant: str, request: pytest.FixtureRequest) -> None:
    stacks = _stacks(request.getfixturevalue(variant))
    dashboard = _dashboard(stacks)
    graphed: dict[str, set[str]] = {}
    for namespace, name, dimensions, _ in dashboard.metrics():
        if namespace == "AWS/Bedrock":
            graphed.setdefault(name, set()).add(dimensions["ModelId"])

    config = _config(variant)
    profiles = _profile_searches(stacks, dashboard)

    assert set(graphed) == set(profiles) == SERVICE_METRICS["AWS/Bedrock"]
    assert all(models == _model_ids(config) for models in graphed.values())
    # One search per allow-listed model's profile, each copying that model.
    for sources in profiles.values():
        assert len(sources) == len(config.api.models)
        for choice in config.api.models:
            assert sum(choice.model in source for source in sources) == 1


def test_ingestion_outcomes_and_every_dead_letter_queue_are_graphed(assembly: Assembly) -> None:
    stacks = _stacks(assembly)
    dashboard = _dashboard(stacks)
    outcomes = {name for _, name, d, _ in dashboard.metrics() if d.get("service") == "genai-ingestion"}
    queues = {
        stacks.target(dashboard.resolve(d["QueueName"])) for _, _, d, _ in dashboard.metrics("Dead-letter queue depth")
    }
    dead_letter_queues = {
        key
        for key, queue in stacks.of_type("AWS::SQS::Queue").items()
        if "DeadLetterQueue" in queue["Metadata"]["aws:cdk:path"]
    }

    assert outcomes == _emf_names()["genai-ingestion"]
    assert queues == dead_letter_queues


def test_the_dashboard_is_named_after_the_stack_prefix(assembly: Assembly) -> None:
    stacks = _stacks(assembly)
    ((_, dashboard),) = stacks.of_type("AWS::CloudWatch::Dashboard").items()

    assert dashboard["Properties"]["DashboardName"] == _config("assembly").stack_prefix


# Alarms


def _alarms(stacks: Stacks) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: alarm["Properties"] for key, alarm in stacks.of_type("AWS::CloudWatch::Alarm").items()}


def _topic(stacks: Stacks) -> tuple[str, str]:
    ((key, _),) = stacks.of_type("AWS::SNS::Topic").items()
    return key


def _metric(alarm: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(namespace, name, dimensions) of a single-metric alarm."""
    dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    return alarm["Namespace"], alarm["MetricName"], dimensions


def _invoked_at_runtime(stacks: Stacks) -> set[tuple[str, str]]:
    """The functions something other than CloudFormation invokes: an event source, a permission, a gateway target."""
    invoked = set()
    for (stack, _), mapping in stacks.of_type("AWS::Lambda::EventSourceMapping").items():
        invoked.add(stacks.target(mapping["Properties"]["FunctionName"], stack))
    for (stack, _), permission in stacks.of_type("AWS::Lambda::Permission").items():
        invoked.add(stacks.target(permission["Properties"]["FunctionName"], stack))
    for (stack, _), target in stacks.of_type("AWS::BedrockAgentCore::GatewayTarget").items():
        lambda_ = target["Properties"]["TargetConfiguration"]["Mcp"]["Lambda"]
        invoked.add(stacks.target(lambda_["LambdaArn"], stack))
    return invoked


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_alarm_notifies_the_topic_and_says_what_to_check(variant: str, request: pytest.FixtureRequest) -> None:
    stacks = _stacks(request.getfixturevalue(variant))
    topic = _topic(stacks)

    alarms = _alarms(stacks)
    for (stack, _), alarm in alarms.items():
        (action,) = alarm["AlarmActions"]
        assert stacks.target(action, stack) == topic
        # One line: what it means; what to check first.
        meaning, check = alarm["AlarmDescription"].split("; ")
        assert len(meaning) > 20
        assert len(check) > 20
    assert len(alarms) == 3 + 2 + 2 * len(_invoked_at_runtime(stacks))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_function_invoked_at_runtime_alarms_on_errors_and_throttles(
    variant: str, request: pytest.FixtureRequest
) -> None:
    stacks = _stacks(request.getfixturevalue(variant))
    watched: dict[str, set[tuple[str, str]]] = {"Errors": set(), "Throttles": set()}
    for (stack, _), alarm in _alarms(stacks).items():
        if alarm.get("Namespace") == "AWS/Lambda" and alarm["MetricName"] in watched:
            _, name, dimensions = _metric(alarm)
            assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["Statistic"]) == (1, 1, "Sum")
            watched[name].add(stacks.target(dimensions["FunctionName"], stack))

    # CDK's own providers run only while CloudFormation deploys, which reports their failures itself.
    assert watched["Errors"] == watched["Throttles"] == _invoked_at_runtime(stacks)
    # The API's two functions, the agent's two tool functions and the ingestion function.
    assert len(watched["Errors"]) == 5


def _math_alarm(stacks: Stacks, path: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The expression of a metric-math alarm, its metrics by id, and the alarm."""
    ((_, alarm),) = [
        (key, a["Properties"])
        for key, a in stacks.of_type("AWS::CloudWatch::Alarm").items()
        if a["Metadata"]["aws:cdk:path"].startswith(path)
    ]
    (expression,) = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
    metrics = {q["Id"]: q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q}
    return expression, metrics, alarm


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_5xx_alarm_is_a_rate_of_all_requests_at_the_configured_share(
    variant: str, request: pytest.FixtureRequest
) -> None:
    stacks = _stacks(request.getfixturevalue(variant))
    expression, metrics, alarm = _math_alarm(stacks, "Application/Observability/Api5xxRate")

    assert expression == "100 * FILL(errors, 0) / requests"
    assert {i: (m["Metric"]["MetricName"], m["Stat"]) for i, m in metrics.items()} == {
        "errors": ("5XXError", "Sum"),
        "requests": ("Count", "Sum"),
    }
    assert {d["Name"] for m in metrics.values() for d in m["Metric"]["Dimensions"]} == {"ApiName", "Stage"}
    assert alarm["Threshold"] == _config(variant).observability.api_5xx_percent
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_latency_alarm_watches_the_p90_of_the_function_behind_every_buffered_route(assembly: Assembly) -> None:
    stacks = _stacks(assembly)
    (alarm,) = [
        a["Properties"]
        for a in stacks.of_type("AWS::CloudWatch::Alarm").values()
        if a["Metadata"]["aws:cdk:path"].startswith("Application/Observability/ApiLatency")
    ]
    namespace, name, dimensions = _metric(alarm)
    function = stacks.target(dimensions["FunctionName"], "Application")
    integrations = {
        json.dumps(method["Properties"]["Integration"]["Uri"])
        for method in stacks.of_type("AWS::ApiGateway::Method").values()
        if method["Properties"]["HttpMethod"] != "OPTIONS"
        and method["Properties"]["Integration"].get("ResponseTransferMode") != "STREAM"
    }

    assert (namespace, name, alarm["ExtendedStatistic"]) == ("AWS/Lambda", "Duration", "p90")
    # Every buffered route, and only those, runs that function.
    assert len(integrations) == 1
    assert function[1] in integrations.pop()
    assert alarm["Threshold"] == _config("assembly").observability.api_latency_p90_ms


def test_bedrock_throttles_alarm_sums_what_both_api_functions_count(assembly: Assembly) -> None:
    stacks = _stacks(assembly)
    expression, metrics, alarm = _math_alarm(stacks, "Application/Observability/BedrockThrottles")
    services = {d["Value"] for m in metrics.values() for d in m["Metric"]["Dimensions"]}
    functions = [f for f in stacks.of_type("AWS::Lambda::Function").values() if "Application/Api/" in str(f)]

    assert expression == f"SUM([{', '.join(sorted(metrics))}])"
    assert {m["Metric"]["MetricName"] for m in metrics.values()} == {UPSTREAM_THROTTLES}
    namespaces = {_environment(f)["POWERTOOLS_METRICS_NAMESPACE"] for f in functions}
    assert {m["Metric"]["Namespace"] for m in metrics.values()} == namespaces
    # Every service that counts them, and only those: the API's two functions.
    assert services == {_environment(f)["POWERTOOLS_SERVICE_NAME"] for f in functions}
    assert {d["Name"] for m in metrics.values() for d in m["Metric"]["Dimensions"]} == {"service"}
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


# Ingestion job outcomes


def _ingestion_function(stacks: Stacks) -> dict[str, Any]:
    ((_, function),) = [
        (key, f)
        for key, f in stacks.of_type("AWS::Lambda::Function").items()
        if f["Metadata"]["aws:cdk:path"].startswith("Foundation/Ingestion/")
    ]
    return function


def test_failed_ingestion_jobs_alarm_on_the_count_the_function_publishes(assembly: Assembly) -> None:
    stacks = _stacks(assembly)
    environment = _environment(_ingestion_function(stacks))
    (alarm,) = [a for a in _alarms(stacks).values() if a.get("MetricName") == "IngestionJobsFailed"]
    namespace, _, dimensions = _metric(alarm)

    assert namespace == environment["POWERTOOLS_METRICS_NAMESPACE"] == "BedrockGenAi-Foundation"
    assert dimensions == {"service": environment["POWERTOOLS_SERVICE_NAME"]}
    assert alarm["Period"] == 60 * int(environment["OUTCOME_WINDOW_MINUTES"]) == 900
    assert (alarm["Statistic"], alarm["Threshold"], alarm["EvaluationPeriods"]) == ("Sum", 1, 1)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_a_schedule_makes_the_ingestion_function_count_each_window_once(assembly: Assembly) -> None:
    stacks = _stacks(assembly)
    function = _ingestion_function(stacks)
    (rule,) = [
        r["Properties"] for r in stacks.of_type("AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]
    ]
    (target,) = rule["Targets"]
    window = int(_environment(function)["OUTCOME_WINDOW_MINUTES"])
    (permission,) = [
        p["Properties"]
        for p in stacks.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]

    # Every window starts where the last ended: runs at minutes 0, W, 2W... of every hour, W dividing 60.
    assert rule["ScheduleExpression"] == f"cron(0/{window} * * * ? *)"
    assert 60 % window == 0
    assert stacks.resource(target["Arn"], "Foundation") == function
    assert (
        "DeadLetterQueue/"
        in stacks.resource(target["DeadLetterConfig"]["Arn"], "Foundation")["Metadata"]["aws:cdk:path"]
    )
    assert stacks.resource(permission["FunctionName"], "Foundation") == function
    assert stacks.resource(permission["SourceArn"], "Foundation")["Properties"] == rule
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_the_ingestion_function_may_read_the_jobs_of_its_knowledge_base_only(assembly: Assembly) -> None:
    stacks = _stacks(assembly)
    ((_, policy),) = [
        (k, p)
        for k, p in stacks.of_type("AWS::IAM::ManagedPolicy").items()
        if p["Metadata"]["aws:cdk:path"].startswith("Foundation/Ingestion/")
    ]
    (statement,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "bedrock:GetIngestionJob" in s["Action"]
    ]

    # Merged with the other ingestion-job actions, which share the resource.
    assert sorted(statement["Action"]) == [
        "bedrock:GetIngestionJob",
        "bedrock:ListIngestionJobs",
        "bedrock:StartIngestionJob",
    ]
    assert stacks.resource(statement["Resource"], "Foundation")["Type"] == "AWS::Bedrock::KnowledgeBase"


# Budget


def _budget(stacks: Stacks) -> dict[str, Any] | None:
    budgets = list(stacks.of_type("AWS::Budgets::Budget").values())
    return budgets[0]["Properties"] if budgets else None


@pytest.mark.parametrize("variant", ["assembly", "prod_assembly"])
def test_the_budget_counts_the_projects_tagged_costs_and_alerts_the_topic(
    variant: str, request: pytest.FixtureRequest
) -> None:
    stacks = _stacks(request.getfixturevalue(variant))
    config = _config(variant).observability
    budget = _budget(stacks)
    assert budget is not None
    tags = {tag["Key"]: tag["Value"] for tag in budget["ResourceTags"]}
    notifications = budget["NotificationsWithSubscribers"]

    assert budget["Budget"]["BudgetLimit"] == {"Amount": config.monthly_budget_usd, "Unit": "USD"}
    assert (budget["Budget"]["BudgetType"], budget["Budget"]["TimeUnit"]) == ("COST", "MONTHLY")
    assert budget["Budget"]["CostFilters"] == {"TagKeyValue": [f"user:project${tags['project']}"]}
    assert [(n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in notifications] == [
        *(("ACTUAL", percent) for percent in config.budget_alerts),
        ("FORECASTED", 100),
    ]
    for notification in notifications:
        assert notification["Notification"]["ThresholdType"] == "PERCENTAGE"
        (subscriber,) = notification["Subscribers"]
        assert subscriber["SubscriptionType"] == "SNS"
        assert stacks.target(subscriber["Address"]) == _topic(stacks)


def test_no_budget_when_the_config_has_none(flipped_assembly: Assembly) -> None:
    assert _config("flipped_assembly").observability.monthly_budget_usd is None
    assert _budget(_stacks(flipped_assembly)) is None
