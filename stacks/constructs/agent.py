"""The agent on Amazon Bedrock AgentCore: a managed harness, its gateway of tools, and the endpoint the API calls.

Tools are split by who must know the caller. The gateway's Lambdas serve those that need no identity (the
time, the knowledge base's sync status, knowledge base search); the ticket tools are inline functions the
harness hands back to the API, which runs them as the verified caller (lambda/api/tools/).

Each gateway target (tool group) has a function of its own, with only its group's permissions. The status tools
handle no customer data and run outside the VPC; the knowledge tools return document passages and run inside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import AgentConfig
from stacks.constructs.agent_memory import AgentMemory
from stacks.constructs.common import Baseline, acknowledge, acknowledge_wildcard
from stacks.constructs.function import VpcFunction
from stacks.constructs.guardrail import Guardrail
from stacks.constructs.knowledge_base import KnowledgeBase
from stacks.constructs.models import grant_invoke_models
from stacks.constructs.packaging import LAMBDA_ROOT
from stacks.constructs.roles import ManagedPolicyRole, service_principal

GATEWAY_TOOLS = LAMBDA_ROOT / "agent_tools"
INLINE_TOOLS = LAMBDA_ROOT / "api" / "tools"
# The gateway's targets (one per tool group of lambda/agent_tools) and the inline groups (lambda/api/tools).
GATEWAY_GROUPS = ("status", "knowledge")
# Every tool group of lambda/api/tools/ (a <group>.json with its <group>.py): the API runs them as the caller.
INLINE_GROUPS = tuple(sorted(path.stem for path in INLINE_TOOLS.glob("*.json")))
TOOL_DESCRIPTIONS = {
    "status": "The agent's status tools (gateway target): the current time and the knowledge base's sync status",
    "knowledge": "The agent's knowledge tools (gateway target): knowledge base search",
}
# Why a group's function may run outside the VPC (the nag acknowledgement); a group not named here runs inside it.
OUTSIDE_VPC = {
    "status": "it handles no customer data: it answers the time and the knowledge base's latest ingestion job "
    "status and document counts, never a document or a passage.",
}
GATEWAY_TOOL_ENTRY = "tools"
ENDPOINT_NAME = "live"


def tool_group(path: Path) -> list[dict[str, Any]]:
    """The tools of a group file, as written there."""
    tools: list[dict[str, Any]] = json.loads(path.read_text())["tools"]
    return tools


def gateway_schema(schema: dict[str, Any]) -> agentcore.CfnGatewayTarget.SchemaDefinitionProperty:
    """A tool's input schema in the gateway's form, which keeps types and structure; the Lambda checks the rest."""
    return agentcore.CfnGatewayTarget.SchemaDefinitionProperty(
        type=schema["type"],
        description=schema.get("description"),
        required=schema.get("required"),
        items=gateway_schema(schema["items"]) if "items" in schema else None,
        properties={name: gateway_schema(value) for name, value in schema["properties"].items()}
        if "properties" in schema
        else None,
    )


class Agent(Construct):
    """A harness with the instruction, the model through its inference profile, the guardrail and memory."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: AgentConfig,
        knowledge_base: KnowledgeBase,
        guardrail: Guardrail,
        memory: AgentMemory | None,
        baseline: Baseline,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        prefix = stack.stack_name.replace("-", "_")[:32]
        self.tool_functions = {group: self._tools_function(group, knowledge_base, baseline) for group in GATEWAY_GROUPS}
        gateway, gateway_ready = self._gateway(baseline)

        self.role = ManagedPolicyRole(
            self,
            "Role",
            description="Execution role of the agent harness: its model, guardrail, gateway and memory",
            assumed_by=agentcore_principal(self),
        )
        self._grant_harness(config, guardrail, gateway, memory, f"{prefix}_agent")

        inline = [tool for group in INLINE_GROUPS for tool in tool_group(INLINE_TOOLS / f"{group}.json")]
        self.inline_tools = [tool["name"] for tool in inline]
        self.harness = agentcore.CfnHarness(
            self,
            "Harness",
            harness_name=f"{prefix}_agent",
            execution_role_arn=self.role.role_arn,
            model=agentcore.CfnHarness.HarnessModelConfigurationProperty(
                bedrock_model_config=agentcore.CfnHarness.HarnessBedrockModelConfigProperty(
                    model_id=config.model_identifier,
                    api_format="converse_stream",
                    max_tokens=config.max_tokens,
                    # The harness passes this to Bedrock with every model call (AgentCore guide, harness models).
                    additional_params={
                        "guardrailConfig": {
                            "guardrailIdentifier": guardrail.guardrail_id,
                            "guardrailVersion": guardrail.guardrail_version,
                            "trace": "enabled",
                        }
                    },
                )
            ),
            system_prompt=[agentcore.CfnHarness.HarnessSystemContentBlockProperty(text=config.instruction)],
            tools=[
                agentcore.CfnHarness.HarnessToolProperty(
                    type="agentcore_gateway",
                    name=GATEWAY_TOOL_ENTRY,
                    config=agentcore.CfnHarness.HarnessToolConfigurationProperty(
                        agent_core_gateway=agentcore.CfnHarness.HarnessAgentCoreGatewayConfigProperty(
                            gateway_arn=gateway.attr_gateway_arn,
                            outbound_auth=agentcore.CfnHarness.HarnessGatewayOutboundAuthProperty(aws_iam={}),
                        )
                    ),
                ),
                *(
                    agentcore.CfnHarness.HarnessToolProperty(
                        type="inline_function",
                        name=tool["name"],
                        config=agentcore.CfnHarness.HarnessToolConfigurationProperty(
                            inline_function=agentcore.CfnHarness.HarnessInlineFunctionConfigProperty(
                                description=tool["description"], input_schema=tool["inputSchema"]
                            )
                        ),
                    )
                    for tool in inline
                ),
            ],
            # Without this list the built-in shell and file tools are on in every session.
            allowed_tools=[f"@{GATEWAY_TOOL_ENTRY}", *self.inline_tools],
            memory=agentcore.CfnHarness.HarnessMemoryConfigurationProperty(
                agent_core_memory_configuration=agentcore.CfnHarness.HarnessAgentCoreMemoryConfigurationProperty(
                    arn=memory.memory_arn, messages_count=config.memory_messages
                )
            )
            if memory is not None
            else agentcore.CfnHarness.HarnessMemoryConfigurationProperty(disabled={}),
            max_iterations=config.max_iterations,
            max_tokens=config.max_turn_tokens,
            timeout_seconds=config.timeout_seconds,
            environment=agentcore.CfnHarness.HarnessEnvironmentProviderProperty(
                agent_core_runtime_environment=agentcore.CfnHarness.HarnessAgentCoreRuntimeEnvironmentProperty(
                    network_configuration=agentcore.CfnHarness.NetworkConfigurationProperty(network_mode="PUBLIC"),
                    lifecycle_configuration=agentcore.CfnHarness.LifecycleConfigurationProperty(
                        idle_runtime_session_timeout=config.idle_timeout_seconds,
                        max_lifetime=config.max_lifetime_seconds,
                    ),
                )
            ),
        )
        # AgentCore validates the role when it creates the harness: its policy must be attached first.
        self.harness.node.add_dependency(self.role.policy, *gateway_ready)
        # The endpoint moves to each new version the deploy creates (a version per harness update).
        self.endpoint = agentcore.CfnHarnessEndpoint(
            self,
            "Endpoint",
            harness_id=self.harness.attr_harness_id,
            endpoint_name=ENDPOINT_NAME,
            target_version=self.harness.attr_version,
            description="The endpoint the API invokes; it follows every deploy",
        )
        self.harness_arn = self.harness.attr_arn
        self.endpoint_arn = self.endpoint.attr_arn
        self.endpoint_name = ENDPOINT_NAME
        self.gateway = gateway

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` converse with the harness through its endpoint (both ARNs are checked)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["bedrock-agentcore:InvokeAgentRuntime", "bedrock-agentcore:InvokeHarness"],
            resource_arns=[self.harness_arn, self.endpoint_arn],
        )

    def _tools_function(self, group: str, knowledge_base: KnowledgeBase, baseline: Baseline) -> VpcFunction:
        """The function behind one gateway target: its group's tools only, with its group's permissions only."""
        environment = {"KNOWLEDGE_BASE_ID": knowledge_base.knowledge_base_id}
        if group == "status":
            environment["DATA_SOURCE_ID"] = knowledge_base.data_source_id
        tools = VpcFunction(
            self,
            f"{group.capitalize()}Tools",
            package="agent_tools",
            handler=f"agent_tools.handler.{group}_tools",
            description=TOOL_DESCRIPTIONS[group],
            baseline=baseline,
            environment={**environment, "POWERTOOLS_SERVICE_NAME": f"genai-agent-{group}-tools"},
            timeout=cdk.Duration.seconds(30),
            requirements=GATEWAY_TOOLS / "requirements.txt",
            concurrency_bound="Only the gateway invokes it, for the harness's bounded turns (agent.max_iterations).",
            outside_vpc=OUTSIDE_VPC.get(group),
        )
        grants = {"status": knowledge_base.grant_sync_status, "knowledge": knowledge_base.grant_retrieve}
        grants[group](tools.role)
        return tools

    def _gateway(self, baseline: Baseline) -> tuple[agentcore.CfnGateway, list[Construct]]:
        """The gateway (IAM auth, the project key) and one Lambda target per gateway tool group."""
        stack = cdk.Stack.of(self)
        role = ManagedPolicyRole(
            self,
            "GatewayRole",
            description="Role of the agent's AgentCore Gateway: invoke the tools functions, use the project key",
            assumed_by=agentcore_principal(self),
        )
        for tools in self.tool_functions.values():
            tools.function.grant_invoke(role)
        gateway_arns = stack.format_arn(service="bedrock-agentcore", resource="gateway", resource_name="*")
        via_agentcore = {"kms:ViaService": f"bedrock-agentcore.{stack.region}.amazonaws.com"}
        # The gateway encrypts its configuration with the project key (AgentCore guide, gateway encryption).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DescribeTheProjectKey",
                actions=["kms:DescribeKey"],
                resources=[baseline.key.key_arn],
                conditions={"StringEquals": via_agentcore},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EncryptTheGatewayWithTheProjectKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[baseline.key.key_arn],
                conditions={
                    "StringEquals": via_agentcore,
                    "ArnLike": {"kms:EncryptionContext:aws:bedrock-agentcore-gateway:arn": gateway_arns},
                },
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LetTheGatewayGrantItselfTheKey",
                actions=["kms:CreateGrant"],
                resources=[baseline.key.key_arn],
                conditions={
                    "StringEquals": via_agentcore,
                    "ArnLike": {"kms:EncryptionContext:aws:bedrock-agentcore-gateway:arn": gateway_arns},
                },
            )
        )
        for tools in self.tool_functions.values():
            acknowledge_wildcard(
                role.policy,
                f"{tools.function.function_arn}:*",
                "The gateway invokes each tools function by its ARN; lambda:InvokeFunction on <function ARN>:* covers "
                "its versions and aliases, and no other function.",
            )
        gateway = agentcore.CfnGateway(
            self,
            "Gateway",
            name=f"{stack.stack_name[:40]}-tools",
            description="The agent's tools that need no caller identity",
            role_arn=role.role_arn,
            authorizer_type="AWS_IAM",
            protocol_type="MCP",
            kms_key_arn=baseline.key.key_arn,
        )
        gateway.node.add_dependency(role.policy)
        targets: list[Construct] = []
        for group in GATEWAY_GROUPS:
            document = json.loads((GATEWAY_TOOLS / f"{group}.json").read_text())
            target = agentcore.CfnGatewayTarget(
                self,
                f"{group.capitalize()}Target",
                gateway_identifier=gateway.attr_gateway_identifier,
                name=group,
                description=document["description"][:200],
                credential_provider_configurations=[
                    agentcore.CfnGatewayTarget.CredentialProviderConfigurationProperty(
                        credential_provider_type="GATEWAY_IAM_ROLE"
                    )
                ],
                target_configuration=agentcore.CfnGatewayTarget.TargetConfigurationProperty(
                    mcp=agentcore.CfnGatewayTarget.McpTargetConfigurationProperty(
                        lambda_=agentcore.CfnGatewayTarget.McpLambdaTargetConfigurationProperty(
                            lambda_arn=self.tool_functions[group].function.function_arn,
                            tool_schema=agentcore.CfnGatewayTarget.ToolSchemaProperty(
                                inline_payload=[
                                    agentcore.CfnGatewayTarget.ToolDefinitionProperty(
                                        name=tool["name"],
                                        description=tool["description"],
                                        input_schema=gateway_schema(tool["inputSchema"]),
                                    )
                                    for tool in document["tools"]
                                ]
                            ),
                        )
                    )
                ),
            )
            target.node.add_dependency(role.policy)
            targets.append(target)
        return gateway, targets

    def _grant_harness(
        self,
        config: AgentConfig,
        guardrail: Guardrail,
        gateway: agentcore.CfnGateway,
        memory: AgentMemory | None,
        harness_name: str,
    ) -> None:
        """The harness's execution role, as the AgentCore guide lists it for a public-network harness."""
        stack = cdk.Stack.of(self)
        role = self.role
        grant_invoke_models(role, [config.model], inference_profile=config.inference_profile)
        guardrail.grant_apply(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeTheGateway",
                actions=["bedrock-agentcore:InvokeGateway"],
                resources=[gateway.attr_gateway_arn],
            )
        )
        if memory is not None:
            memory.grant_use(role)
        runtime_logs = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/bedrock-agentcore/runtimes/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        workload_identities = stack.format_arn(
            service="bedrock-agentcore",
            resource="workload-identity-directory",
            resource_name=f"default/workload-identity/harness_{harness_name}-*",
        )
        statements = [
            # A public-network harness pulls AgentCore's managed image from Amazon ECR Public.
            iam.PolicyStatement(
                sid="PullTheHarnessImage", actions=["ecr-public:GetAuthorizationToken"], resources=["*"]
            ),
            iam.PolicyStatement(
                sid="GetTheImageRegistryToken",
                actions=["sts:GetServiceBearerToken"],
                resources=["*"],
                conditions={"StringEquals": {"sts:AWSServiceName": "ecr-public.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="WriteTraces",
                actions=[
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:PutTelemetryRecords",
                    "xray:PutTraceSegments",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="CreateTheRuntimeLogGroup",
                actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                resources=[runtime_logs],
            ),
            iam.PolicyStatement(
                sid="WriteTheRuntimeLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{runtime_logs}:log-stream:*"],
            ),
            iam.PolicyStatement(
                sid="PublishRuntimeMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}},
            ),
            iam.PolicyStatement(
                sid="GetTheHarnessWorkloadToken",
                actions=["bedrock-agentcore:GetWorkloadAccessToken", "bedrock-agentcore:GetWorkloadAccessTokenForJWT"],
                resources=[
                    stack.format_arn(
                        service="bedrock-agentcore", resource="workload-identity-directory", resource_name="default"
                    ),
                    workload_identities,
                ],
            ),
            # Invokers may pass model parameters through to the model layer; none of them may switch roles.
            iam.PolicyStatement(
                sid="NeverAssumeAnotherRole", effect=iam.Effect.DENY, actions=["sts:AssumeRole"], resources=["*"]
            ),
        ]
        for statement in statements:
            role.add_to_principal_policy(statement)
        acknowledge(
            role.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr-public:GetAuthorizationToken, sts:GetServiceBearerToken (the harness image pull), X-Ray's trace "
            "actions and cloudwatch:PutMetricData (limited by the cloudwatch:namespace condition) support no "
            "resource-level permissions; the Deny on sts:AssumeRole is a Deny.",
        )
        for pattern in (runtime_logs, f"{runtime_logs}:log-stream:*"):
            acknowledge_wildcard(
                role.policy,
                pattern,
                "AgentCore names the harness runtime's log groups and streams itself, under "
                "/aws/bedrock-agentcore/runtimes/; the grant covers that prefix only, as the AgentCore guide's "
                "execution role does.",
            )
        acknowledge_wildcard(
            role.policy,
            workload_identities,
            "AgentCore creates the harness's workload identity as harness_<name>-<suffix>, a suffix it chooses; the "
            "grant names this harness's identities only.",
        )


def agentcore_principal(scope: Construct) -> iam.ServicePrincipal:
    """AgentCore, for this account's AgentCore resources only (the pattern the AgentCore guide gives)."""
    stack = cdk.Stack.of(scope)
    return service_principal(
        "bedrock-agentcore.amazonaws.com",
        source_account=stack.account,
        source_arn=stack.format_arn(service="bedrock-agentcore", resource="*"),
    )
