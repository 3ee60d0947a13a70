"""The agent, its alias, its tools function and the tickets table, and the alias roll-forward on change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import assertions

from stacks.config import ROOT
from tests.synth import Assembly, resources_at, synthesize

FOUNDATION_OUTPUT = "Fn::GetStackOutput"
MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"


def _one(template: assertions.Template, type_: str, path: str = "") -> tuple[str, dict[str, Any]]:
    matches = resources_at(template, type_, path) if path else template.find_resources(type_)
    ((logical_id, resource),) = matches.items()
    return logical_id, dict(resource)


def _agent(application: assertions.Template) -> dict[str, Any]:
    return dict(_one(application, "AWS::Bedrock::Agent")[1]["Properties"])


def _from_foundation(value: Any, output: str) -> bool:
    return isinstance(value, dict) and output in value.get(FOUNDATION_OUTPUT, {}).get("OutputName", "")


def test_agent_uses_the_us_inference_profile_and_the_reviewed_instruction(application: assertions.Template) -> None:
    agent = _agent(application)

    assert agent["FoundationModel"] == f"us.{MODEL}"
    assert agent["Instruction"] == (ROOT / "prompts/agent_instruction.md").read_text().strip()
    assert agent["IdleSessionTTLInSeconds"] == 600
    assert agent["AutoPrepare"] is True
    assert _from_foundation(agent["CustomerEncryptionKeyArn"], "EncryptionKey")


def test_agent_applies_the_published_guardrail_and_uses_the_knowledge_base(application: assertions.Template) -> None:
    agent = _agent(application)
    guardrail_id, _ = _one(application, "AWS::Bedrock::Guardrail")
    version_id, _ = _one(application, "AWS::Bedrock::GuardrailVersion")

    assert agent["GuardrailConfiguration"] == {
        "GuardrailIdentifier": {"Fn::GetAtt": [guardrail_id, "GuardrailId"]},
        "GuardrailVersion": {"Fn::GetAtt": [version_id, "Version"]},
    }
    (knowledge_base,) = agent["KnowledgeBases"]
    assert _from_foundation(knowledge_base["KnowledgeBaseId"], "KnowledgeBaseId")
    assert knowledge_base["KnowledgeBaseState"] == "ENABLED"
    assert "question about the stack" in knowledge_base["Description"]


def test_agent_remembers_session_summaries_and_keeps_pre_processing(application: assertions.Template) -> None:
    agent = _agent(application)

    assert agent["MemoryConfiguration"] == {
        "EnabledMemoryTypes": ["SESSION_SUMMARY"],
        "StorageDays": 30,
        "SessionSummaryConfiguration": {"MaxRecentSessions": 20},
    }
    assert agent["PromptOverrideConfiguration"] == {
        "PromptConfigurations": [
            {"PromptType": "PRE_PROCESSING", "PromptCreationMode": "DEFAULT", "PromptState": "ENABLED"}
        ]
    }


def test_both_action_groups_call_the_tools_function(application: assertions.Template) -> None:
    groups = {group["ActionGroupName"]: group for group in _agent(application)["ActionGroups"]}
    tools_id, _ = _one(application, "AWS::Lambda::Function", "Application/Agent/Tools/")
    functions = json.loads((ROOT / "lambda/agent_tools/functions.json").read_text())

    assert sorted(groups) == ["Status", "SupportTickets"]
    for group in groups.values():
        assert group["ActionGroupExecutor"] == {"Lambda": {"Fn::GetAtt": [tools_id, "Arn"]}}
    schema = {f["Name"]: f for f in groups["SupportTickets"]["FunctionSchema"]["Functions"]}
    assert sorted(schema) == sorted(f["name"] for f in functions["functions"])
    assert schema["create_ticket"]["RequireConfirmation"] == "ENABLED"
    assert schema["close_ticket"]["RequireConfirmation"] == "ENABLED"
    assert schema["get_ticket"]["RequireConfirmation"] == "DISABLED"
    for function in schema.values():
        for parameter in function.get("Parameters", {}).values():
            assert set(parameter) == {"Type", "Description", "Required"}  # validation extras stay in the Lambda
    assert groups["Status"]["ApiSchema"] == {"Payload": (ROOT / "lambda/agent_tools/openapi.json").read_text()}


def test_alias_points_at_the_agent_and_names_its_configuration(application: assertions.Template) -> None:
    agent_id, _ = _one(application, "AWS::Bedrock::Agent")
    _, alias = _one(application, "AWS::Bedrock::AgentAlias")

    assert alias["Properties"]["AgentId"] == {"Fn::GetAtt": [agent_id, "AgentId"]}
    assert "RoutingConfiguration" not in alias["Properties"]  # Bedrock then publishes a version on every update
    assert alias["Properties"]["Description"].startswith("Current configuration (")


def test_agent_role_is_confused_deputy_safe_and_scoped(application: assertions.Template) -> None:
    _, role = _one(application, "AWS::IAM::Role", "Application/Agent/Role/")
    _, policy = _one(application, "AWS::IAM::ManagedPolicy", "Application/Agent/Role/")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    guardrail_id, _ = _one(application, "AWS::Bedrock::Guardrail")

    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":agent/*" in str(trust["Condition"]["ArnLike"]["aws:SourceArn"])
    (profile,) = [s for s in statements if "bedrock:GetInferenceProfile" in s["Action"]]
    assert f"inference-profile/us.{MODEL}" in str(profile["Resource"])
    (routed,) = [s for s in statements if "Condition" in s]
    assert f":bedrock:*::foundation-model/{MODEL}" in str(routed["Resource"])
    assert "bedrock:InferenceProfileArn" in routed["Condition"]["StringLike"]
    (retrieve,) = [s for s in statements if s["Action"] == "bedrock:Retrieve"]
    assert _from_foundation(retrieve["Resource"], "KnowledgeBaseArn")
    (apply,) = [s for s in statements if s["Action"] == "bedrock:ApplyGuardrail"]
    assert apply["Resource"] == {"Fn::GetAtt": [guardrail_id, "GuardrailArn"]}
    assert len(statements) == 5  # the two above, retrieve, the guardrail, and the key
    assert not [s for s in statements if s["Resource"] == "*"]


def test_only_this_agent_may_invoke_the_tools(application: assertions.Template) -> None:
    agent_id, _ = _one(application, "AWS::Bedrock::Agent")
    _, permission = _one(application, "AWS::Lambda::Permission", "Application/Agent/")

    assert permission["Properties"]["Principal"] == "bedrock.amazonaws.com"
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [agent_id, "AgentArn"]}
    assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_tools_may_use_only_the_tickets_table_its_index_and_the_sync_status(application: assertions.Template) -> None:
    _, policy = _one(application, "AWS::IAM::ManagedPolicy", "Application/Agent/Tools/")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {str(s["Action"]): s["Resource"] for s in statements}

    assert _from_foundation(
        by_action["['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']"], "TicketsTable"
    )
    assert "/index/status-created" in str(by_action["dynamodb:Query"])
    assert _from_foundation(by_action["bedrock:ListIngestionJobs"], "KnowledgeBaseArn")
    assert not [a for a in by_action if "dynamodb:*" in a or "dynamodb:Scan" in a]


def test_tickets_table_is_encrypted_recoverable_and_retained(foundation: assertions.Template) -> None:
    _, table = _one(foundation, "AWS::DynamoDB::Table")
    properties = table["Properties"]
    (key_id,) = foundation.find_resources("AWS::KMS::Key")

    assert properties["SSESpecification"] == {
        "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "SSEEnabled": True,
        "SSEType": "KMS",
    }
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    (index,) = properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "status-created"
    assert index["KeySchema"] == [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]


def test_outputs_name_the_agent_and_its_alias(assembly: Assembly) -> None:
    outputs = assembly.template("Application")["Outputs"]

    assert set(outputs) >= {"AgentId", "AgentAliasId", "GuardrailId", "GuardrailVersion"}


@pytest.fixture(scope="module")
def reworded_assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The default app with one word of the agent's instruction changed."""
    instruction = tmp_path_factory.mktemp("prompts") / "agent_instruction.md"
    instruction.write_text((ROOT / "prompts/agent_instruction.md").read_text().replace("brief", "short", 1))
    return synthesize(tmp_path_factory.mktemp("reworded"), {"genai.agent.instruction_file": str(instruction)})


