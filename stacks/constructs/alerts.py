"""Where the app's alarms go."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


class Alerts(Construct):
    """An encrypted SNS topic that every alarm notifies: subscribe an email or a chat channel to it."""

    def __init__(self, scope: Construct, id_: str, *, key: kms.IKey) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.topic = sns.Topic(
            self, "Topic", display_name=f"{stack.stack_name} alarms", master_key=key, enforce_ssl=True
        )
        # A topic policy replaces SNS's default one: without this statement the SSL-only policy CDK writes
        # would leave no principal allowed to publish, and alarms would fail to notify.
        alarms = stack.format_arn(
            service="cloudwatch", resource="alarm", resource_name="*", arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}, "ArnLike": {"aws:SourceArn": alarms}},
            )
        )
        # SNS encrypts what CloudWatch publishes with the key, naming the topic in the encryption context. The
        # topic's own ARN would make the key and the topic depend on each other; CloudFormation names the topic
        # after its stack, so the pattern covers this stack's topics only.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToNotify",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:sns:topicArn": stack.format_arn(
                            service="sns", resource=f"{stack.stack_name}-*"
                        )
                    }
                },
            )
        )

    def notify_on(self, alarm: cloudwatch.Alarm) -> None:
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
