"""Translations from validated config values to CDK values, shared by the constructs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from stacks.config import AppConfig

RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """What every workload builds on: the private subnets, the project key, log retention, removal policy."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    key: kms.IKey
    log_retention: logs.RetentionDays
    removal_policy: cdk.RemovalPolicy


def log_retention(config: AppConfig) -> logs.RetentionDays:
    return RETENTION[config.log_retention_days]


def data_removal_policy(config: AppConfig) -> cdk.RemovalPolicy:
    """What `cdk destroy` does to stateful resources: keep them unless the deployer said otherwise."""
    return cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding, e.g. `AwsSolutions-IAM5[Resource::*]`, on the resource behind `construct`."""
    target = construct.node.default_child or construct
    pack = finding.split("-", 1)[0]
    cdk.Validations.of(target).acknowledge(cdk.Acknowledgment(id=f"{pack}::{finding}", reason=reason))


def acknowledge_wildcard(construct: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for one wildcard resource of a policy, named as cdk-nag names it.

    cdk-nag writes the resolved ARN into the finding's id (`<AWS::Region>` while the environment is agnostic,
    `eu-west-1` once it is pinned), so the id is rendered from the same value the policy holds.
    """
    acknowledge(construct, f"AwsSolutions-IAM5[Resource::{nag_resource(construct, resource)}]", reason)


def nag_resource(scope: IConstruct, value: str) -> str:
    """A resource value as cdk-nag prints it: pseudo parameters and references as <Name>, attributes <Id.Attr>."""
    return _render(cdk.Stack.of(scope).resolve(value))


def _render(node: Any) -> str:
    if isinstance(node, str):
        return node
    if "Ref" in node:
        return f"<{node['Ref']}>"
    if "Fn::GetAtt" in node:
        resource, attribute = node["Fn::GetAtt"]
        return f"<{resource}.{attribute}>"
    if "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return str(separator).join(_render(part) for part in parts)
    raise ValueError(f"cannot name {node} as cdk-nag does")


def logical_id(construct: IConstruct) -> str:
    """The logical ID of the resource behind `construct`, as cdk-nag names it in a finding."""
    resource = cast(cdk.CfnElement, construct.node.default_child)
    return cdk.Stack.of(construct).get_logical_id(resource)


def dead_letter_queue(scope: Construct, id_: str, *, key: kms.IKey, holds: str) -> sqs.Queue:
    """A KMS-encrypted, SSL-only queue that keeps failed messages 14 days for inspection and redrive."""
    queue = sqs.Queue(
        scope,
        id_,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    acknowledge(
        queue,
        "Serverless-SQSRedrivePolicy",
        f"This is the dead-letter queue of {holds}; its messages are inspected and redriven by hand, "
        "not moved on to a further queue.",
    )
    return queue


def access_logs_bucket(
    scope: Construct, id_: str, *, expiration: cdk.Duration, removal_policy: cdk.RemovalPolicy, never: str
) -> s3.Bucket:
    """A bucket for S3 server access logs: private, SSL-only, versioned, expiring after `expiration`.

    S3 delivers server access logs only to buckets encrypted with S3-managed keys, so this is the one bucket
    without the project key; `never` says what the logs of the bucket it serves can never hold.
    """
    bucket = s3.Bucket(
        scope,
        id_,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        lifecycle_rules=[s3.LifecycleRule(expiration=expiration, noncurrent_version_expiration=cdk.Duration.days(1))],
        removal_policy=removal_policy,
        auto_delete_objects=removal_policy == cdk.RemovalPolicy.DESTROY,
    )
    for pack in ("NIST.800.53.R5", "HIPAA.Security"):
        acknowledge(
            bucket,
            f"{pack}-S3DefaultEncryptionKMS",
            "S3 server access logging delivers only to target buckets whose default encryption is SSE-S3 "
            f"(SSE-KMS targets are not supported); the logs hold request metadata, never {never}.",
        )
    return bucket


def digest(settings: Any, length: int = 10) -> str:
    """A short, stable digest of JSON-able settings: it changes exactly when they do."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:length]
