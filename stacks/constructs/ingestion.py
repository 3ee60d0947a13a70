"""Keeps the knowledge base in sync with its bucket: S3 events → SQS → one ingestion job at a time."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from stacks.config import KnowledgeBaseConfig
from stacks.constructs.alerts import Alerts
from stacks.constructs.common import Baseline, acknowledge, acknowledge_wildcard, dead_letter_queue, digest
from stacks.constructs.documents import Documents
from stacks.constructs.function import VpcFunction
from stacks.constructs.knowledge_base import KnowledgeBase
from stacks.constructs.observability import function_alarms

FUNCTION_TIMEOUT = cdk.Duration.minutes(2)
# Bedrock sends no event when an ingestion job ends: a schedule makes the function count the jobs that ended in
# the window before it (lambda/ingestion/outcomes.py). The window divides the hour, as the function requires.
OUTCOME_WINDOW_MINUTES = 15
# The dimension of the function's EMF metrics (Powertools adds it from POWERTOOLS_SERVICE_NAME).
SERVICE = "genai-ingestion"
# Lambda's minimum for an SQS event source's maximum concurrency; ingestion jobs run one at a time anyway.
MAX_CONCURRENCY = 2
# Why the function runs outside the VPC (the nag acknowledgement); there it needs no bedrock-agent endpoint.
OUTSIDE_VPC = (
    "it handles no customer data: it starts and lists ingestion jobs named by S3 object keys, copies the "
    "repository's own sample documents and counts job outcomes, while Bedrock reads the documents from S3 itself."
)


class IngestionPipeline(Construct):
    """Starts an ingestion job for every batch of document changes, and once on deploy."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: KnowledgeBaseConfig,
        documents: Documents,
        knowledge_base: KnowledgeBase,
        baseline: Baseline,
        alerts: Alerts,
    ) -> None:
        super().__init__(scope, id_)
        key = baseline.key
        # The namespace of the function's EMF metrics: its stack's name, as the API's functions use theirs.
        self.metrics_namespace = cdk.Stack.of(self).stack_name
        self.dead_letter_queue = dead_letter_queue(
            self, "DeadLetterQueue", key=key, holds="the ingestion queue and of the EventBridge rule (the alarm below)"
        )
        # A change waits while a job runs: it returns after the visibility timeout, up to max_receives times.
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(FUNCTION_TIMEOUT.to_seconds() * 6),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=config.ingestion_max_receives
            ),
        )

        # Named, so that the key policy can name it without referring to it (see EncryptedQueueTarget).
        rule_name = f"{cdk.Stack.of(self).stack_name}-document-changes"
        rule = events.Rule(
            self,
            "DocumentChanges",
            rule_name=rule_name,
            description=f"Object changes under {Documents.PREFIX} in the documents bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created", "Object Deleted"],
                detail={
                    "bucket": {"name": [documents.bucket.bucket_name]},
                    "object": {"key": [{"prefix": Documents.PREFIX}]},
                },
            ),
        )
        rule.add_target(
            EncryptedQueueTarget(
                self.queue, key, rule_name=rule_name, dead_letter_queue=self.dead_letter_queue, retries=10
            )
        )
        self.function = VpcFunction(
            self,
            "Function",
            package="ingestion",
            description="Starts a knowledge base ingestion job for a batch of document changes",
            baseline=baseline,
            environment={
                "KNOWLEDGE_BASE_ID": knowledge_base.knowledge_base_id,
                "DATA_SOURCE_ID": knowledge_base.data_source_id,
                "OUTCOME_WINDOW_MINUTES": str(OUTCOME_WINDOW_MINUTES),
                "POWERTOOLS_SERVICE_NAME": SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": self.metrics_namespace,
            },
            timeout=FUNCTION_TIMEOUT,
            concurrency_bound=f"Its queue's event source mapping runs at most {MAX_CONCURRENCY} at a time.",
            outside_vpc=OUTSIDE_VPC,
        )
        knowledge_base.grant_sync(self.function.role)
        self.queue.grant_consume_messages(self.function.role)
        event_source = self.function.function.add_event_source_mapping(
            "DocumentChanges",
            event_source_arn=self.queue.queue_arn,
            batch_size=1000,
            max_batching_window=cdk.Duration.seconds(config.ingestion_batch_window_seconds),
            report_batch_item_failures=True,
            max_concurrency=MAX_CONCURRENCY,
        )
        acknowledge(
            event_source,
            "Serverless-LambdaEventSourceMappingDestination",
            "Lambda supports on-failure destinations for stream and Kafka event sources, not for SQS: a change that "
            "keeps failing moves to the queue's redrive dead-letter queue, which has an alarm.",
        )

        # The first sync on deploy (after seeding the sample documents, when enabled); a change to the
        # embedding or chunking settings syncs again, since it changes every vector.
        properties: dict[str, Any] = {
            "KnowledgeBaseId": knowledge_base.knowledge_base_id,
            "DataSourceId": knowledge_base.data_source_id,
            "Revision": _revision(config),
        }
        if documents.sample_documents is not None:
            properties["SampleDocuments"] = self._seed(documents, documents.sample_documents, key)
        self.initial_sync = cdk.CustomResource(
            self,
            "InitialSync",
            service_token=self.function.function.function_arn,
            resource_type="Custom::KnowledgeBaseSync",
            properties=properties,
            # A reply lost on the way to CloudFormation fails the deploy in minutes, not the default hour.
            service_timeout=cdk.Duration.minutes(10),
        )

        self._publish_outcomes(knowledge_base)

        self.alarm = alerts.alarm_on_any(
            self,
            "DeadLettersAlarm",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(5)),
            f"Document changes failed to sync after {config.ingestion_max_receives} attempts; "
            "see the ingestion function's logs, then redrive the dead-letter queue",
        )
        self.failed_jobs_alarm = alerts.alarm_on_any(
            self,
            "FailedJobsAlarm",
            self.metric_outcome("IngestionJobsFailed"),
            "An ingestion job failed, so some document changes are not searchable; read the ingestion function's "
            "'Ingestion job failed' log lines for the reasons, fix the documents, then upload them again",
        )
        self.function_alarms = function_alarms(self.function, alerts, "Ingestion")

    def metric_outcome(self, name: str) -> cloudwatch.Metric:
        """One of the job-outcome counts the function publishes per window (outcomes.py), summed over the window."""
        return cloudwatch.Metric(
            namespace=self.metrics_namespace,
            metric_name=name,
            dimensions_map={"service": SERVICE},
            statistic=cloudwatch.Stats.SUM,
            period=cdk.Duration.minutes(OUTCOME_WINDOW_MINUTES),
        )

    def _publish_outcomes(self, knowledge_base: KnowledgeBase) -> None:
        """Every window, the function reads how the jobs of the window before ended and publishes the counts."""
        schedule = events.Rule(
            self,
            "JobOutcomes",
            description=f"Counts the ingestion jobs that ended in the last {OUTCOME_WINDOW_MINUTES} minutes",
            schedule=events.Schedule.cron(minute=f"0/{OUTCOME_WINDOW_MINUTES}"),
        )
        function = self.function.function
        # The permission the Lambda target would add names the rule only; under the id it looks for, this one
        # names the account too.
        function.add_permission(
            f"AllowEventRule{cdk.Names.node_unique_id(function.node)}",
            scope=schedule,
            principal=iam.ServicePrincipal("events.amazonaws.com"),
            source_arn=schedule.rule_arn,
            source_account=cdk.Stack.of(self).account,
        )
        # An event that cannot be delivered, or whose count keeps failing after Lambda's retries, is kept in the
        # function's dead-letter queue; the function's errors alarm reports the failures.
        schedule.add_target(
            targets.LambdaFunction(function, dead_letter_queue=self.function.dead_letter_queue, retry_attempts=2)
        )
        iam.Grant.add_to_principal(
            grantee=self.function.role,
            actions=["bedrock:GetIngestionJob"],
            resource_arns=[knowledge_base.knowledge_base_arn],
        )

    def _seed(self, documents: Documents, samples: s3_assets.Asset, key: kms.IKey) -> dict[str, str]:
        """Let the function copy the sample documents' archive into the bucket; returns the resource property."""
        prefix = f"{Documents.PREFIX}samples/"
        role = self.function.role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheSampleDocumentsArchive",
                actions=["s3:GetObject"],
                resources=[samples.bucket.arn_for_objects(samples.s3_object_key)],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteTheSampleDocuments",
                actions=["s3:PutObject"],
                resources=[documents.bucket.arn_for_objects(f"{prefix}*")],
            )
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[key.key_arn]))
        acknowledge_wildcard(
            role.policy,
            documents.bucket.arn_for_objects(f"{prefix}*"),
            f"The function writes the sample documents, whose names come from the sample-docs folder, under "
            f"{prefix} only; it may not write anywhere else in the bucket.",
        )
        return {
            "SourceBucket": samples.s3_bucket_name,
            "SourceKey": samples.s3_object_key,
            "Bucket": documents.bucket.bucket_name,
            "Prefix": prefix,
        }


