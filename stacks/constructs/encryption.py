"""The project's customer-managed KMS key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class Encryption(Construct):
    """A rotating customer-managed key for the stack's logs, data and Bedrock resources."""

    def __init__(self, scope: Construct, id_: str, *, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the data, logs and Bedrock resources of {stack.stack_name}",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        # CloudWatch Logs encrypts with the caller's key only through the key policy, and only for log
        # groups of this account and region (the encryption context names the log group).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForThisAccountAndRegion",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
