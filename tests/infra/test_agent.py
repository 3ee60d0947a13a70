"""The agent on AgentCore: harness, endpoint, gateway and targets, memory, and the roles and keys they use."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import assertions

from stacks.config import ROOT
from tests.synth import Assembly, one, resources_at

INSTRUCTION = (ROOT / "prompts/agent_instruction.md").read_text().strip()
# Every inline tool group the API runs (lambda/api/tools/<group>.json), in the order the harness lists them.
INLINE_TOOLS = [
    tool
    for path in sorted((ROOT / "lambda/api/tools").glob("*.json"))
    for tool in json.loads(path.read_text())["tools"]
]
GATEWAY_GROUPS = {
    name: json.loads((ROOT / f"lambda/agent_tools/{name}.json").read_text()) for name in ("status", "knowledge")
}
CLASSIC = {"AWS::Bedrock::Agent", "AWS::Bedrock::AgentAlias"}


def _one(template: assertions.Template, type_: str, path: str = "Application/Agent/") -> tuple[str, dict[str, Any]]:
    return one(template, type_, path)


def _statements(template: assertions.Template, path: str) -> dict[str, dict[str, Any]]:
    _, policy = _one(template, "AWS::IAM::ManagedPolicy", path)
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    return {s.get("Sid") or json.dumps(s["Action"]): s for s in statements}


@pytest.mark.parametrize("variant", ["assembly", "flipped_assembly"])
def test_no_agents_classic_resource_remains(variant: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(variant)
    types = {r["Type"] for stack in assembly.stacks for r in assembly.template(stack)["Resources"].values()}

    assert "AWS::BedrockAgentCore::Harness" in types
    assert not types & CLASSIC


def test_the_harness_calls_its_model_through_the_profile_with_the_guardrail(application: assertions.Template) -> None:
    _, harness = _one(application, "AWS::BedrockAgentCore::Harness")
    guardrail_id, _ = _one(application, "AWS::Bedrock::Guardrail", "Application/Guardrail/")
    (version_id,) = resources_at(application, "AWS::Bedrock::GuardrailVersion", "Application/Guardrail/")
    model = harness["Properties"]["Model"]["BedrockModelConfig"]

    assert model["ModelId"] == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert model["ApiFormat"] == "converse_stream"
    assert model["MaxTokens"] == 2048
    assert model["AdditionalParams"]["guardrailConfig"] == {
        "guardrailIdentifier": {"Fn::GetAtt": [guardrail_id, "GuardrailId"]},
        "guardrailVersion": {"Fn::GetAtt": [version_id, "Version"]},
        "trace": "enabled",
    }
    assert harness["Properties"]["SystemPrompt"] == [{"Text": INSTRUCTION}]


def test_the_harness_allows_exactly_its_tools_and_never_the_built_in_shell(application: assertions.Template) -> None:
    gateway_id, _ = _one(application, "AWS::BedrockAgentCore::Gateway")
    _, harness = _one(application, "AWS::BedrockAgentCore::Harness")
    properties = harness["Properties"]
    tools = {tool["Name"]: tool for tool in properties["Tools"]}

    assert properties["AllowedTools"] == ["@tools", *(tool["name"] for tool in INLINE_TOOLS)]
    assert {"create_ticket", "get_ticket", "list_tickets", "close_ticket"} <= {tool["name"] for tool in INLINE_TOOLS}
    assert tools["tools"]["Type"] == "agentcore_gateway"
    assert tools["tools"]["Config"]["AgentCoreGateway"] == {
        "GatewayArn": {"Fn::GetAtt": [gateway_id, "GatewayArn"]},
        "OutboundAuth": {"AwsIam": {}},
    }
    for tool in INLINE_TOOLS:
        inline = tools[tool["name"]]
        assert inline["Type"] == "inline_function"
        assert inline["Config"]["InlineFunction"] == {
            "Description": tool["description"],
            "InputSchema": tool["inputSchema"],
        }


def test_the_harness_is_bounded_and_runs_on_the_public_network(application: assertions.Template) -> None:
    _, harness = _one(application, "AWS::BedrockAgentCore::Harness")
    properties = harness["Properties"]
    environment = properties["Environment"]["AgentCoreRuntimeEnvironment"]

    assert (properties["MaxIterations"], properties["MaxTokens"], properties["TimeoutSeconds"]) == (10, 16000, 120)
    assert environment["NetworkConfiguration"] == {"NetworkMode": "PUBLIC"}
    assert environment["LifecycleConfiguration"] == {"IdleRuntimeSessionTimeout": 300, "MaxLifetime": 3600}
    assert "AuthorizerConfiguration" not in properties  # IAM (SigV4): only the API's role may invoke it


def test_the_harness_waits_for_its_role_policy_and_gateway_targets(application: assertions.Template) -> None:
    _, harness = _one(application, "AWS::BedrockAgentCore::Harness")
    policy_id, _ = _one(application, "AWS::IAM::ManagedPolicy", "Application/Agent/Role/")
    targets = resources_at(application, "AWS::BedrockAgentCore::GatewayTarget", "Application/Agent/")

    # Without the policy first, AgentCore's role validation fails the create.
    assert set(harness["DependsOn"]) >= {policy_id, *targets}


def test_the_endpoint_follows_every_new_harness_version(application: assertions.Template) -> None:
    harness_id, _ = _one(application, "AWS::BedrockAgentCore::Harness")
    _, endpoint = _one(application, "AWS::BedrockAgentCore::HarnessEndpoint")

    assert endpoint["Properties"]["HarnessId"] == {"Fn::GetAtt": [harness_id, "HarnessId"]}
    assert endpoint["Properties"]["TargetVersion"] == {"Fn::GetAtt": [harness_id, "Version"]}
    assert endpoint["Properties"]["EndpointName"] == "live"


def test_the_harness_remembers_in_the_foundations_memory(assembly: Assembly) -> None:
    application = assembly.assertions("Application")
    _, harness = _one(application, "AWS::BedrockAgentCore::Harness")
    memory = harness["Properties"]["Memory"]["AgentCoreMemoryConfiguration"]

    assert memory["MessagesCount"] == 20
    assert "AgentMemory" in json.dumps(memory["Arn"])
    assert "ActorId" not in memory  # every call names its caller as the actor


def test_the_memory_is_on_the_project_key_per_caller_and_session_and_retained(foundation: assertions.Template) -> None:
    key_id, _ = _one(foundation, "AWS::KMS::Key", "Foundation/Encryption/")
    _, memory = _one(foundation, "AWS::BedrockAgentCore::Memory", "Foundation/AgentMemory/")
    properties = memory["Properties"]
    ((strategy,),) = [s.values() for s in properties["MemoryStrategies"]]

    assert properties["EncryptionKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert properties["EventExpiryDuration"] == 30
    assert "MemoryExecutionRoleArn" not in properties  # the built-in summary strategy needs none
    assert strategy["NamespaceTemplates"] == ["/summaries/{actorId}/{sessionId}/"]
    assert memory["DeletionPolicy"] == "Retain"
    assert memory["UpdateReplacePolicy"] == "Retain"


def test_without_memory_the_harness_remembers_nothing(flipped_assembly: Assembly) -> None:
    _, harness = _one(flipped_assembly.assertions("Application"), "AWS::BedrockAgentCore::Harness")

    assert harness["Properties"]["Memory"] == {"Disabled": {}}
    assert not flipped_assembly.assertions("Foundation").find_resources("AWS::BedrockAgentCore::Memory")


def _trust(template: assertions.Template, path: str) -> dict[str, Any]:
    _, role = _one(template, "AWS::IAM::Role", path)
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return dict(statement)


@pytest.mark.parametrize("role", ["Role", "GatewayRole"])
def test_agentcore_may_assume_the_roles_for_this_accounts_resources_only(
    application: assertions.Template, role: str
) -> None:
    statement = _trust(application, f"Application/Agent/{role}/")

    assert statement["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert ":bedrock-agentcore:" in source
    assert source.endswith(':*"]]}')


def test_the_harness_role_grants_its_model_guardrail_gateway_and_memory_only(application: assertions.Template) -> None:
    statements = _statements(application, "Application/Agent/Role/")
    gateway_id, _ = _one(application, "AWS::BedrockAgentCore::Gateway")
    guardrail_id, _ = _one(application, "AWS::Bedrock::Guardrail", "Application/Guardrail/")

    assert statements["InvokeTheGateway"]["Resource"] == {"Fn::GetAtt": [gateway_id, "GatewayArn"]}
    (apply,) = [s for s in statements.values() if s["Action"] == "bedrock:ApplyGuardrail"]
    assert apply["Resource"] == {"Fn::GetAtt": [guardrail_id, "GuardrailArn"]}
    (memory,) = [s for s in statements.values() if "bedrock-agentcore:CreateEvent" in s["Action"]]
    assert "AgentMemory" in json.dumps(memory["Resource"])
    assert "bedrock-agentcore:DeleteMemory" not in json.dumps(statements)
    invoke = [s for s in statements.values() if "bedrock:InvokeModel" in s["Action"]]
    assert invoke, "the role must be able to call its model"
    for statement in invoke:
        resource = json.dumps(statement["Resource"])
        assert "haiku-4-5" in resource
        if "foundation-model" in resource:
            assert "bedrock:InferenceProfileArn" in statement["Condition"]["StringLike"]
    deny = statements["NeverAssumeAnotherRole"]
    assert (deny["Effect"], deny["Action"], deny["Resource"]) == ("Deny", "sts:AssumeRole", "*")
    assert statements["PublishRuntimeMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}
    }
    wildcards = sorted(str(s["Action"]) for s in statements.values() if s["Resource"] == "*" and s["Effect"] == "Allow")
    assert wildcards == sorted(
        [
            "cloudwatch:PutMetricData",
            "ecr-public:GetAuthorizationToken",
            "sts:GetServiceBearerToken",
            "['xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']",
        ]
    )


def test_the_gateway_uses_iam_and_the_project_key(application: assertions.Template) -> None:
    _, gateway = _one(application, "AWS::BedrockAgentCore::Gateway")
    role_id, _ = _one(application, "AWS::IAM::Role", "Application/Agent/GatewayRole/")
    properties = gateway["Properties"]

    assert properties["AuthorizerType"] == "AWS_IAM"
    assert properties["ProtocolType"] == "MCP"
    assert properties["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert "EncryptionKey" in json.dumps(properties["KmsKeyArn"])


def _tools_function(template: assertions.Template, group: str) -> str:
    """The logical id of the function behind the gateway target `group`."""
    function_id, _ = _one(template, "AWS::Lambda::Function", f"Application/Agent/{group.capitalize()}Tools/")
    return function_id


def test_the_gateway_role_invokes_the_tools_functions_and_uses_the_key_through_agentcore_only(
    application: assertions.Template,
) -> None:
    statements = _statements(application, "Application/Agent/GatewayRole/")
    function_ids = {_tools_function(application, group) for group in GATEWAY_GROUPS}

    (invoke,) = [s for s in statements.values() if s["Action"] == "lambda:InvokeFunction"]
    invoked = {function_id for function_id in function_ids for r in invoke["Resource"] if function_id in json.dumps(r)}
    assert invoked == function_ids
    assert len(invoke["Resource"]) == 2 * len(function_ids)  # each function and its versions, nothing else
    key_statements = [s for s in statements.values() if str(s["Action"]).startswith(("kms:", "['kms:"))]
    assert key_statements
    for statement in key_statements:
        assert "bedrock-agentcore." in json.dumps(statement["Condition"]["StringEquals"]["kms:ViaService"])
    for sid in ("EncryptTheGatewayWithTheProjectKey", "LetTheGatewayGrantItselfTheKey"):
        assert "kms:EncryptionContext:aws:bedrock-agentcore-gateway:arn" in statements[sid]["Condition"]["ArnLike"]


@pytest.mark.parametrize("group", sorted(GATEWAY_GROUPS))
def test_each_gateway_target_serves_one_tool_group_from_a_function_of_its_own(
    application: assertions.Template, group: str
) -> None:
    function_id = _tools_function(application, group)
    _, function = _one(application, "AWS::Lambda::Function", f"Application/Agent/{group.capitalize()}Tools/")
    targets = {
        t["Properties"]["Name"]: t
        for t in resources_at(application, "AWS::BedrockAgentCore::GatewayTarget", "Application/Agent/").values()
    }
    target = targets[group]
    lambda_ = target["Properties"]["TargetConfiguration"]["Mcp"]["Lambda"]
    tools = {tool["Name"]: tool for tool in lambda_["ToolSchema"]["InlinePayload"]}

    assert set(targets) == set(GATEWAY_GROUPS)
    assert lambda_["LambdaArn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert function["Properties"]["Handler"] == f"agent_tools.handler.{group}_tools"
    assert target["Properties"]["CredentialProviderConfigurations"] == [{"CredentialProviderType": "GATEWAY_IAM_ROLE"}]
    assert set(tools) == {tool["name"] for tool in GATEWAY_GROUPS[group]["tools"]}
    for tool in GATEWAY_GROUPS[group]["tools"]:
        schema = tools[tool["name"]]["InputSchema"]
        assert schema["Type"] == "object"
        assert set(schema.get("Properties", {})) == set(tool["inputSchema"]["properties"])
        assert schema.get("Required", []) == tool["inputSchema"].get("required", [])


@pytest.mark.parametrize(
    ("group", "allowed", "in_vpc"),
    [("status", "bedrock:ListIngestionJobs", False), ("knowledge", "bedrock:Retrieve", True)],
)
def test_each_tools_function_has_its_groups_permission_only(
    application: assertions.Template, group: str, allowed: str, in_vpc: bool
) -> None:
    statements = _statements(application, f"Application/Agent/{group.capitalize()}Tools/")
    actions = sorted(
        a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )
    _, function = _one(application, "AWS::Lambda::Function", f"Application/Agent/{group.capitalize()}Tools/")

    assert [a for a in actions if a.startswith("bedrock")] == [allowed]
    assert not [a for a in actions if a.startswith("dynamodb:")]
    # The status tools handle no customer data and run outside the VPC; the knowledge tools return passages.
    assert ("VpcConfig" in function["Properties"]) is in_vpc