def _revision(config: KnowledgeBaseConfig) -> str:
    settings = {"chunking": asdict(config.chunking), "model": config.embedding_model}
    return digest(settings, 16)


@jsii.implements(events.IRuleTarget)
class EncryptedQueueTarget:
    """An SQS queue encrypted with the project key as a rule's target: EventBridge may use the key for that rule only.

    CDK's SqsQueue target grants EventBridge the key for the whole account (aws:SourceAccount only), because a
    reference to the rule in the key policy would be a dependency cycle (key, queue, rule). A rule with an explicit
    name has a known ARN: the key policy names it without referring to it.
    """

    def __init__(
        self, queue: sqs.IQueue, key: kms.IKey, *, rule_name: str, dead_letter_queue: sqs.IQueue, retries: int
    ) -> None:
        self._queue, self._key, self._rule_name = queue, key, rule_name
        self._dead_letters, self._retries = dead_letter_queue, retries

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        stack = cdk.Stack.of(rule)
        principal = iam.ServicePrincipal("events.amazonaws.com")
        for queue in (self._queue, self._dead_letters):
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"SendFrom{cdk.Names.node_unique_id(rule.node)}"[:64],
                    actions=["sqs:SendMessage"],
                    principals=[principal],
                    resources=[queue.queue_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": rule.rule_ref.rule_arn}},
                )
            )
        rule_arn = stack.format_arn(service="events", resource="rule", resource_name=self._rule_name)
        self._key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AllowEventBridgeRule{cdk.Names.node_unique_id(rule.node)}"[:64],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                principals=[principal],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": rule_arn},
                },
            )
        )
        return events.RuleTargetConfig(
            arn=self._queue.queue_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._dead_letters.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(maximum_retry_attempts=self._retries),
        )
