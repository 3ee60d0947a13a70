"""Calling Bedrock models: directly, through the inference profile of a geography, or through the application
inference profiles that tag their spend with the project."""

from __future__ import annotations

import re
from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import model_identifier
from stacks.constructs.common import acknowledge_wildcard, digest
from stacks.constructs.roles import ManagedPolicyRole

INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
# An application inference profile's name: at most 64 letters, digits and single separators.
PROFILE_NAME_LENGTH = 64
DIGEST_LENGTH = 8


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


class ModelProfiles(Construct):
    """Per model, a tagged copy of its system inference profile (or of the model here), so spend splits by tag."""

    def __init__(self, scope: Construct, id_: str, *, models: Iterable[str], inference_profile: str) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.inference_profile = inference_profile
        tags = [cdk.CfnTag(key=key, value=value) for key, value in sorted(stack.tags.tag_values().items())]
        self.profiles: dict[str, bedrock.CfnApplicationInferenceProfile] = {}
        for model in dict.fromkeys(models):
            identifier = model_identifier(model, inference_profile)
            self.profiles[model] = bedrock.CfnApplicationInferenceProfile(
                self,
                "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]+", model)),
                # Name, description and source are replaced together, so a new source gets a new name: the old
                # profile is deleted only after the new one exists.
                inference_profile_name=profile_name(stack.stack_name, identifier),
                description=_label(f"{identifier} for {stack.stack_name}"),
                model_source=bedrock.CfnApplicationInferenceProfile.InferenceProfileModelSourceProperty(
                    copy_from=model_arn(self, model, inference_profile=inference_profile)
                ),
                tags=tags,
            )

    def arn(self, model: str) -> str:
        """The ARN to call `model` by (Converse modelId, RetrieveAndGenerate modelArn)."""
        return self.profiles[model].attr_inference_profile_arn

    def profile_id(self, model: str) -> str:
        """The profile's id, the last part of its ARN."""
        return self.profiles[model].attr_inference_profile_id

    def grant_invoke(self, role: ManagedPolicyRole) -> None:
        """Let `role` call each model through its profile only: the profile, and the model where the profile routes."""
        stack = cdk.Stack.of(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeTheModelProfiles", actions=INVOKE, resources=[self.arn(model) for model in self.profiles]
            )
        )
        routed = self.inference_profile != "none"
        for model in self.profiles:
            target = (
                f"arn:{stack.partition}:bedrock:*::foundation-model/{model}"
                if routed
                else model_arn(role, model, inference_profile="none")
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=INVOKE,
                    resources=[target],
                    conditions={"StringEquals": {"bedrock:InferenceProfileArn": self.arn(model)}},
                )
            )
            if routed:
                acknowledge_wildcard(
                    role.policy,
                    target,
                    f"The application inference profile of {model} copies the "
                    f"{model_identifier(model, self.inference_profile)} system profile, which routes requests to "
                    "the model in any region of its geography, so the model ARN's region is a wildcard; the "
                    "statement applies only through this stack's profile (condition bedrock:InferenceProfileArn).",
                )


def profile_name(stack_name: str, identifier: str) -> str:
    """A readable name unique to the stack and the model identifier: letters, digits and single dashes."""
    readable = "-".join(part for part in re.split(r"[^0-9a-zA-Z]+", f"{stack_name}-{identifier}") if part)
    prefix = readable[: PROFILE_NAME_LENGTH - DIGEST_LENGTH - 1].rstrip("-")
    return f"{prefix}-{digest(identifier, DIGEST_LENGTH)}"


def _label(text: str) -> str:
    """`text` in the characters a profile description allows, one separator at a time."""
    return re.sub(r"([ _-])[ _-]+", r"\1", re.sub(r"[^0-9a-zA-Z:. _-]", "-", text))
