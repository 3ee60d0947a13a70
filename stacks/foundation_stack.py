"""The stateful stack: network, encryption and (later) the data the application reads."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from stacks.config import AppConfig
from stacks.constructs.agent_memory import AgentMemory
from stacks.constructs.alerts import Alerts
from stacks.constructs.common import Baseline, data_removal_policy, log_retention
from stacks.constructs.documents import Documents
from stacks.constructs.encryption import Encryption
from stacks.constructs.ingestion import IngestionPipeline
from stacks.constructs.knowledge_base import KnowledgeBase
from stacks.constructs.network import Network
from stacks.constructs.tickets import Tickets
from stacks.constructs.vector_store import vector_store


class FoundationStack(cdk.Stack):
    """Network, key and data (documents, vectors, knowledge base, tickets, agent memory): retained on destroy."""

    def __init__(self, scope: Construct, id_: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, id_, **kwargs)
        self._max_azs = config.network.max_azs
        removal_policy = data_removal_policy(config)
        retention = log_retention(config)

        self.encryption = Encryption(self, "Encryption", removal_policy=removal_policy)
        key = self.encryption.key
        self.alerts = Alerts(
            self,
            "Alerts",
            key=key,
            emails=config.observability.alarm_emails,
            budgets=config.observability.monthly_budget_usd is not None,
        )
        self.network = Network(
            self,
            "Network",
            config=config.network,
            key=key,
            log_retention=retention,
            removal_policy=removal_policy,
        )
        self.baseline = Baseline(
            vpc=self.network.vpc,
            subnets=self.network.workload_subnets,
            key=key,
            log_retention=retention,
            removal_policy=removal_policy,
        )
        self.documents = Documents(
            self,
            "Documents",
            key=key,
            removal_policy=removal_policy,
            access_log_retention=cdk.Duration.days(config.log_retention_days),
            sample_documents=config.knowledge_base.sample_documents,
        )
        self.vector_store = vector_store(
            self, "VectorStore", config=config.knowledge_base, key=key, removal_policy=removal_policy
        )
        self.knowledge_base = KnowledgeBase(
            self,
            "KnowledgeBase",
            config=config.knowledge_base,
            documents=self.documents,
            vector_store=self.vector_store,
            key=key,
        )
        self.tickets = Tickets(self, "Tickets", key=key, removal_policy=removal_policy)
        self.agent_memory = (
            AgentMemory(self, "AgentMemory", days=config.agent.memory_days, key=key, removal_policy=removal_policy)
            if config.agent.memory
            else None
        )
        self.ingestion = IngestionPipeline(
            self,
            "Ingestion",
            config=config.knowledge_base,
            documents=self.documents,
            knowledge_base=self.knowledge_base,
            baseline=self.baseline,
            alerts=self.alerts,
        )

        cdk.CfnOutput(self, "AlarmTopicArn", value=self.alerts.topic.topic_arn)
        cdk.CfnOutput(self, "KnowledgeBaseId", value=self.knowledge_base.knowledge_base_id)
        cdk.CfnOutput(self, "DataSourceId", value=self.knowledge_base.data_source_id)
        cdk.CfnOutput(self, "DocumentsBucketName", value=self.documents.bucket.bucket_name)
        cdk.CfnOutput(
            self,
            "AddDocuments",
            description="How to add documents; the knowledge base syncs within a minute or two",
            value=cdk.Fn.join(
                "", ["aws s3 cp ./my-docs s3://", self.documents.bucket.bucket_name, f"/{Documents.PREFIX} --recursive"]
            ),
        )

    @property
    def availability_zones(self) -> list[str]:
        # Without an account and region, CDK offers only two AZs and a lookup would need credentials;
        # Fn::GetAZs resolves at deploy time in whatever region the stack lands in.
        return [cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(self._max_azs)]
