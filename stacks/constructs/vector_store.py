"""Where the knowledge base keeps its embeddings: S3 Vectors (default) or OpenSearch Serverless."""

from __future__ import annotations

import json
from typing import Protocol

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct, IConstruct

from stacks.config import KnowledgeBaseConfig

# The metadata Bedrock writes with every vector: the chunk text and its source. S3 Vectors caps filterable
# metadata at 2 KB per vector, so these two must be non-filterable or ingestion of longer chunks fails.
BEDROCK_TEXT_FIELD = "AMAZON_BEDROCK_TEXT"
BEDROCK_METADATA_FIELD = "AMAZON_BEDROCK_METADATA"
# The OpenSearch field names Bedrock's own quick-create uses.
OPENSEARCH_VECTOR_FIELD = "bedrock-knowledge-base-default-vector"
OPENSEARCH_TEXT_FIELD = "AMAZON_BEDROCK_TEXT_CHUNK"
OPENSEARCH_INDEX_NAME = "bedrock-knowledge-base-default-index"


class VectorStore(Protocol):
    """What the knowledge base needs from a vector store."""

    @property
    def storage_configuration(self) -> bedrock.CfnKnowledgeBase.StorageConfigurationProperty: ...

    def grant_read_write(self, role: iam.IRole) -> list[IConstruct]:
        """Let `role` read and write vectors; returns what must exist before the knowledge base is created."""
        ...


def vector_store(
    scope: Construct, id_: str, *, config: KnowledgeBaseConfig, key: kms.IKey, removal_policy: cdk.RemovalPolicy
) -> VectorStore:
    if config.vector_store == "opensearch":
        return OpenSearchVectorStore(scope, id_, config=config, key=key, removal_policy=removal_policy)
    return S3VectorStore(scope, id_, config=config, key=key, removal_policy=removal_policy)