def _differences(old: Any, new: Any, path: str = "") -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from _differences(old.get(key), new.get(key), f"{path}/{key}")
    elif old != new:
        yield path


def test_a_new_instruction_rolls_the_alias_forward_and_changes_nothing_else(
    assembly: Assembly, reworded_assembly: Assembly
) -> None:
    agent_id = "Agent255F68E9"
    alias_id = "AgentAlias350FEF31"

    changed = list(_differences(assembly.template("Application"), reworded_assembly.template("Application")))

    assert changed == [
        f"/Resources/{agent_id}/Properties/Instruction",
        f"/Resources/{alias_id}/Properties/Description",
    ]
    assert assembly.template("Foundation") == reworded_assembly.template("Foundation")


def test_without_a_profile_the_agent_calls_the_model_in_its_region(egress_assembly: Assembly) -> None:
    application = egress_assembly.assertions("Application")
    agent = _agent(application)
    _, policy = _one(application, "AWS::IAM::ManagedPolicy", "Application/Agent/Role/")
    (invoke,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "bedrock:InvokeModel" in s["Action"]]

    assert agent["FoundationModel"] == MODEL
    assert invoke["Resource"] == f"arn:aws:bedrock:eu-west-1::foundation-model/{MODEL}"
    assert "MemoryConfiguration" not in agent
    assert agent["PromptOverrideConfiguration"]["PromptConfigurations"][0]["PromptState"] == "DISABLED"
