"""Bedrock model invocation logging for the account and region, to an encrypted log group and bucket."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.constructs.common import RETENTION, Baseline, access_logs_bucket, acknowledge
from stacks.constructs.provider_logs import log_provider
from stacks.constructs.roles import ManagedPolicyRole, service_principal

BEDROCK = "bedrock.amazonaws.com"
# Bedrock writes large payloads under <prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/.
PAYLOADS_PREFIX = "payloads"
# The one stream Bedrock writes to in the log group.
LOG_STREAM = "aws/bedrock/modelinvocations"


class InvocationLogging(Construct):
    """Turns on model invocation logging while the stack exists: text prompts and answers of every model call.

    The setting belongs to the account and region, not to this stack: creating this resource replaces any
    configuration already there, and deleting it turns logging off for everyone.
    """

    def __init__(self, scope: Construct, id_: str, *, baseline: Baseline) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        key, removal_policy = baseline.key, baseline.removal_policy
        days = {retention: days for days, retention in RETENTION.items()}[baseline.log_retention]
        from_bedrock_here = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": stack.format_arn(service="bedrock", resource="*")},
        }

        self.log_group = logs.LogGroup(
            self, "Logs", encryption_key=key, retention=baseline.log_retention, removal_policy=removal_policy
        )
        self.bucket = self._payload_bucket(baseline, days)
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AmazonBedrockLogsWrite",
                principals=[iam.ServicePrincipal(BEDROCK)],
                actions=["s3:PutObject"],
                resources=[
                    self.bucket.arn_for_objects(
                        f"{PAYLOADS_PREFIX}/AWSLogs/{stack.account}/BedrockModelInvocationLogs/*"
                    )
                ],
                conditions=from_bedrock_here,
            )
        )
        # The key lives in the foundation stack: this statement lands in its key policy.
        added = key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockInvocationLogPayloads",
                principals=[iam.ServicePrincipal(BEDROCK)],
                actions=["kms:GenerateDataKey"],
                resources=["*"],
                conditions=from_bedrock_here,
            )
        )
        if not added.statement_added:
            raise ValueError("invocation logging needs a key whose policy this app manages")

        self.role = ManagedPolicyRole(
            self,
            "Role",
            description="Lets Bedrock write model invocation logs to their log group",
            assumed_by=service_principal(
                BEDROCK, source_account=stack.account, source_arn=stack.format_arn(service="bedrock", resource="*")
            ),
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"{self.log_group.log_group_name}:log-stream:{LOG_STREAM}",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )

        self.configuration = self._configuration(baseline, logging_config=self.logging_config())
        self.configuration.node.add_dependency(self.role.policy, self.bucket)

    def logging_config(self) -> dict[str, Any]:
        """The loggingConfig of PutModelInvocationLoggingConfiguration: text to the log group, large bodies to S3."""
        return {
            "cloudWatchConfig": {
                "logGroupName": self.log_group.log_group_name,
                "roleArn": self.role.role_arn,
                "largeDataDeliveryS3Config": {"bucketName": self.bucket.bucket_name, "keyPrefix": PAYLOADS_PREFIX},
            },
            # Every modality is named: the API leaves the defaults unstated, and only text is the app's.
            "textDataDeliveryEnabled": True,
            "imageDataDeliveryEnabled": False,
            "embeddingDataDeliveryEnabled": False,
            "videoDataDeliveryEnabled": False,
            "audioDataDeliveryEnabled": False,
        }

    def _payload_bucket(self, baseline: Baseline, days: int) -> s3.Bucket:
        """The bucket for bodies over 100 KB, access-logged, kept as long as the log group keeps its events."""
        removal_policy = baseline.removal_policy
        destroy = removal_policy == cdk.RemovalPolicy.DESTROY
        # Versioning keeps a payload deleted by hand for a day; Bedrock never overwrites one, and noncurrent
        # versions expire after that day so that nothing outlives the configured retention by more.
        expiry = s3.LifecycleRule(
            expiration=cdk.Duration.days(days),
            noncurrent_version_expiration=cdk.Duration.days(1),
            abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
        )
        access_logs = access_logs_bucket(
            self, "AccessLogs", expiration=cdk.Duration.days(days), removal_policy=removal_policy, never="payloads"
        )
        bucket = s3.Bucket(
            self,
            "Payloads",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=baseline.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # Bedrock's bucket policy takes effect only with ACLs disabled.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{PAYLOADS_PREFIX}/",
            lifecycle_rules=[expiry],
            removal_policy=removal_policy,
            auto_delete_objects=destroy,
        )
        if destroy:
            log_provider(
                self,
                "Custom::S3AutoDeleteObjectsCustomResourceProvider",
                key=baseline.key,
                retention=baseline.log_retention,
                removal_policy=removal_policy,
            )
        no_replication = (
            "Invocation logs are an operational record of this region's model calls, kept for the configured log "
            "retention; copying prompts and answers to another region is a residency decision left to the deployer."
        )
        for pack in ("NIST.800.53.R5", "HIPAA.Security"):
            for each in (access_logs, bucket):
                acknowledge(each, f"{pack}-S3BucketReplicationEnabled", no_replication)
        return bucket

    def _configuration(self, baseline: Baseline, *, logging_config: dict[str, Any]) -> cr.AwsCustomResource:
        """The custom resource that puts the configuration on create and update and deletes it on delete."""
        provider_logs = logs.LogGroup(
            self,
            "ProviderLogs",
            encryption_key=baseline.key,
            retention=baseline.log_retention,
            removal_policy=baseline.removal_policy,
        )
        provider_role = ManagedPolicyRole(
            self,
            "ProviderRole",
            description="Lets the invocation logging custom resource put and delete Bedrock's logging configuration",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        provider_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "bedrock:DeleteModelInvocationLoggingConfiguration",
                    "bedrock:PutModelInvocationLoggingConfiguration",
                ],
                resources=["*"],
            )
        )
        provider_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": BEDROCK}},
            )
        )
        provider_logs.grant_write(provider_role)

        put = cr.AwsSdkCall(
            service="bedrock",
            action="PutModelInvocationLoggingConfiguration",
            parameters={"loggingConfig": logging_config},
            # One configuration per account and region: an update must never look like a replacement, whose
            # clean-up would delete the configuration just put.
            physical_resource_id=cr.PhysicalResourceId.of("ModelInvocationLogging"),
        )
        resource = cr.AwsCustomResource(
            self,
            "Configuration",
            resource_type="Custom::ModelInvocationLogging",
            on_create=put,
            on_update=put,
            on_delete=cr.AwsSdkCall(service="bedrock", action="DeleteModelInvocationLoggingConfiguration"),
            role=provider_role,
            log_group=provider_logs,
            install_latest_aws_sdk=False,
            # One control-plane call: Lambda's smallest size is plenty.
            memory_size=128,
            timeout=cdk.Duration.minutes(1),
        )
        resource.node.add_dependency(provider_role.policy)
        acknowledge(
            provider_role.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "bedrock:PutModelInvocationLoggingConfiguration and bedrock:DeleteModelInvocationLoggingConfiguration act "
            "on the account's one configuration per region and support no resource-level permissions (Service "
            "Authorization Reference): they need Resource *.",
        )
        self._acknowledge_provider_function()
        return resource

    def _acknowledge_provider_function(self) -> None:
        """The AwsCustomResource function runs at deploy time only, outside the VPC, answering CloudFormation."""
        uuid = cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        function = cdk.Stack.of(self).node.find_child(f"AWS{uuid}")
        deploy_time = (
            "CloudFormation invokes this function only when the invocation logging configuration is created, "
            "updated or deleted"
        )
        compliance = ("NIST.800.53.R5", "HIPAA.Security")
        findings = (
            (
                compliance,
                "LambdaInsideVPC",
                f"{deploy_time}; it calls the Bedrock control plane and CloudFormation's pre-signed S3 URL, handles no "
                "prompts or answers, and inside the VPC would need a Bedrock control-plane interface endpoint (about "
                "$7.30 per AZ per month) for a call made at deploy time.",
            ),
            (
                compliance,
                "LambdaConcurrency",
                f"{deploy_time}, once per stack operation: it cannot take a meaningful share of the account's "
                "concurrency, and a reservation fails deploys in accounts with a low quota.",
            ),
            (
                ("Serverless", *compliance),
                "LambdaDLQ",
                f"{deploy_time}; CloudFormation waits for its answer, so a failure fails the stack operation with the "
                "error in this function's log: a queued copy of the event would have nothing to redrive.",
            ),
            (
                ("Serverless",),
                "LambdaTracing",
                f"{deploy_time}, for one Bedrock control-plane call whose request and outcome are in this function's "
                "log and in CloudTrail; tracing would add X-Ray permissions to a role scoped to exactly that call.",
            ),
        )
        for packs, rule, reason in findings:
            for pack in packs:
                acknowledge(function, f"{pack}-{rule}", reason)
