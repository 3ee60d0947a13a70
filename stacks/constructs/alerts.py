"""Where the app's alarms and its budget's alerts go."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.constructs.common import acknowledge


class Alerts(Construct):
    """An encrypted SNS topic that every alarm and the budget notify: subscribe an email or a chat channel to it."""

    def __init__(
        self, scope: Construct, id_: str, *, key: kms.IKey, emails: Sequence[str] = (), budgets: bool = False
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self._key = key
        self.topic = sns.Topic(
            self, "Topic", display_name=f"{stack.stack_name} alarms", master_key=key, enforce_ssl=True
        )
        # A topic policy replaces SNS's default one: without this statement the SSL-only policy CDK writes
        # would leave no principal allowed to publish, and alarms would fail to notify.
        alarms = stack.format_arn(
            service="cloudwatch", resource="alarm", resource_name="*", arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
        )
        self._allow_publisher("Alarms", "cloudwatch.amazonaws.com", alarms)
        if budgets:
            # AWS Budgets is global: its budgets' ARNs carry no region (Cost Management guide, budgets-sns-policy).
            self._allow_publisher(
                "Budgets", "budgets.amazonaws.com", stack.format_arn(service="budgets", region="", resource="*")
            )
        for email in emails:
            subscription = self.topic.add_subscription(subscriptions.EmailSubscription(email))
            acknowledge(
                subscription,
                "Serverless-SNSRedrivePolicy",
                "A dead-letter queue of undelivered alerts could only be announced through this same topic; every "
                "alarm's state and history stay in CloudWatch (and on the dashboard) whether or not the mail arrives.",
            )

    def _allow_publisher(self, name: str, service: str, sources: str) -> None:
        """Let `service` publish for this account's `sources` only, and encrypt what it publishes with the key."""
        stack = cdk.Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AllowThisAccounts{name}ToPublish",
                principals=[iam.ServicePrincipal(service)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": sources},
                },
            )
        )
        # SNS encrypts what the service publishes with the key, naming the topic in the encryption context. The
        # topic's own ARN would make the key and the topic depend on each other; CloudFormation names the topic
        # after its stack, so the pattern covers this stack's topics only.
        self._key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"Allow{name}ToNotify",
                principals=[iam.ServicePrincipal(service)],
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

    def alarm_on_any(
        self, scope: Construct, id_: str, metric: cloudwatch.IMetric, description: str
    ) -> cloudwatch.Alarm:
        """An alarm on the topic as soon as `metric` counts one in a period; no data is no trouble."""
        alarm = cloudwatch.Alarm(
            scope,
            id_,
            alarm_description=description,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.notify_on(alarm)
        return alarm
