"""Log groups for the functions CDK adds to a stack on its own behalf."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct


def log_provider(
    scope: IConstruct,
    provider_id: str,
    *,
    key: kms.IKey,
    retention: logs.RetentionDays,
    removal_policy: cdk.RemovalPolicy,
) -> logs.LogGroup:
    """Send the stack's CDK custom resource provider `provider_id` to a log group with the key and retention.

    CDK's own providers (the VPC's default security group, S3 auto-delete, ...) are raw `AWS::Lambda::Function`
    resources with no logging property, so Lambda would create `/aws/lambda/<name>` unencrypted and kept forever on
    their first run. Their role holds AWSLambdaBasicExecutionRole, which lets them write to any group.
    """
    provider = cast(Construct, cdk.Stack.of(scope).node.find_child(provider_id))
    existing = provider.node.try_find_child("Logs")
    if existing is not None:
        return cast(logs.LogGroup, existing)
    handler = cast(cdk.CfnResource, provider.node.find_child("Handler"))
    if handler.cfn_resource_type != "AWS::Lambda::Function":
        raise ValueError(f"{provider_id} has no function to log")
    log_group = logs.LogGroup(provider, "Logs", encryption_key=key, retention=retention, removal_policy=removal_policy)
    handler.add_property_override("LoggingConfig.LogGroup", log_group.log_group_name)
    return log_group
