"""The stateless stack: what the app does with the data, redeployable at will."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.config import AppConfig
from stacks.constructs.guardrail import Guardrail


class ApplicationStack(cdk.Stack):
    """The guardrail (and, as they arrive, the agent and the API) over the foundation's data."""

    def __init__(self, scope: Construct, id_: str, *, config: AppConfig, key: kms.IKey, **kwargs: Any) -> None:
        super().__init__(scope, id_, **kwargs)
        self.guardrail = Guardrail(self, "Guardrail", config=config.guardrail, key=key)

        cdk.CfnOutput(self, "GuardrailId", value=self.guardrail.guardrail_id)
        cdk.CfnOutput(self, "GuardrailVersion", value=self.guardrail.guardrail_version)
        cdk.CfnOutput(self, "GuardrailArn", value=self.guardrail.guardrail_arn)
