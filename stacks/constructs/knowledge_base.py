"""The Bedrock knowledge base over the documents bucket, and its data source."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.config import ChunkingConfig, KnowledgeBaseConfig
from stacks.constructs.common import acknowledge_wildcard, digest
from stacks.constructs.documents import Documents
from stacks.constructs.models import model_arn
from stacks.constructs.roles import ManagedPolicyRole, service_principal
from stacks.constructs.vector_store import VectorStore


class KnowledgeBase(Construct):
    """A vector knowledge base that embeds `documents/` with the configured model and chunking."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: KnowledgeBaseConfig,
        documents: Documents,
        vector_store: VectorStore,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.embedding_model_arn = model_arn(self, config.embedding_model, inference_profile="none")
        self.role = ManagedPolicyRole(
            self,
            "Role",
            description="Service role of the Bedrock knowledge base: embed the documents, write the vectors",
            assumed_by=service_principal(
                "bedrock.amazonaws.com",
                source_account=stack.account,
                source_arn=stack.format_arn(service="bedrock", resource="knowledge-base", resource_name="*"),
            ),
        )
        self._grant(documents, key)
        vector_store_ready = vector_store.grant_read_write(self.role)

        self.knowledge_base = bedrock.CfnKnowledgeBase(
            self,
            "Resource",
            name=f"{stack.stack_name}-documents",
            description=f"Answers from the documents under s3://<documents bucket>/{Documents.PREFIX}",
            role_arn=self.role.role_arn,
            knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
                type="VECTOR",
                vector_knowledge_base_configuration=bedrock.CfnKnowledgeBase.VectorKnowledgeBaseConfigurationProperty(
                    embedding_model_arn=self.embedding_model_arn,
                    embedding_model_configuration=bedrock.CfnKnowledgeBase.EmbeddingModelConfigurationProperty(
                        bedrock_embedding_model_configuration=bedrock.CfnKnowledgeBase.BedrockEmbeddingModelConfigurationProperty(
                            dimensions=config.embedding_dimensions, embedding_data_type="FLOAT32"
                        )
                    ),
                ),
            ),
            storage_configuration=vector_store.storage_configuration,
        )
        # Bedrock checks the role's access to the model and the vector store when it creates the knowledge base.
        self.knowledge_base.node.add_dependency(self.role, *vector_store_ready)

        # Chunking can only change by replacing the data source; CloudFormation creates the new one before it
        # deletes the old, so the name follows the chunking settings and the two never clash.
        self.data_source = bedrock.CfnDataSource(
            self,
            "DataSource",
            knowledge_base_id=self.knowledge_base.attr_knowledge_base_id,
            name=f"documents-{digest(asdict(config.chunking), 8)}",
            description=f"The {Documents.PREFIX} prefix of the documents bucket",
            data_deletion_policy=config.data_deletion_policy.upper(),
            data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
                type="S3",
                s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(
                    bucket_arn=documents.bucket.bucket_arn,
                    inclusion_prefixes=[Documents.PREFIX],
                ),
            ),
            server_side_encryption_configuration=bedrock.CfnDataSource.ServerSideEncryptionConfigurationProperty(
                kms_key_arn=key.key_arn
            ),
            vector_ingestion_configuration=bedrock.CfnDataSource.VectorIngestionConfigurationProperty(
                chunking_configuration=chunking_configuration(config.chunking)
            ),
        )

        self.knowledge_base_id = self.knowledge_base.attr_knowledge_base_id
        self.knowledge_base_arn = self.knowledge_base.attr_knowledge_base_arn
        self.data_source_id = self.data_source.attr_data_source_id

    def grant_retrieve(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` search the knowledge base (Retrieve)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:Retrieve"], resource_arns=[self.knowledge_base_arn]
        )

    def grant_sync_status(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` read the knowledge base's ingestion jobs."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:ListIngestionJobs"], resource_arns=[self.knowledge_base_arn]
        )

    def grant_sync(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` start ingestion jobs and read them."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["bedrock:ListIngestionJobs", "bedrock:StartIngestionJob"],
            resource_arns=[self.knowledge_base_arn],
        )

    def _grant(self, documents: Documents, key: kms.IKey) -> None:
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeTheEmbeddingModel",
                actions=["bedrock:InvokeModel"],
                resources=[self.embedding_model_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListTheDocumentsPrefix",
                actions=["s3:ListBucket"],
                resources=[documents.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{Documents.PREFIX}*"]}},
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(sid="ReadTheDocuments", actions=["s3:GetObject"], resources=[documents.objects_arn()])
        )
        # Decrypt the documents; encrypt the transient data of ingestion jobs with the same key.
        key.grant(self.role, "kms:Decrypt", "kms:GenerateDataKey")
        acknowledge_wildcard(
            self.role.policy,
            documents.objects_arn(),
            f"The knowledge base reads every object under the {Documents.PREFIX} prefix it indexes; object keys are "
            "chosen by whoever uploads documents, so the grant names the prefix, not single objects.",
        )


def chunking_configuration(chunking: ChunkingConfig) -> bedrock.CfnDataSource.ChunkingConfigurationProperty:
    """The data source's chunking settings for the configured strategy."""
    settings: dict[str, Any] = {}
    if chunking.strategy == "fixed":
        settings["fixed_size_chunking_configuration"] = bedrock.CfnDataSource.FixedSizeChunkingConfigurationProperty(
            max_tokens=chunking.max_tokens, overlap_percentage=chunking.overlap_percentage
        )
    elif chunking.strategy == "hierarchical":
        levels = [
            bedrock.CfnDataSource.HierarchicalChunkingLevelConfigurationProperty(max_tokens=tokens)
            for tokens in (chunking.parent_max_tokens, chunking.child_max_tokens)
        ]
        settings["hierarchical_chunking_configuration"] = (
            bedrock.CfnDataSource.HierarchicalChunkingConfigurationProperty(
                level_configurations=levels, overlap_tokens=chunking.overlap_tokens
            )
        )
    elif chunking.strategy == "semantic":
        settings["semantic_chunking_configuration"] = bedrock.CfnDataSource.SemanticChunkingConfigurationProperty(
            max_tokens=chunking.max_tokens,
            buffer_size=chunking.buffer_size,
            breakpoint_percentile_threshold=chunking.breakpoint_percentile,
        )
    strategy = {"fixed": "FIXED_SIZE"}.get(chunking.strategy, chunking.strategy.upper())
    return bedrock.CfnDataSource.ChunkingConfigurationProperty(chunking_strategy=strategy, **settings)
