"""The knowledge base, its data source, its vector store (both kinds) and its service role."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_cdk import assertions
from aws_cdk import aws_bedrock as bedrock

from stacks.config import parse_settings
from stacks.constructs.knowledge_base import chunking_configuration
from tests.synth import CONFIGURATIONS, MATRIX, Assembly, one, resources_at

TITAN_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":bedrock:",
            {"Ref": "AWS::Region"},
            "::foundation-model/amazon.titan-embed-text-v2:0",
        ],
    ]
}


def _one(template: assertions.Template, type_: str) -> tuple[str, dict[str, Any]]:
    return one(template, type_)


def _key_id(template: assertions.Template) -> str:
    return _one(template, "AWS::KMS::Key")[0]


def _role_statements(template: assertions.Template) -> list[dict[str, Any]]:
    (policy,) = resources_at(template, "AWS::IAM::ManagedPolicy", "Foundation/KnowledgeBase/").values()
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_knowledge_base_embeds_with_titan_v2_into_s3_vectors(foundation: assertions.Template) -> None:
    _, kb = _one(foundation, "AWS::Bedrock::KnowledgeBase")
    index_id, _ = _one(foundation, "AWS::S3Vectors::Index")

    assert kb["Properties"]["KnowledgeBaseConfiguration"] == {
        "Type": "VECTOR",
        "VectorKnowledgeBaseConfiguration": {
            "EmbeddingModelArn": TITAN_ARN,
            "EmbeddingModelConfiguration": {
                "BedrockEmbeddingModelConfiguration": {"Dimensions": 1024, "EmbeddingDataType": "FLOAT32"}
            },
        },
    }
    assert kb["Properties"]["StorageConfiguration"] == {
        "Type": "S3_VECTORS",
        "S3VectorsConfiguration": {"IndexArn": {"Fn::GetAtt": [index_id, "IndexArn"]}},
    }


def test_s3_vector_index_matches_the_embeddings_and_keeps_bedrock_text_unfilterable(
    foundation: assertions.Template,
) -> None:
    bucket_id, bucket = _one(foundation, "AWS::S3Vectors::VectorBucket")
    _, index = _one(foundation, "AWS::S3Vectors::Index")
    encryption = {"SseType": "aws:kms", "KmsKeyArn": {"Fn::GetAtt": [_key_id(foundation), "Arn"]}}

    assert bucket["Properties"]["EncryptionConfiguration"] == encryption
    assert {k: v for k, v in index["Properties"].items() if k != "Tags"} == {
        "VectorBucketArn": {"Fn::GetAtt": [bucket_id, "VectorBucketArn"]},
        "DataType": "float32",
        "Dimension": 1024,
        "DistanceMetric": "cosine",
        "MetadataConfiguration": {"NonFilterableMetadataKeys": ["AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA"]},
        "EncryptionConfiguration": encryption,
    }
    for resource in (bucket, index):
        assert resource["DeletionPolicy"] == "Retain"


def test_data_source_reads_the_documents_prefix_with_fixed_chunks_and_the_project_key(
    foundation: assertions.Template,
) -> None:
    kb_id, _ = _one(foundation, "AWS::Bedrock::KnowledgeBase")
    _, data_source = _one(foundation, "AWS::Bedrock::DataSource")
    bucket_id = "DocumentsBucket089EA665"
    properties = data_source["Properties"]

    assert properties["KnowledgeBaseId"] == {"Fn::GetAtt": [kb_id, "KnowledgeBaseId"]}
    assert properties["DataDeletionPolicy"] == "DELETE"
    assert properties["DataSourceConfiguration"] == {
        "Type": "S3",
        "S3Configuration": {"BucketArn": {"Fn::GetAtt": [bucket_id, "Arn"]}, "InclusionPrefixes": ["documents/"]},
    }
    assert properties["ServerSideEncryptionConfiguration"] == {
        "KmsKeyArn": {"Fn::GetAtt": [_key_id(foundation), "Arn"]}
    }
    assert properties["VectorIngestionConfiguration"] == {
        "ChunkingConfiguration": {
            "ChunkingStrategy": "FIXED_SIZE",
            "FixedSizeChunkingConfiguration": {"MaxTokens": 300, "OverlapPercentage": 20},
        }
    }


def test_service_role_trusts_only_this_accounts_knowledge_bases(foundation: assertions.Template) -> None:
    (role,) = resources_at(foundation, "AWS::IAM::Role", "Foundation/KnowledgeBase/").values()

    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                "ArnLike": {
                    "aws:SourceArn": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":bedrock:",
                                {"Ref": "AWS::Region"},
                                ":",
                                {"Ref": "AWS::AccountId"},
                                ":knowledge-base/*",
                            ],
                        ]
                    }
                },
            },
        }
    ]


def test_service_role_may_do_exactly_what_ingestion_and_retrieval_need(foundation: assertions.Template) -> None:
    bucket_id = "DocumentsBucket089EA665"
    index_id, _ = _one(foundation, "AWS::S3Vectors::Index")
    key_arn = {"Fn::GetAtt": [_key_id(foundation), "Arn"]}
    statements = sorted(
        ({k: v for k, v in s.items() if k != "Sid"} for s in _role_statements(foundation)),
        key=lambda s: str(s["Action"]),
    )

    assert statements == sorted(
        [
            {"Action": "bedrock:InvokeModel", "Effect": "Allow", "Resource": TITAN_ARN},
            {
                "Action": "s3:ListBucket",
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
                "Condition": {"StringLike": {"s3:prefix": ["documents/*"]}},
            },
            {
                "Action": "s3:GetObject",
                "Effect": "Allow",
                "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/documents/*"]]},
            },
            {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow", "Resource": key_arn},
            {
                "Action": [
                    "s3vectors:DeleteVectors",
                    "s3vectors:GetIndex",
                    "s3vectors:GetVectors",
                    "s3vectors:PutVectors",
                    "s3vectors:QueryVectors",
                ],
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [index_id, "IndexArn"]},
            },
        ],
        key=lambda s: str(s["Action"]),
    )


def test_knowledge_base_waits_for_its_role_policy_and_index(foundation: assertions.Template) -> None:
    _, kb = _one(foundation, "AWS::Bedrock::KnowledgeBase")
    index_id, _ = _one(foundation, "AWS::S3Vectors::Index")
    (policy_id,) = resources_at(foundation, "AWS::IAM::ManagedPolicy", "Foundation/KnowledgeBase/")

    assert {policy_id, index_id} <= set(kb["DependsOn"])


def test_opensearch_alternative_agrees_with_bedrock_on_fields_and_dimensions(
    flipped_foundation: assertions.Template,
) -> None:
    collection_id, collection = _one(flipped_foundation, "AWS::OpenSearchServerless::Collection")
    index_id, index = _one(flipped_foundation, "AWS::OpenSearchServerless::Index")
    _, kb = _one(flipped_foundation, "AWS::Bedrock::KnowledgeBase")
    storage = kb["Properties"]["StorageConfiguration"]["OpensearchServerlessConfiguration"]
    fields = index["Properties"]["Mappings"]["Properties"]

    assert collection["Properties"]["Type"] == "VECTORSEARCH"
    assert collection["Properties"]["StandbyReplicas"] == "ENABLED"  # prod
    assert storage["CollectionArn"] == {"Fn::GetAtt": [collection_id, "Arn"]}
    assert storage["VectorIndexName"] == index["Properties"]["IndexName"]
    mapping = storage["FieldMapping"]
    assert fields[mapping["VectorField"]] == {
        "Type": "knn_vector",
        "Dimension": 1024,  # cohere.embed-multilingual-v3
        "Method": {
            "Engine": "faiss",
            "Name": "hnsw",
            "SpaceType": "l2",
            "Parameters": {"M": 16, "EfConstruction": 512},
        },
    }
    assert fields[mapping["TextField"]] == {"Type": "text", "Index": True}
    assert fields[mapping["MetadataField"]] == {"Type": "text", "Index": False}
    assert index["Properties"]["Settings"] == {"Index": {"Knn": True, "KnnAlgoParamEfSearch": 512}}
    assert index_id in kb["DependsOn"]


def test_opensearch_policies_encrypt_with_the_key_and_admit_only_the_two_roles(
    flipped_foundation: assertions.Template,
) -> None:
    policies = {
        p["Properties"]["Name"]: p
        for p in flipped_foundation.find_resources("AWS::OpenSearchServerless::SecurityPolicy").values()
    }
    access = {
        p["Properties"]["Name"]: p["Properties"]["Policy"]
        for p in flipped_foundation.find_resources("AWS::OpenSearchServerless::AccessPolicy").values()
    }

    assert sorted(policies) == ["bedrockgenai-foundation-enc", "bedrockgenai-foundation-net"]
    encryption = str(policies["bedrockgenai-foundation-enc"]["Properties"]["Policy"])
    assert '"AWSOwnedKey":false' in encryption
    assert _key_id(flipped_foundation) in encryption
    assert sorted(access) == ["bedrockgenai-foundation-deploy", "bedrockgenai-foundation-kb"]
    assert "cdk-hnb659fds-cfn-exec-role" in str(access["bedrockgenai-foundation-deploy"])
    kb_role_id = next(iter(resources_at(flipped_foundation, "AWS::IAM::Role", "Foundation/KnowledgeBase/")))
    assert kb_role_id in str(access["bedrockgenai-foundation-kb"])
    assert "aoss:*" not in str(access)


def test_opensearch_variant_uses_hierarchical_chunks_and_retains_vectors(
    flipped_foundation: assertions.Template,
) -> None:
    _, data_source = _one(flipped_foundation, "AWS::Bedrock::DataSource")

    assert data_source["Properties"]["DataDeletionPolicy"] == "RETAIN"
    assert data_source["Properties"]["VectorIngestionConfiguration"]["ChunkingConfiguration"] == {
        "ChunkingStrategy": "HIERARCHICAL",
        "HierarchicalChunkingConfiguration": {
            "LevelConfigurations": [{"MaxTokens": 1500}, {"MaxTokens": 300}],
            "OverlapTokens": 60,
        },
    }


def test_semantic_and_no_chunking_translate_to_bedrock_settings() -> None:
    base = parse_settings({}).knowledge_base.chunking

    semantic = chunking_configuration(replace(base, strategy="semantic"))
    none = chunking_configuration(replace(base, strategy="none"))

    assert semantic.chunking_strategy == "SEMANTIC"
    settings = semantic.semantic_chunking_configuration
    assert isinstance(settings, bedrock.CfnDataSource.SemanticChunkingConfigurationProperty)
    assert (settings.max_tokens, settings.buffer_size, settings.breakpoint_percentile_threshold) == (300, 0, 95)
    assert none.chunking_strategy == "NONE"
    assert none.fixed_size_chunking_configuration is None
    assert none.semantic_chunking_configuration is None
    assert none.hierarchical_chunking_configuration is None


def _index_and_knowledge_base_dimensions(assembly: Assembly) -> tuple[int, int]:
    resources = assembly.template("Foundation")["Resources"].values()
    indexes = [r for r in resources if r["Type"] in ("AWS::S3Vectors::Index", "AWS::OpenSearchServerless::Index")]
    ((kb,),) = [[r for r in resources if r["Type"] == "AWS::Bedrock::KnowledgeBase"]]
    (index,) = indexes
    if index["Type"] == "AWS::S3Vectors::Index":
        index_dimension = index["Properties"]["Dimension"]
    else:
        vector_field = kb["Properties"]["StorageConfiguration"]["OpensearchServerlessConfiguration"]["FieldMapping"]
        index_dimension = index["Properties"]["Mappings"]["Properties"][vector_field["VectorField"]]["Dimension"]
    embedding = kb["Properties"]["KnowledgeBaseConfiguration"]["VectorKnowledgeBaseConfiguration"]
    kb_dimension = embedding["EmbeddingModelConfiguration"]["BedrockEmbeddingModelConfiguration"]["Dimensions"]
    return int(index_dimension), int(kb_dimension)


def test_the_vector_index_has_the_knowledge_bases_embedding_size_in_every_configuration(
    assembly: Assembly, prod_assembly: Assembly, flipped_assembly: Assembly, matrix: dict[str, Assembly]
) -> None:
    assemblies = {"default": assembly, "prod": prod_assembly, "flipped": flipped_assembly, **matrix}
    settings = {**CONFIGURATIONS, **MATRIX}
    sizes = set()
    for name, synthesized in assemblies.items():
        configured = parse_settings(settings[name]).knowledge_base.embedding_dimensions
        assert _index_and_knowledge_base_dimensions(synthesized) == (configured, configured), name
        sizes.add(configured)

    assert sizes == {256, 512, 1024}  # non-default sizes are among the configurations checked
