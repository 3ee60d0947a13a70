"""IAM for calling Bedrock models, directly or through the inference profile of a geography."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from stacks.config import model_identifier
from stacks.constructs.common import acknowledge
from stacks.constructs.roles import ManagedPolicyRole

INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


def grant_invoke_models(role: ManagedPolicyRole, models: Iterable[str], *, inference_profile: str) -> None:
    """Let `role` call each model: in this region, or through its profile and, from there, in its regions."""
    stack = cdk.Stack.of(role)
    for model in models:
        identifier = model_identifier(model, inference_profile)
        if inference_profile == "none":
            arn = stack.format_arn(service="bedrock", account="", resource="foundation-model", resource_name=model)
            role.add_to_principal_policy(iam.PolicyStatement(actions=INVOKE, resources=[arn]))
            continue
        profile = stack.format_arn(service="bedrock", resource="inference-profile", resource_name=identifier)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=[*INVOKE, "bedrock:GetInferenceProfile"], resources=[profile])
        )
        # A profile routes each request to the model in one of its geography's regions; the model may be
        # called there only through this profile.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=INVOKE,
                resources=[f"arn:{stack.partition}:bedrock:*::foundation-model/{model}"],
                conditions={"StringLike": {"bedrock:InferenceProfileArn": profile}},
            )
        )
        acknowledge(
            role.policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{model}]",
            f"The {identifier} inference profile routes requests to {model} in any region of its geography, so the "
            "model ARN's region is a wildcard; the statement applies only through this profile "
            "(condition bedrock:InferenceProfileArn).",
        )
