"""A Python Lambda function the way this project runs them: in the VPC, traced, encrypted, least privilege."""

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
    """One Python function from `lambda/<package>/`, running in the VPC's private subnets."""

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
    ) -> None:
        super().__init__(scope, id_)
        vpc, key = baseline.vpc, baseline.key
        self.role = ManagedPolicyRole(
            self,
            "Role",
            description=description,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.log_group = logs.LogGroup(
            self, "Logs", encryption_key=key, retention=baseline.log_retention, removal_policy=baseline.removal_policy
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
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
            vpc=vpc,
            vpc_subnets=baseline.subnets,
            security_groups=[self.security_group],
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
        self.log_group.grant_write(self.role)
        # The key decrypts the environment at start-up and encrypts what lands in the dead-letter queue.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )
        if reserved_concurrency is None:
            for pack in ("NIST.800.53.R5", "HIPAA.Security"):
                acknowledge(
                    self.function,
                    f"{pack}-LambdaConcurrency",
                    "Reserving concurrency is opt-in: Lambda keeps 100 of the account's concurrency unreserved, so "
                    "a reservation fails the deploy in accounts with a low quota (new accounts often have 10). "
                    f"{concurrency_bound}",
                )
        acknowledge(
            self.role.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Lambda's VPC networking (ec2:CreateNetworkInterface and the other ENI actions, as in the "
            "AWSLambdaVPCAccessExecutionRole managed policy) and X-Ray's PutTraceSegments/PutTelemetryRecords "
            "support no resource-level permissions: they need Resource *"
            + (f"; {wildcard_note}." if wildcard_note else "."),
        )