class S3VectorStore(Construct):
    """An S3 vector bucket and index, encrypted with the project key: no cost while idle."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: KnowledgeBaseConfig,
        key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, id_)
        self._key = key
        self.bucket = s3vectors.CfnVectorBucket(
            self,
            "Bucket",
            encryption_configuration=s3vectors.CfnVectorBucket.EncryptionConfigurationProperty(
                sse_type="aws:kms", kms_key_arn=key.key_arn
            ),
        )
        self.index = s3vectors.CfnIndex(
            self,
            "Index",
            vector_bucket_arn=self.bucket.attr_vector_bucket_arn,
            data_type="float32",
            dimension=config.embedding_dimensions,
            distance_metric="cosine",
            metadata_configuration=s3vectors.CfnIndex.MetadataConfigurationProperty(
                non_filterable_metadata_keys=[BEDROCK_TEXT_FIELD, BEDROCK_METADATA_FIELD]
            ),
            encryption_configuration=s3vectors.CfnIndex.EncryptionConfigurationProperty(
                sse_type="aws:kms", kms_key_arn=key.key_arn
            ),
        )
        for resource in (self.bucket, self.index):
            resource.apply_removal_policy(removal_policy)

        stack = cdk.Stack.of(self)
        # S3 Vectors maintains indexes in the background as its own service principal, which needs the key.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowS3VectorsIndexingForThisAccount",
                principals=[iam.ServicePrincipal("indexing.s3vectors.amazonaws.com")],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(service="s3vectors", resource="bucket", resource_name="*")
                    },
                },
            )
        )

    @property
    def storage_configuration(self) -> bedrock.CfnKnowledgeBase.StorageConfigurationProperty:
        return bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="S3_VECTORS",
            s3_vectors_configuration=bedrock.CfnKnowledgeBase.S3VectorsConfigurationProperty(
                index_arn=self.index.attr_index_arn
            ),
        )

    def grant_read_write(self, role: iam.IRole) -> list[IConstruct]:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadWriteKnowledgeBaseVectors",
                actions=[
                    "s3vectors:DeleteVectors",
                    "s3vectors:GetIndex",
                    "s3vectors:GetVectors",
                    "s3vectors:PutVectors",
                    "s3vectors:QueryVectors",
                ],
                resources=[self.index.attr_index_arn],
            )
        )
        self._key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        return [self.index]


class OpenSearchVectorStore(Construct):
    """An OpenSearch Serverless vector collection and index, for hybrid search at an hourly cost."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: KnowledgeBaseConfig,
        key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        # OpenSearch Serverless addresses collections by name in its policies, so the names are physical;
        # they derive from the stack name to stay unique per deployment (policy names: at most 32 characters).
        self.collection_name = stack.stack_name.lower()[:25]
        collection_rule = {"ResourceType": "collection", "Resource": [f"collection/{self.collection_name}"]}

        encryption = aoss.CfnSecurityPolicy(
            self,
            "EncryptionPolicy",
            name=f"{self.collection_name}-enc",
            type="encryption",
            description="Encrypts the knowledge base collection with the project key",
            policy=stack.to_json_string({"Rules": [collection_rule], "AWSOwnedKey": False, "KmsARN": key.key_arn}),
        )
        # The endpoint answers only SigV4-signed requests from principals in the data-access policies below.
        # It stays public because CloudFormation creates the index through it from outside the VPC.
        network = aoss.CfnSecurityPolicy(
            self,
            "NetworkPolicy",
            name=f"{self.collection_name}-net",
            type="network",
            description="Collection endpoint reachable with IAM authentication; no dashboards",
            policy=json.dumps([{"Rules": [collection_rule], "AllowFromPublic": True}]),
        )
        self.collection = aoss.CfnCollection(
            self,
            "Collection",
            name=self.collection_name,
            type="VECTORSEARCH",
            description="Vectors of the Bedrock knowledge base",
            standby_replicas="ENABLED" if config.opensearch_standby_replicas else "DISABLED",
        )
        self.collection.add_dependency(encryption)
        self.collection.add_dependency(network)
        self.collection.apply_removal_policy(removal_policy)

        deployer = self._data_access_policy(
            "DeployerAccess",
            "deploy",
            _deployer_role_arn(stack),
            ["aoss:CreateIndex", "aoss:DeleteIndex", "aoss:UpdateIndex"],
        )
        # Not "Index": switching vector stores must replace the S3 Vectors index, not update it in place.
        self.index = aoss.CfnIndex(
            self,
            "VectorIndex",
            collection_endpoint=self.collection.attr_collection_endpoint,
            index_name=OPENSEARCH_INDEX_NAME,
            settings=aoss.CfnIndex.IndexSettingsProperty(
                index=aoss.CfnIndex.IndexProperty(knn=True, knn_algo_param_ef_search=512)
            ),
            mappings=aoss.CfnIndex.MappingsProperty(
                properties={
                    OPENSEARCH_VECTOR_FIELD: aoss.CfnIndex.PropertyMappingProperty(
                        type="knn_vector",
                        dimension=config.embedding_dimensions,
                        method=aoss.CfnIndex.MethodProperty(
                            engine="faiss",
                            name="hnsw",
                            space_type="l2",
                            parameters=aoss.CfnIndex.ParametersProperty(m=16, ef_construction=512),
                        ),
                    ),
                    OPENSEARCH_TEXT_FIELD: aoss.CfnIndex.PropertyMappingProperty(type="text", index=True),
                    BEDROCK_METADATA_FIELD: aoss.CfnIndex.PropertyMappingProperty(type="text", index=False),
                }
            ),
        )
        self.index.add_dependency(deployer)
        self.index.apply_removal_policy(removal_policy)

    def _data_access_policy(
        self, id_: str, suffix: str, principal_arn: str, index_permissions: list[str]
    ) -> aoss.CfnAccessPolicy:
        stack = cdk.Stack.of(self)
        rules = [
            {
                "ResourceType": "collection",
                "Resource": [f"collection/{self.collection_name}"],
                "Permission": ["aoss:DescribeCollectionItems"],
            },
            {
                "ResourceType": "index",
                "Resource": [f"index/{self.collection_name}/*"],
                "Permission": ["aoss:DescribeIndex", *index_permissions],
            },
        ]
        return aoss.CfnAccessPolicy(
            self,
            id_,
            name=f"{self.collection_name}-{suffix}",
            type="data",
            description=f"Data access to the knowledge base collection: {suffix}",
            policy=stack.to_json_string([{"Rules": rules, "Principal": [principal_arn]}]),
        )

    @property
    def storage_configuration(self) -> bedrock.CfnKnowledgeBase.StorageConfigurationProperty:
        return bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="OPENSEARCH_SERVERLESS",
            opensearch_serverless_configuration=bedrock.CfnKnowledgeBase.OpenSearchServerlessConfigurationProperty(
                collection_arn=self.collection.attr_arn,
                vector_index_name=OPENSEARCH_INDEX_NAME,
                field_mapping=bedrock.CfnKnowledgeBase.OpenSearchServerlessFieldMappingProperty(
                    vector_field=OPENSEARCH_VECTOR_FIELD,
                    text_field=OPENSEARCH_TEXT_FIELD,
                    metadata_field=BEDROCK_METADATA_FIELD,
                ),
            ),
        )

    def grant_read_write(self, role: iam.IRole) -> list[IConstruct]:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="UseKnowledgeBaseCollection",
                actions=["aoss:APIAccessAll"],
                resources=[self.collection.attr_arn],
            )
        )
        access = self._data_access_policy(
            "KnowledgeBaseAccess",
            "kb",
            role.role_arn,
            ["aoss:ReadDocument", "aoss:WriteDocument", "aoss:UpdateIndex"],
        )
        return [self.index, access]


def _deployer_role_arn(stack: cdk.Stack) -> str:
    synthesizer = stack.synthesizer
    if not isinstance(synthesizer, cdk.DefaultStackSynthesizer):
        raise TypeError("the OpenSearch vector store needs the bootstrap's CloudFormation execution role")
    return cdk.Fn.sub(synthesizer.cloud_formation_execution_role_arn)
