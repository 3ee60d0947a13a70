"""The CDK app: `build_app(config)` is what `app.py` and the tests synthesize."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks

from stacks.application_stack import ApplicationStack
from stacks.config import AppConfig
from stacks.foundation_stack import FoundationStack

COMPLIANCE_PACKS = (AwsSolutionsChecks, ServerlessChecks, NIST80053R5Checks, HIPAASecurityChecks)


def build_app(config: AppConfig, app: cdk.App | None = None) -> cdk.App:
    """Add the stacks for `config` and the compliance packs to `app` (a new App when none is given)."""
    app = app or cdk.App()
    env = cdk.Environment(account=config.account, region=config.region)
    # Stack tags: CloudFormation applies them to every resource that supports tags.
    tags = {"project": config.stack_prefix, "profile": config.profile}
    foundation = FoundationStack(
        app,
        "Foundation",
        config=config,
        env=env,
        tags=tags,
        stack_name=f"{config.stack_prefix}-Foundation",
        description="Bedrock GenAI reference stack: network, encryption and data (stateful)",
        termination_protection=config.termination_protection,
    )
    ApplicationStack(
        app,
        "Application",
        config=config,
        baseline=foundation.baseline,
        knowledge_base=foundation.knowledge_base,
        tickets=foundation.tickets,
        agent_memory=foundation.agent_memory,
        alerts=foundation.alerts,
        ingestion=foundation.ingestion,
        env=env,
        tags=tags,
        stack_name=f"{config.stack_prefix}-Application",
        description="Bedrock GenAI reference stack: guardrail, agent and API (stateless)",
    )
    # Stack tags reach resources only at deploy time; written into the templates too, they can be checked there.
    for key, value in tags.items():
        cdk.Tags.of(app).add(key, value)

    add_compliance_checks(app)
    return app


def add_compliance_checks(app: cdk.App) -> None:
    """Register the cdk-nag packs; synth writes their findings to validation-report.json."""
    for pack in COMPLIANCE_PACKS:
        cdk.Validations.of(app).add_plugins(pack(app))
