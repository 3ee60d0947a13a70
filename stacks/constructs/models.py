"""IAM for calling Bedrock models, directly or through the inference profile of a geography."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import model_identifier
from stacks.constructs.common import acknowledge_wildcard
from stacks.constructs.roles import ManagedPolicyRole

INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


def model_arn(scope: Construct, model: str, *, inference_profile: str) -> str:
    """What to call `model` by: its inference profile in this account, or the model in this region."""
    stack = cdk.Stack.of(scope)
    if inference_profile == "none":
        return stack.format_arn(service="bedrock", account="", resource="foundation-model", resource_name=model)
    return stack.format_arn(
        service="bedrock", resource="inference-profile", resource_name=model_identifier(model, inference_profile)
    )


def grant_invoke_models(role: ManagedPolicyRole, models: Iterable[str], *, inference_profile: str) -> None:
    """Let `role` call each model: in this region, or through its profile and, from there, in its regions."""
    stack = cdk.Stack.of(role)
    for model in models:
        arn = model_arn(role, model, inference_profile=inference_profile)
        if inference_profile == "none":
            role.add_to_principal_policy(iam.PolicyStatement(actions=INVOKE, resources=[arn]))
            continue
        profile = arn
        identifier = model_identifier(model, inference_profile)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=[*INVOKE, "bedrock:GetInferenceProfile"], resources=[profile])
        )
        # A profile routes each request to the model in one of its geography's regions; the model may be
        # called there only through this profile.
        anywhere = f"arn:{stack.partition}:bedrock:*::foundation-model/{model}"
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=INVOKE,
                resources=[anywhere],
                conditions={"StringLike": {"bedrock:InferenceProfileArn": profile}},
            )
        )
        acknowledge_wildcard(
            role.policy,
            anywhere,
            f"The {identifier} inference profile routes requests to {model} in any region of its geography, so the "
            "model ARN's region is a wildcard; the statement applies only through this profile "
            "(condition bedrock:InferenceProfileArn).",
        )
