"""What an operator watches: one dashboard of the whole app, alarms that reach the alerts topic, and a cost budget."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.config import ObservabilityConfig
from stacks.constructs.agent import Agent
from stacks.constructs.agent_memory import AgentMemory
from stacks.constructs.alerts import Alerts
from stacks.constructs.api import ROUTES, Api
from stacks.constructs.function import VpcFunction
from stacks.constructs.tickets import Tickets

if TYPE_CHECKING:
    # The ingestion pipeline builds its function's alarms with function_alarms below.
    from stacks.constructs.ingestion import IngestionPipeline

PERIOD = cdk.Duration.minutes(5)
# The `service` dimension Powertools adds to the API functions' EMF metrics (their POWERTOOLS_SERVICE_NAME).
API_SERVICE = "genai-api"
# The count of throttled upstream calls both API functions publish with the service dimension alone.
UPSTREAM_THROTTLES = "UpstreamThrottles"
STREAM_SERVICE = "genai-api-stream"
# AgentCore's invocation metrics (AgentCore guide, observability): the guide's pages disagree on the namespace's
# spelling and the dimensions, so the dashboard searches for the resource's ARN in any namespace.
AGENTCORE_METRICS = ("Invocations", "SystemErrors", "UserErrors", "Throttles")
BEDROCK_METRICS = (
    ("Invocations", "Invocations", cloudwatch.Stats.SUM),
    ("InvocationLatency", "Latency p90 (ms)", cloudwatch.Stats.p(90)),
    ("InvocationThrottles", "Throttles", cloudwatch.Stats.SUM),
    ("InputTokenCount", "Input tokens", cloudwatch.Stats.SUM),
    ("OutputTokenCount", "Output tokens", cloudwatch.Stats.SUM),
    ("InvocationClientErrors", "Client errors", cloudwatch.Stats.SUM),
)
INGESTION_OUTCOMES = (
    "IngestionJobsComplete",
    "IngestionJobsFailed",
    "IngestionJobsStopped",
    "IngestionDocumentsFailed",
)


@dataclass(frozen=True)
class Route:
    """A method of the REST API, and the `route` dimension its function counts it under."""

    method: str
    path: str
    name: str
    service: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


# What the buffered function counts a request to no route under (a 404 or 405 it answers itself).
UNMATCHED = Route("ANY", "(no route)", "unmatched", API_SERVICE)


def api_routes() -> list[Route]:
    """Every method of routes.json: the buffered one of each route, then `<path>/stream` for those that stream."""
    registry: dict[str, Any] = json.loads(ROUTES.read_text())
    buffered = [Route(r["method"], r["path"], r["name"], API_SERVICE) for r in registry["routes"]]
    streaming = [
        Route("POST", f"{r['path']}/stream", f"{r['name']}-stream", STREAM_SERVICE)
        for r in registry["routes"]
        if r.get("stream")
    ]
    return buffered + streaming


def function_alarms(function: VpcFunction, alerts: Alerts, label: str) -> list[cloudwatch.Alarm]:
    """An alarm on the function's errors and one on its throttles, both to the alerts topic."""
    errors = alerts.alarm_on_any(
        function,
        "ErrorsAlarm",
        function.function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
        f"The {label} function failed (an unhandled exception, a timeout or no memory left); read the ERROR "
        "lines of its log group and the X-Ray trace of the failed request",
    )
    throttles = alerts.alarm_on_any(
        function,
        "ThrottlesAlarm",
        function.function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
        f"Lambda refused to run the {label} function for lack of concurrency; compare its concurrency on the "
        "dashboard with the account's unreserved concurrency (make doctor) and its reserved concurrency",
    )
    return [errors, throttles]


def lambda_functions(stack: cdk.Stack) -> list[tuple[str, str]]:
    """(label, function name) of every Lambda function the stack's template holds, CDK's own included."""
    found = []
    for construct in stack.node.find_all():
        if isinstance(construct, cdk.CfnResource) and construct.cfn_resource_type == "AWS::Lambda::Function":
            parts = [p for p in construct.node.path.split("/")[1:] if p not in ("Resource", "Function", "Handler")]
            found.append(("/".join(parts) or construct.node.id, construct.ref))
    return found


