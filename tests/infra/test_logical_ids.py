"""Renaming a stateful resource's construct replaces it (and orphans or deletes its data): pin them."""

from __future__ import annotations

import pytest

from tests.synth import Assembly

STATEFUL_TYPES = {
    "AWS::Bedrock::DataSource",
    "AWS::Bedrock::KnowledgeBase",
    "AWS::BedrockAgentCore::Memory",
    "AWS::DynamoDB::Table",
    "AWS::EC2::VPC",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::OpenSearchServerless::Collection",
    "AWS::OpenSearchServerless::Index",
    "AWS::S3::Bucket",
    "AWS::S3Vectors::Index",
    "AWS::S3Vectors::VectorBucket",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
}
COMMON = {
    "EncryptionKey3A692D6E": "AWS::KMS::Key",
    "AlertsTopicCF7C81C9": "AWS::SNS::Topic",
    "NetworkFlowLogs2BEC3212": "AWS::Logs::LogGroup",
    "NetworkVpc7FB7348F": "AWS::EC2::VPC",
    "CustomVpcRestrictDefaultSGCustomResourceProviderLogs41F6175A": "AWS::Logs::LogGroup",
    "DocumentsAccessLogsE0128BD5": "AWS::S3::Bucket",
    "DocumentsBucket089EA665": "AWS::S3::Bucket",
    "KnowledgeBaseB1C941BD": "AWS::Bedrock::KnowledgeBase",
    "KnowledgeBaseDataSource867D63C8": "AWS::Bedrock::DataSource",
    "IngestionQueue8DED9A6F": "AWS::SQS::Queue",
    "IngestionDeadLetterQueueEB97306D": "AWS::SQS::Queue",
    "IngestionFunctionLogs9ABD75CD": "AWS::Logs::LogGroup",
    "IngestionFunctionDeadLetterQueue1A5A3B7A": "AWS::SQS::Queue",
    "TicketsTable99936E8C": "AWS::DynamoDB::Table",
}
PINNED = {
    "assembly": {
        **COMMON,
        "AgentMemoryF602392E": "AWS::BedrockAgentCore::Memory",
        "VectorStoreBucket77D2369F": "AWS::S3Vectors::VectorBucket",
        "VectorStoreIndex1B425F98": "AWS::S3Vectors::Index",
    },
    "flipped_assembly": {
        **COMMON,
        "VectorStoreCollectionB78DBAF4": "AWS::OpenSearchServerless::Collection",
        "VectorStoreVectorIndex1263884E": "AWS::OpenSearchServerless::Index",
        "CustomS3AutoDeleteObjectsCustomResourceProviderLogsB8B1B8F2": "AWS::Logs::LogGroup",
    },
}


@pytest.mark.parametrize("variant", sorted(PINNED))
def test_stateful_logical_ids_are_pinned(variant: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(variant)
    resources = assembly.template("Foundation")["Resources"]

    stateful = {logical_id: r["Type"] for logical_id, r in resources.items() if r["Type"] in STATEFUL_TYPES}

    assert stateful == PINNED[variant], "a stateful resource was added, renamed or removed: update PINNED knowingly"


def test_switching_vector_stores_replaces_rather_than_retypes() -> None:
    shared = set(PINNED["assembly"]) & set(PINNED["flipped_assembly"])
    assert all(PINNED["assembly"][i] == PINNED["flipped_assembly"][i] for i in shared)
