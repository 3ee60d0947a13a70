"""A Python Lambda function the way this project runs them: in the VPC, traced, encrypted, least privilege.

A function that handles no customer data may run outside the VPC, on Lambda's own network, when it says why in one
line: that line is the acknowledgement of the NIST 800-53 and HIPAA "LambdaInsideVPC" findings on that function.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.constructs.common import Baseline, acknowledge, dead_letter_queue
from stacks.constructs.packaging import function_code
from stacks.constructs.roles import ManagedPolicyRole

RUNTIME = lambda_.Runtime.PYTHON_3_14
# The public Powertools for AWS Lambda (Python) v3 layer every function logs, traces and measures with; the
# tests run against the same release (3.31.1).
POWERTOOLS_LAYER = "arn:{partition}:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:36"


class VpcFunction(Construct):
    """One Python function from `lambda/<package>/`, in the VPC's private subnets unless `outside_vpc` says why not."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        package: str,
        description: str,
        baseline: Baseline,
        environment: Mapping[str, str],
        timeout: cdk.Duration,
        memory_size: int = 256,
        concurrency_bound: str,
        reserved_concurrency: int | None = None,
        requirements: Path | None = None,
        handler: str = "",
        layers: list[lambda_.ILayerVersion] | None = None,
        wildcard_note: str = "",
        outside_vpc: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        if outside_vpc is not None and (not outside_vpc.strip() or "\n" in outside_vpc):
            raise ValueError(f"{package}: outside_vpc must be a one-line reason, got {outside_vpc!r}")
        in_vpc = outside_vpc is None
        key = baseline.key
        self.role = ManagedPolicyRole(
            self,
            "Role",
            description=description,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.log_group = logs.LogGroup(
            self, "Logs", encryption_key=key, retention=baseline.log_retention, removal_policy=baseline.removal_policy
        )
        self.security_group: ec2.SecurityGroup | None = None
        if in_vpc:
            self.security_group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=baseline.vpc,
                description=f"Lambda function {package}: outbound HTTPS only",
                allow_all_outbound=False,
            )
            # The private subnets route only to VPC endpoints (and, in egress mode, to NAT): HTTPS is all it needs.
            self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")
        self.dead_letter_queue = dead_letter_queue(
            self, "DeadLetterQueue", key=key, holds="the function's failed asynchronous invocations"
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=function_code(package, requirements),
            handler=handler or f"{package}.handler.handler",
            role=self.role,
            environment=dict(environment),
            environment_encryption=key,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            vpc=baseline.vpc if in_vpc else None,
            vpc_subnets=baseline.subnets if in_vpc else None,
            security_groups=[self.security_group] if self.security_group else None,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            dead_letter_queue=self.dead_letter_queue,
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self,
                    "Powertools",
                    POWERTOOLS_LAYER.format(partition=cdk.Stack.of(self).partition, region=cdk.Stack.of(self).region),
                ),
                *(layers or []),
            ],
        )
        if in_vpc:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ManageNetworkInterfacesInTheVpc",
                    actions=[
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:CreateNetworkInterface",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                )
            )
        else:
            for pack in ("NIST.800.53.R5", "HIPAA.Security"):
                acknowledge(
                    self.function,
                    f"{pack}-LambdaInsideVPC",
                    f"This function runs outside the VPC because {outside_vpc}",
                )
        self.log_group.grant_write(self.role)
        # The key decrypts the environment at start-up and encrypts what lands in the dead-letter queue.
        key.grant(self.role, "kms:Decrypt", "kms:GenerateDataKey")
        if reserved_concurrency is None:
            for pack in ("NIST.800.53.R5", "HIPAA.Security"):
                acknowledge(
                    self.function,
                    f"{pack}-LambdaConcurrency",
                    "Reserving concurrency is opt-in: Lambda keeps 100 of the account's concurrency unreserved, so "
                    "a reservation fails the deploy in accounts with a low quota (new accounts often have 10). "
                    f"{concurrency_bound}",
                )
        networking = (
            "Lambda's VPC networking (ec2:CreateNetworkInterface and the other ENI actions, as in the "
            "AWSLambdaVPCAccessExecutionRole managed policy) and "
            if in_vpc
            else ""
        )
        acknowledge(
            self.role.policy,
            "AwsSolutions-IAM5[Resource::*]",
            f"{networking}X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions: "
            f"they need Resource *" + (f"; {wildcard_note}." if wildcard_note else "."),
        )
