"""The Bedrock guardrail every model path applies, and its published version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.config import GuardrailConfig
from stacks.constructs.common import acknowledge_wildcard, digest
from stacks.constructs.roles import ManagedPolicyRole

CfnGuardrail = bedrock.CfnGuardrail


class Guardrail(Construct):
    """Content, prompt-attack, topic, word, PII and grounding policies, published as an immutable version."""

    def __init__(self, scope: Construct, id_: str, *, config: GuardrailConfig, key: kms.IKey) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self._key = key
        self._profile = config.guardrail_profile
        tier = CfnGuardrail.ContentFiltersTierConfigProperty(tier_name=config.tier.upper())
        self.guardrail = CfnGuardrail(
            self,
            "Resource",
            name=f"{stack.stack_name[:40]}-guardrail",
            description="Applied to every model call of the app: chat, retrieval-augmented answers and the agent",
            kms_key_arn=key.key_arn,
            blocked_input_messaging=config.blocked_input_message,
            blocked_outputs_messaging=config.blocked_output_message,
            content_policy_config=CfnGuardrail.ContentPolicyConfigProperty(
                filters_config=content_filters(config), content_filters_tier_config=tier
            ),
            topic_policy_config=CfnGuardrail.TopicPolicyConfigProperty(
                topics_config=[
                    CfnGuardrail.TopicConfigProperty(
                        name=topic.name, definition=topic.definition, examples=list(topic.examples), type="DENY"
                    )
                    for topic in config.denied_topics
                ],
                topics_tier_config=CfnGuardrail.TopicsTierConfigProperty(tier_name=config.tier.upper()),
            ),
            word_policy_config=CfnGuardrail.WordPolicyConfigProperty(
                managed_word_lists_config=(
                    [CfnGuardrail.ManagedWordsConfigProperty(type="PROFANITY")] if config.profanity else None
                ),
                words_config=[CfnGuardrail.WordConfigProperty(text=word) for word in config.blocked_words] or None,
            ),
            sensitive_information_policy_config=sensitive_information(config),
            contextual_grounding_policy_config=CfnGuardrail.ContextualGroundingPolicyConfigProperty(
                filters_config=[
                    CfnGuardrail.ContextualGroundingFilterConfigProperty(
                        type="GROUNDING", threshold=config.grounding_threshold
                    ),
                    CfnGuardrail.ContextualGroundingFilterConfigProperty(
                        type="RELEVANCE", threshold=config.relevance_threshold
                    ),
                ]
            ),
            cross_region_config=(
                CfnGuardrail.GuardrailCrossRegionConfigProperty(
                    guardrail_profile_arn=stack.format_arn(
                        service="bedrock", resource="guardrail-profile", resource_name=config.guardrail_profile
                    )
                )
                if config.guardrail_profile
                else None
            ),
        )
        # A version is immutable: a new one is published (a new logical ID) exactly when the configuration
        # changes, and consumers always pin it, never the mutable DRAFT.
        self.revision = revision(config)
        self.version = bedrock.CfnGuardrailVersion(
            self,
            f"Version{self.revision}",
            guardrail_identifier=self.guardrail.attr_guardrail_id,
            description=f"Configuration {self.revision}",
        )

        self.blocked_output_message = config.blocked_output_message
        self.guardrail_id = self.guardrail.attr_guardrail_id
        self.guardrail_arn = self.guardrail.attr_guardrail_arn
        self.guardrail_version = self.version.attr_version

    def enforce(self, *, models: Sequence[str], excluded: Sequence[str]) -> bedrock.CfnEnforcedGuardrailConfiguration:
        """Enforce this version on every call of `models` in the account and region, whoever makes it.

        Account-wide: it also covers the harness's own model calls. Models without guardrail support (embedding
        models) fail under enforcement, so they are excluded.
        """
        return bedrock.CfnEnforcedGuardrailConfiguration(
            self,
            "Enforcement",
            guardrail_identifier=self.guardrail_id,
            guardrail_version=self.guardrail_version,
            model_enforcement=bedrock.CfnEnforcedGuardrailConfiguration.ModelEnforcementProperty(
                included_models=sorted(set(models)), excluded_models=sorted(set(excluded))
            ),
        )

    def grant_apply(self, role: ManagedPolicyRole) -> iam.Grant:
        """Let `role` apply this guardrail, on its own or inside a model call."""
        grant = iam.Grant.add_to_principal(
            grantee=role, actions=["bedrock:ApplyGuardrail"], resource_arns=[self.guardrail_arn]
        )
        if self._profile is not None:
            # The standard tier runs through a guardrail profile, which routes each call to a region of its
            # geography: the caller needs ApplyGuardrail on the profile in every one of them.
            profile = cdk.Stack.of(self).format_arn(
                service="bedrock", region="*", resource="guardrail-profile", resource_name=self._profile
            )
            iam.Grant.add_to_principal(grantee=role, actions=["bedrock:ApplyGuardrail"], resource_arns=[profile])
            acknowledge_wildcard(
                role.policy,
                profile,
                f"The {self._profile} guardrail profile routes each check to any region of its geography, so "
                "the profile's ARN has a region wildcard; it names this account and this profile only.",
            )
        # The guardrail is encrypted with the project key: using it decrypts its configuration.
        self._key.grant_decrypt(role)
        return grant


def content_filters(config: GuardrailConfig) -> list[CfnGuardrail.ContentFilterConfigProperty]:
    """The five content filters at their strengths, and the prompt-attack filter on input only."""
    modalities = ["TEXT", "IMAGE"] if config.image_filters else ["TEXT"]
    filters = [
        CfnGuardrail.ContentFilterConfigProperty(
            type=name.upper(),
            input_strength=strengths.input.upper(),
            output_strength=strengths.output.upper(),
            input_modalities=modalities,
            output_modalities=modalities,
        )
        for name, strengths in config.content_filters.items()
    ]
    # Bedrock evaluates prompt attacks on input only; the output strength must be NONE.
    filters.append(
        CfnGuardrail.ContentFilterConfigProperty(
            type="PROMPT_ATTACK", input_strength=config.prompt_attack.upper(), output_strength="NONE"
        )
    )
    return filters


def sensitive_information(config: GuardrailConfig) -> CfnGuardrail.SensitiveInformationPolicyConfigProperty | None:
    """PII entities and custom patterns with their actions; entities set to `none` are left out."""
    entities = [
        CfnGuardrail.PiiEntityConfigProperty(type=name, action=action.upper())
        for name, action in config.pii.items()
        if action != "none"
    ]
    regexes = [
        CfnGuardrail.RegexConfigProperty(
            name=regex.name, pattern=regex.pattern, action=regex.action.upper(), description=regex.description
        )
        for regex in config.regexes
    ]
    if not entities and not regexes:
        return None
    return CfnGuardrail.SensitiveInformationPolicyConfigProperty(
        pii_entities_config=entities or None, regexes_config=regexes or None
    )


def revision(config: GuardrailConfig) -> str:
    """A short digest of everything the guardrail enforces (not where it is enforced)."""
    settings = asdict(config)
    del settings["enforced"]
    return digest(settings)
