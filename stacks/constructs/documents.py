"""The documents bucket that the knowledge base answers from."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.constructs.common import RETENTION, access_logs_bucket, acknowledge
from stacks.constructs.provider_logs import log_provider

SAMPLE_DOCS = Path(__file__).resolve().parents[2] / "sample-docs"


class Documents(Construct):
    """A versioned, KMS-encrypted, access-logged bucket; the knowledge base reads `documents/`."""

    PREFIX = "documents/"

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
        access_log_retention: cdk.Duration,
        sample_documents: bool,
    ) -> None:
        super().__init__(scope, id_)
        destroy = removal_policy == cdk.RemovalPolicy.DESTROY
        self.access_logs = access_logs_bucket(
            self,
            "AccessLogs",
            expiration=access_log_retention,
            removal_policy=removal_policy,
            never="document content",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="documents/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=cdk.Duration.days(90),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            removal_policy=removal_policy,
            auto_delete_objects=destroy,
        )

        if destroy:
            log_provider(
                self,
                "Custom::S3AutoDeleteObjectsCustomResourceProvider",
                key=key,
                retention=RETENTION[int(access_log_retention.to_days())],
                removal_policy=removal_policy,
            )

        # Object events go to EventBridge natively: CDK's event_bridge_enabled would add a custom resource.
        cfn_bucket = cast(s3.CfnBucket, self.bucket.node.default_child)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )
        no_replication = (
            "Cross-region replication is a residency and cost decision this stack leaves to the deployer; "
            "versioning, 90-day noncurrent retention and RETAIN on destroy protect the data in its region."
        )
        for pack in ("NIST.800.53.R5", "HIPAA.Security"):
            for bucket in (self.access_logs, self.bucket):
                acknowledge(bucket, f"{pack}-S3BucketReplicationEnabled", no_replication)

        self.sample_documents = (
            s3_assets.Asset(self, "SampleDocuments", path=str(SAMPLE_DOCS)) if sample_documents else None
        )

    def objects_arn(self) -> str:
        """The ARN pattern of every object the knowledge base reads."""
        return self.bucket.arn_for_objects(f"{self.PREFIX}*")