def vpc_functions(stack: cdk.Stack) -> list[VpcFunction]:
    return [construct for construct in stack.node.find_all() if isinstance(construct, VpcFunction)]


class Observability(Construct):
    """The app's dashboard (named after the stack prefix), the alarms of this stack, and the project's budget."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ObservabilityConfig,
        project: str,
        alerts: Alerts,
        api: Api,
        agent: Agent,
        tickets: Tickets,
        ingestion: IngestionPipeline,
        agent_memory: AgentMemory | None,
        models: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self._api = api
        self._models = models
        self._routes = api_routes()
        self._stacks = (cdk.Stack.of(ingestion), stack)

        self.alarms = [self._api_errors_alarm(config), self._api_latency_alarm(config)]
        for alarm in self.alarms:
            alerts.notify_on(alarm)
        self.alarms.append(self._throttles_alarm(alerts))
        for function in vpc_functions(stack):
            self.alarms += function_alarms(function, alerts, function.node.path.removeprefix(f"{stack.node.id}/"))
        limit = config.monthly_budget_usd
        self.budget = self._budget(limit, config.budget_alerts, project, alerts) if limit is not None else None

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=project, default_interval=cdk.Duration.hours(3)
        )
        self._api_widgets(config)
        self._function_widgets()
        self._bedrock_widgets()
        self._knowledge_base_widgets(ingestion)
        self._agent_widgets(agent, tickets, agent_memory)
        foundation_alarms = [ingestion.alarm, ingestion.failed_jobs_alarm, *ingestion.function_alarms]
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms (each notifies the alerts topic)",
                alarms=[*self.alarms, *foundation_alarms],
                width=24,
                height=6,
            )
        )

    # Metrics

    def _api_metric(self, name: str, route: Route, statistic: str) -> cloudwatch.Metric:
        """A method-level API Gateway metric (the stage enables detailed metrics for every method)."""
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map={
                "ApiName": self._api.rest_api.rest_api_name,
                "Method": route.method,
                "Resource": route.path,
                "Stage": self._api.rest_api.deployment_stage.stage_name,
            },
            statistic=statistic,
            period=PERIOD,
            label=route.label,
        )

    def _api_total(self, name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map={
                "ApiName": self._api.rest_api.rest_api_name,
                "Stage": self._api.rest_api.deployment_stage.stage_name,
            },
            statistic=cloudwatch.Stats.SUM,
            period=PERIOD,
        )

    def _emf(self, name: str, route: Route) -> cloudwatch.Metric:
        """A metric the API's functions publish (EMF, namespace their stack's name) under the route's dimension."""
        return cloudwatch.Metric(
            namespace=cdk.Stack.of(self).stack_name,
            metric_name=name,
            dimensions_map={"service": route.service, "route": route.name},
            statistic=cloudwatch.Stats.SUM,
            period=PERIOD,
            label=route.label,
        )

    def _bedrock(self, name: str, model_id: str, label: str, statistic: str) -> cloudwatch.IMetric:
        """Bedrock's metric of one model; for an application inference profile, whatever ModelId names it.

        Bedrock's guide does not say whether a call through an application profile is published under the
        profile's id or its ARN: a search for the id matches both.
        """
        if not cdk.Token.is_unresolved(model_id):
            return cloudwatch.Metric(
                namespace="AWS/Bedrock",
                metric_name=name,
                dimensions_map={"ModelId": model_id},
                statistic=statistic,
                period=PERIOD,
                label=label,
            )
        search = f"SEARCH('{{AWS/Bedrock,ModelId}} MetricName=\"{name}\" \"{model_id}\"', '{statistic}', 300)"
        return cloudwatch.MathExpression(expression=search, using_metrics={}, period=PERIOD, label=label)

    @staticmethod
    def _lambda(name: str, function_name: str, label: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=name,
            dimensions_map={"FunctionName": function_name},
            statistic=statistic,
            period=PERIOD,
            label=label,
        )

    @staticmethod
    def _search(arn: str, label: str) -> cloudwatch.SearchExpression:
        """AgentCore's invocation and error counts of the resource whose ARN is a dimension value."""
        names = " OR ".join(f'MetricName="{name}"' for name in AGENTCORE_METRICS)
        return cloudwatch.SearchExpression(
            expression=f"SEARCH('\"{arn}\" ({names})', 'Sum', {int(PERIOD.to_seconds())})", label=label
        )

    # Alarms

    def _api_errors_alarm(self, config: ObservabilityConfig) -> cloudwatch.Alarm:
        rate = cloudwatch.MathExpression(
            expression="100 * FILL(errors, 0) / requests",
            using_metrics={"errors": self._api_total("5XXError"), "requests": self._api_total("Count")},
            period=PERIOD,
            label="5xx (% of requests)",
        )
        return cloudwatch.Alarm(
            self,
            "Api5xxRateAlarm",
            alarm_description=(
                f"At least {config.api_5xx_percent}% of API requests failed with a 5xx in 2 of the last 3 five-minute "
                "periods; find the route on the dashboard, then read the ERROR lines of its function's logs"
            ),
            metric=rate,
            threshold=config.api_5xx_percent,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _api_latency_alarm(self, config: ObservabilityConfig) -> cloudwatch.Alarm:
        # The buffered function serves every buffered route: its duration is their latency less API Gateway's few
        # milliseconds, in one alarm metric where the routes' own would take one each.
        duration = self._api.function.function.metric_duration(period=PERIOD, statistic=cloudwatch.Stats.p(90))
        return cloudwatch.Alarm(
            self,
            "ApiLatencyAlarm",
            alarm_description=(
                f"The buffered routes' p90 latency stayed at or above {config.api_latency_p90_ms} ms for 15 minutes "
                "(API Gateway gives up at 29 s); find the route on the dashboard, then compare Bedrock's latency "
                "and throttles with the function's duration"
            ),
            metric=duration,
            threshold=config.api_latency_p90_ms,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _throttles_alarm(self, alerts: Alerts) -> cloudwatch.Alarm:
        # The functions count every throttled call themselves (api/telemetry.py): Bedrock's own metric names a
        # model called through an application inference profile in a way its documentation does not give.
        throttles = {
            f"m{index}": cloudwatch.Metric(
                namespace=cdk.Stack.of(self).stack_name,
                metric_name=UPSTREAM_THROTTLES,
                dimensions_map={"service": service},
                statistic=cloudwatch.Stats.SUM,
                period=PERIOD,
            )
            for index, service in enumerate((API_SERVICE, STREAM_SERVICE))
        }
        total = cloudwatch.MathExpression(
            expression=f"SUM([{', '.join(throttles)}])",
            using_metrics=throttles,
            period=PERIOD,
            label="Throttled model and service calls",
        )
        return alerts.alarm_on_any(
            self,
            "BedrockThrottlesAlarm",
            total,
            "Bedrock throttled the stack's model calls (callers got 429s); see which model on the dashboard, then "
            "its on-demand quotas in Service Quotas, or route it through a cross-Region inference profile",
        )

    # Budget

    def _budget(self, limit: int, alerts_at: Sequence[int], project: str, alerts: Alerts) -> budgets.CfnBudget:
        """A monthly cost budget of what carries this project's tag, alerting the topic on actual and forecast spend."""
        stack = cdk.Stack.of(self)

        def notification(kind: str, percent: int) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
            return budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                ),
                subscribers=[
                    budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=alerts.topic.topic_arn)
                ],
            )

        return budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                # Budgets are global: the region keeps the names of two deployments of one prefix apart.
                budget_name=cdk.Fn.join("-", [stack.stack_name, stack.region]),
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=limit, unit="USD"),
                # Counts only once `project` is an active cost allocation tag (README, Operating it).
                cost_filters={"TagKeyValue": [f"user:project${project}"]},
            ),
            notifications_with_subscribers=[
                *(notification("ACTUAL", percent) for percent in alerts_at),
                notification("FORECASTED", 100),
            ],
        )

    # Dashboard

    def _api_widgets(self, config: ObservabilityConfig) -> None:
        def per_route(title: str, metric: str, statistic: str, **options: Any) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=[self._api_metric(metric, route, statistic) for route in self._routes],
                width=8,
                **options,
            )

        threshold = cloudwatch.HorizontalAnnotation(value=config.api_latency_p90_ms, label="Alarm (buffered routes)")
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"# {cdk.Stack.of(self).stack_name}\n"
                    "API, functions, Bedrock models, knowledge base and agent. Every alarm notifies the alerts topic "
                    "(the Foundation stack's AlarmTopicArn output); each alarm's description says what to check first."
                ),
                width=24,
                height=2,
            )
        )
        self.dashboard.add_widgets(
            per_route("API requests", "Count", cloudwatch.Stats.SUM),
            per_route("API 4xx", "4XXError", cloudwatch.Stats.SUM),
            per_route("API 5xx", "5XXError", cloudwatch.Stats.SUM),
        )
        self.dashboard.add_widgets(
            per_route("API latency p50 (ms)", "Latency", cloudwatch.Stats.p(50)),
            per_route("API latency p90 (ms)", "Latency", cloudwatch.Stats.p(90), left_annotations=[threshold]),
            per_route("API latency p99 (ms)", "Latency", cloudwatch.Stats.p(99)),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Requests the functions answered, by route",
                left=[self._emf("Requests", route) for route in [*self._routes, UNMATCHED]],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Guardrail interventions, by route",
                left=[self._emf("GuardrailInterventions", route) for route in self._routes if route.method == "POST"],
                width=12,
            ),
        )

    def _function_widgets(self) -> None:
        functions = [function for stack in self._stacks for function in lambda_functions(stack)]

        def graph(title: str, metric: str, statistic: str) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=[self._lambda(metric, name, label, statistic) for label, name in functions],
                width=6,
            )

        self.dashboard.add_widgets(
            graph("Function errors", "Errors", cloudwatch.Stats.SUM),
            graph("Function throttles", "Throttles", cloudwatch.Stats.SUM),
            graph("Function duration p90 (ms)", "Duration", cloudwatch.Stats.p(90)),
            graph("Function concurrency (max)", "ConcurrentExecutions", cloudwatch.Stats.MAXIMUM),
        )

    def _bedrock_widgets(self) -> None:
        widgets = [
            cloudwatch.GraphWidget(
                title=f"Bedrock: {title}",
                left=[self._bedrock(name, model_id, label, stat) for label, model_id in self._models.items()],
                width=8,
            )
            for name, title, stat in BEDROCK_METRICS
        ]
        self.dashboard.add_widgets(*widgets[:3])
        self.dashboard.add_widgets(*widgets[3:])

    def _knowledge_base_widgets(self, ingestion: IngestionPipeline) -> None:
        dead_letters = [
            ingestion.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label="Document changes"
            ),
            *(
                function.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD,
                    statistic=cloudwatch.Stats.MAXIMUM,
                    label=f"{function.node.path.split('/', 1)[1]} (failed async invocations)",
                )
                for stack in self._stacks
                for function in vpc_functions(stack)
            ),
        ]
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Knowledge base ingestion jobs that ended (per 15 minutes)",
                left=[ingestion.metric_outcome(name).with_(label=name) for name in INGESTION_OUTCOMES],
                width=12,
            ),
            cloudwatch.GraphWidget(title="Dead-letter queue depth", left=dead_letters, width=12),
        )

    def _agent_widgets(self, agent: Agent, tickets: Tickets, agent_memory: AgentMemory | None) -> None:
        agent_routes = [route for route in self._routes if route.name in ("agent", "agent-stream")]
        searches = [self._search(agent.gateway.attr_gateway_arn, "Gateway"), self._search(agent.harness_arn, "Harness")]
        if agent_memory is not None:
            searches.append(self._search(agent_memory.memory_arn, "Memory"))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Agent: requests and errors through the API",
                left=[self._api_metric("Count", route, cloudwatch.Stats.SUM) for route in agent_routes],
                right=[
                    self._api_metric("5XXError", route, cloudwatch.Stats.SUM).with_(label=f"{route.label} 5xx")
                    for route in agent_routes
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(title="AgentCore: invocations and errors", left=searches, width=8),
            cloudwatch.GraphWidget(
                title="Tickets written (table write units)",
                left=[
                    tickets.table.metric_consumed_write_capacity_units(
                        period=PERIOD, statistic=cloudwatch.Stats.SUM, label="Tickets table"
                    )
                ],
                width=8,
            ),
        )


def bedrock_models(entries: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Label → ModelId dimension value, one entry per distinct id (the first label wins)."""
    models: dict[str, str] = {}
    for label, model_id in entries:
        if model_id not in models.values():
            models[label] = model_id
    return models
