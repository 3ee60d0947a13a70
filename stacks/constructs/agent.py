"""The Bedrock agent: instruction, model, knowledge base, guardrail, memory, tools, and an alias to call."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import AgentConfig
from stacks.constructs.common import Baseline, digest
from stacks.constructs.function import LAMBDA_ROOT, VpcFunction
from stacks.constructs.guardrail import Guardrail
from stacks.constructs.knowledge_base import KnowledgeBase
from stacks.constructs.models import grant_invoke_models
from stacks.constructs.roles import ManagedPolicyRole, service_principal
from stacks.constructs.tickets import Tickets

TOOLS = LAMBDA_ROOT / "agent_tools"
KNOWLEDGE_BASE_USE = (
    "Documentation of the Bedrock GenAI reference stack: its architecture, configuration, security model and "
    "how to add documents. Search it for any question about the stack."
)


class Agent(Construct):
    """A Bedrock agent behind an alias that always points at a version of its current configuration."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: AgentConfig,
        knowledge_base: KnowledgeBase,
        guardrail: Guardrail,
        tickets: Tickets,
        baseline: Baseline,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        key = baseline.key
        functions = json.loads((TOOLS / "functions.json").read_text())
        openapi = (TOOLS / "openapi.json").read_text()

        self.tools = VpcFunction(
            self,
            "Tools",
            package="agent_tools",
            description="The agent's tools: support tickets, the current time and the knowledge base's sync status",
            baseline=baseline,
            environment={
                "TICKETS_TABLE": tickets.table.table_name,
                "KNOWLEDGE_BASE_ID": knowledge_base.knowledge_base_id,
                "DATA_SOURCE_ID": knowledge_base.data_source_id,
            },
            timeout=cdk.Duration.seconds(30),
        )
        tickets.grant_tools(self.tools.role)
        self.tools.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheSyncStatus",
                actions=["bedrock:ListIngestionJobs"],
                resources=[knowledge_base.knowledge_base_arn],
            )
        )

        self.role = ManagedPolicyRole(
            self,
            "Role",
            description="Service role of the Bedrock agent: its model, knowledge base, guardrail and key",
            assumed_by=service_principal(
                "bedrock.amazonaws.com",
                source_account=stack.account,
                source_arn=stack.format_arn(service="bedrock", resource="agent", resource_name="*"),
            ),
        )
        grant_invoke_models(self.role, [config.model], inference_profile=config.inference_profile)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RetrieveFromTheKnowledgeBase",
                actions=["bedrock:Retrieve"],
                resources=[knowledge_base.knowledge_base_arn],
            )
        )
        guardrail.grant_apply(self.role)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )

        self.agent = bedrock.CfnAgent(
            self,
            "Resource",
            agent_name=f"{stack.stack_name}-assistant",
            description="Support assistant: answers from the knowledge base and manages support tickets",
            agent_resource_role_arn=self.role.role_arn,
            foundation_model=config.model_identifier,
            instruction=config.instruction,
            idle_session_ttl_in_seconds=config.idle_session_ttl_seconds,
            customer_encryption_key_arn=key.key_arn,
            auto_prepare=True,
            guardrail_configuration=bedrock.CfnAgent.GuardrailConfigurationProperty(
                guardrail_identifier=guardrail.guardrail_id, guardrail_version=guardrail.guardrail_version
            ),
            knowledge_bases=[
                bedrock.CfnAgent.AgentKnowledgeBaseProperty(
                    knowledge_base_id=knowledge_base.knowledge_base_id,
                    description=KNOWLEDGE_BASE_USE,
                    knowledge_base_state="ENABLED",
                )
            ],
            memory_configuration=(
                bedrock.CfnAgent.MemoryConfigurationProperty(
                    enabled_memory_types=["SESSION_SUMMARY"],
                    storage_days=config.memory_days,
                    session_summary_configuration=bedrock.CfnAgent.SessionSummaryConfigurationProperty(
                        max_recent_sessions=config.memory_max_recent_sessions
                    ),
                )
                if config.memory
                else None
            ),
            prompt_override_configuration=bedrock.CfnAgent.PromptOverrideConfigurationProperty(
                prompt_configurations=[
                    bedrock.CfnAgent.PromptConfigurationProperty(
                        prompt_type="PRE_PROCESSING",
                        prompt_creation_mode="DEFAULT",
                        prompt_state="ENABLED" if config.pre_processing else "DISABLED",
                    )
                ]
            ),
            action_groups=[
                bedrock.CfnAgent.AgentActionGroupProperty(
                    action_group_name=functions["actionGroup"],
                    description=functions["description"],
                    action_group_executor=bedrock.CfnAgent.ActionGroupExecutorProperty(
                        lambda_=self.tools.function.function_arn
                    ),
                    function_schema=bedrock.CfnAgent.FunctionSchemaProperty(functions=function_schema(functions)),
                ),
                bedrock.CfnAgent.AgentActionGroupProperty(
                    action_group_name=json.loads(openapi)["info"]["title"],
                    description=json.loads(openapi)["info"]["description"],
                    action_group_executor=bedrock.CfnAgent.ActionGroupExecutorProperty(
                        lambda_=self.tools.function.function_arn
                    ),
                    api_schema=bedrock.CfnAgent.APISchemaProperty(payload=openapi),
                ),
            ],
        )
        self.agent.node.add_dependency(self.role)

        self.tools.function.add_permission(
            "InvokedByTheAgent",
            principal=iam.ServicePrincipal("bedrock.amazonaws.com"),
            action="lambda:InvokeFunction",
            source_arn=self.agent.attr_agent_arn,
            source_account=stack.account,
        )

        # Bedrock publishes a new agent version whenever an alias without routing is updated; the digest in the
        # description changes with every setting that changes the agent, so every such deploy rolls it forward.
        self.revision = revision(config, functions, openapi, guardrail.revision, KNOWLEDGE_BASE_USE)
        self.alias = bedrock.CfnAgentAlias(
            self,
            "Alias",
            agent_id=self.agent.attr_agent_id,
            agent_alias_name="live",
            description=f"Current configuration ({self.revision})",
        )

        self.agent_id = self.agent.attr_agent_id
        self.agent_arn = self.agent.attr_agent_arn
        self.agent_alias_id = self.alias.attr_agent_alias_id
        self.agent_alias_arn = self.alias.attr_agent_alias_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` converse with the agent through its alias, and only through it."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:InvokeAgent"], resource_arns=[self.agent_alias_arn]
        )


def function_schema(functions: dict[str, Any]) -> list[bedrock.CfnAgent.FunctionProperty]:
    """The Bedrock function schema from lambda/agent_tools/functions.json (which also holds validation rules)."""
    return [
        bedrock.CfnAgent.FunctionProperty(
            name=function["name"],
            description=function["description"],
            require_confirmation="ENABLED" if function.get("requireConfirmation") else "DISABLED",
            parameters={
                name: bedrock.CfnAgent.ParameterDetailProperty(
                    type=parameter["type"], description=parameter["description"], required=parameter["required"]
                )
                for name, parameter in function["parameters"].items()
            },
        )
        for function in functions["functions"]
    ]


def revision(config: AgentConfig, functions: dict[str, Any], openapi: str, guardrail: str, kb_use: str) -> str:
    """A short digest of everything that makes up the agent's behaviour."""
    settings = {
        "agent": asdict(config),
        "functions": functions,
        "openapi": openapi,
        "guardrail": guardrail,
        "kb": kb_use,
    }
    return digest(settings)
