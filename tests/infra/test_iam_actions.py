"""Every IAM action the templates grant exists in AWS's catalogue: a misspelt action fails nothing at deploy time,
it just never allows anything.

The catalogue is policy_sentry's copy of the Service Authorization Reference (pinned in requirements-dev.txt).
Actions newer than that copy are listed below with the AWS page that documents them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from api.clients import OPERATIONS
from policy_sentry.querying.actions import get_actions_for_service

from tests.synth import Assembly, resources_at

NEWER_THAN_THE_CATALOGUE = {
    # https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/harness-security.html (callers of a harness)
    "bedrock-agentcore:InvokeHarness",
}
# Where a template holds IAM policy documents, by resource type.
POLICY_PROPERTIES = {
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
}


@cache
def catalogue(service: str) -> frozenset[str]:
    return frozenset(action.lower() for action in get_actions_for_service(service))


def granted(template: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(logical id, action) for every action in every policy document and Lambda permission of a template."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Permission":
            yield logical_id, properties["Action"]
        for name in POLICY_PROPERTIES.get(resource["Type"], ()):
            for statement in properties.get(name, {}).get("Statement", []):
                actions = statement.get("Action", [])
                for action in [actions] if isinstance(actions, str) else actions:
                    yield logical_id, action


def unknown(action: str) -> bool:
    if action == "*" or action in NEWER_THAN_THE_CATALOGUE:
        return False
    service, _, name = action.partition(":")
    known = catalogue(service)
    if "*" in name:
        return not fnmatch.filter(known, action.lower())
    return action.lower() not in known


@pytest.mark.parametrize("variant", ["assembly", "prod_assembly", "flipped_assembly"])
def test_every_granted_action_exists(variant: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(variant)
    actions = [(stack, lid, a) for stack in assembly.stacks for lid, a in granted(assembly.template(stack))]

    assert len(actions) > 100  # the walk found the policies
    missing = sorted({f"{action} ({stack}/{lid})" for stack, lid, action in actions if unknown(action)})
    assert not missing, "actions not in the IAM catalogue:\n" + "\n".join(missing)


def test_the_check_catches_a_misspelt_action() -> None:
    template = {
        "Resources": {
            "Bad": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Statement": [{"Action": ["bedrock:InvokeModels"]}]}},
            }
        }
    }

    assert [action for _, action in granted(template) if unknown(action)] == ["bedrock:InvokeModels"]
    assert not unknown("kms:GenerateDataKey*")
    assert unknown("kms:GenerateDataKeyz*")


def test_the_newer_actions_are_still_missing_from_the_catalogue() -> None:
    # When the pinned catalogue learns them, this list should shrink.
    assert all(action.lower() not in catalogue(action.split(":")[0]) for action in NEWER_THAN_THE_CATALOGUE)


# The IAM actions each SDK operation a function calls needs (Service Authorization Reference).
NEEDS = {
    "bedrock-runtime:ApplyGuardrail": {"bedrock:ApplyGuardrail"},
    "bedrock-runtime:Converse": {"bedrock:InvokeModel"},
    "bedrock-runtime:ConverseStream": {"bedrock:InvokeModelWithResponseStream"},
    "bedrock-agent-runtime:Retrieve": {"bedrock:Retrieve"},
    "bedrock-agent-runtime:RetrieveAndGenerate": {"bedrock:RetrieveAndGenerate", "bedrock:Retrieve"},
    # The streaming variant has no IAM action of its own: it is authorized as RetrieveAndGenerate.
    "bedrock-agent-runtime:RetrieveAndGenerateStream": {"bedrock:RetrieveAndGenerate", "bedrock:Retrieve"},
    "bedrock-agentcore:InvokeHarness": {"bedrock-agentcore:InvokeHarness", "bedrock-agentcore:InvokeAgentRuntime"},
    "bedrock-agent:ListIngestionJobs": {"bedrock:ListIngestionJobs"},
    "bedrock-agent:StartIngestionJob": {"bedrock:StartIngestionJob"},
    "dynamodb:GetItem": {"dynamodb:GetItem"},
    "dynamodb:PutItem": {"dynamodb:PutItem"},
    "dynamodb:Query": {"dynamodb:Query"},
    "dynamodb:UpdateItem": {"dynamodb:UpdateItem"},
    "s3:GetObject": {"s3:GetObject"},
    "s3:PutObject": {"s3:PutObject"},
}
# What each function's code calls: the API declares it (api.clients.OPERATIONS, checked against its calls in the
# API tests); the others call few enough to list here.
CALLS = {
    "Application/Api/Function/": {f"{s}:{o}" for s, ops in OPERATIONS.items() for o in ops},
    "Application/Agent/StatusTools/": {"bedrock-agent:ListIngestionJobs"},
    "Application/Agent/KnowledgeTools/": {"bedrock-agent-runtime:Retrieve"},
    "Foundation/Ingestion/Function/": {
        "bedrock-agent:ListIngestionJobs",
        "bedrock-agent:StartIngestionJob",
        "s3:GetObject",
        "s3:PutObject",
    },
}


@pytest.mark.parametrize("function", sorted(CALLS))
def test_each_function_may_make_every_call_its_code_makes(assembly: Assembly, function: str) -> None:
    stack = function.split("/", maxsplit=1)[0]
    template = assembly.assertions(stack)
    policies = resources_at(template, "AWS::IAM::ManagedPolicy", function)
    allowed = {
        action
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }

    needed = {action for call in CALLS[function] for action in NEEDS[call]}
    assert needed <= allowed, f"{function} lacks {sorted(needed - allowed)}"
