"""The stateless stack: what the app does with the foundation's data, redeployable at will."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from stacks.config import AppConfig
from stacks.constructs.agent import Agent
from stacks.constructs.agent_memory import AgentMemory
from stacks.constructs.alerts import Alerts
from stacks.constructs.api import Api
from stacks.constructs.common import Baseline
from stacks.constructs.guardrail import Guardrail
from stacks.constructs.ingestion import IngestionPipeline
from stacks.constructs.invocation_logging import InvocationLogging
from stacks.constructs.knowledge_base import KnowledgeBase
from stacks.constructs.observability import Observability, bedrock_models
from stacks.constructs.tickets import Tickets


class ApplicationStack(cdk.Stack):
    """The guardrail, the agent and the API, over the foundation's data."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: AppConfig,
        baseline: Baseline,
        knowledge_base: KnowledgeBase,
        tickets: Tickets,
        agent_memory: AgentMemory | None,
        alerts: Alerts,
        ingestion: IngestionPipeline,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id_, **kwargs)
        self.guardrail = Guardrail(self, "Guardrail", config=config.guardrail, key=baseline.key)
        if config.guardrail.enforced:
            self.guardrail.enforce(
                models=[config.agent.model, *(choice.model for choice in config.api.models)],
                excluded=[config.knowledge_base.embedding_model],
            )
        self.agent = Agent(
            self,
            "Agent",
            config=config.agent,
            knowledge_base=knowledge_base,
            guardrail=self.guardrail,
            memory=agent_memory,
            baseline=baseline,
        )

        self.api = Api(
            self,
            "Api",
            config=config.api,
            guardrail=self.guardrail,
            agent=self.agent,
            knowledge_base=knowledge_base,
            tickets=tickets,
            baseline=baseline,
        )
        if config.observability.invocation_logging:
            self.invocation_logging = InvocationLogging(self, "InvocationLogging", baseline=baseline)
            cdk.CfnOutput(self, "InvocationLogGroup", value=self.invocation_logging.log_group.log_group_name)
        # Last, so that its dashboard shows every function of both stacks.
        self.observability = Observability(
            self,
            "Observability",
            config=config.observability,
            project=config.stack_prefix,
            alerts=alerts,
            api=self.api,
            agent=self.agent,
            tickets=tickets,
            ingestion=ingestion,
            agent_memory=agent_memory,
            models=bedrock_models(
                [
                    # The API calls its models through their application inference profiles.
                    *((choice.name, self.api.models.profile_id(choice.model)) for choice in config.api.models),
                    ("Agent", config.agent.model_identifier),
                    ("Embeddings", config.knowledge_base.embedding_model),
                ]
            ),
        )

        cdk.CfnOutput(self, "GuardrailId", value=self.guardrail.guardrail_id)
        cdk.CfnOutput(self, "GuardrailVersion", value=self.guardrail.guardrail_version)
        cdk.CfnOutput(self, "GuardrailArn", value=self.guardrail.guardrail_arn)
        cdk.CfnOutput(self, "HarnessArn", value=self.agent.harness_arn)
        cdk.CfnOutput(self, "HarnessEndpointName", value=self.agent.endpoint_name)
        cdk.CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        cdk.CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
        cdk.CfnOutput(self, "PeopleClientId", value=self.api.people_client.user_pool_client_id)
        cdk.CfnOutput(self, "MachineClientId", value=self.api.machine_client.user_pool_client_id)
        cdk.CfnOutput(self, "TokenUrl", value=self.api.token_url)
        cdk.CfnOutput(self, "DashboardName", value=self.observability.dashboard.dashboard_name)
