"""The documents bucket and its access-log bucket."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions

DOCUMENTS = "DocumentsBucket089EA665"
ACCESS_LOGS = "DocumentsAccessLogsE0128BD5"
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def _bucket(template: assertions.Template, logical_id: str) -> dict[str, Any]:
    return dict(template.find_resources("AWS::S3::Bucket")[logical_id])


def _policy_statements(template: assertions.Template, bucket_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for p in template.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_documents_bucket_is_encrypted_versioned_private_logged_and_retained(foundation: assertions.Template) -> None:
    bucket = _bucket(foundation, DOCUMENTS)
    properties = bucket["Properties"]
    (key_id,) = foundation.find_resources("AWS::KMS::Key")

    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {
                    "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                    "SSEAlgorithm": "aws:kms",
                },
            }
        ]
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert properties["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": ACCESS_LOGS},
        "LogFilePrefix": "documents/",
    }
    assert properties["LifecycleConfiguration"] == {
        "Rules": [
            {
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                "Status": "Enabled",
            }
        ]
    }
    assert properties["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_access_log_bucket_is_private_expires_logs_and_is_retained(foundation: assertions.Template) -> None:
    bucket = _bucket(foundation, ACCESS_LOGS)
    properties = bucket["Properties"]

    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert properties["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert properties["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30  # dev log retention
    assert bucket["DeletionPolicy"] == "Retain"


def test_both_buckets_refuse_plain_http(foundation: assertions.Template) -> None:
    for bucket_id in (DOCUMENTS, ACCESS_LOGS):
        deny = _policy_statements(foundation, bucket_id)[0]
        assert deny["Effect"] == "Deny"
        assert deny["Action"] == "s3:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_the_documents_bucket_may_write_access_logs(foundation: assertions.Template) -> None:
    (delivery,) = [s for s in _policy_statements(foundation, ACCESS_LOGS) if s["Effect"] == "Allow"]

    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"] == {
        "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [DOCUMENTS, "Arn"]}},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }


def test_destroy_policy_empties_and_deletes_the_buckets(flipped_foundation: assertions.Template) -> None:
    for bucket_id in (DOCUMENTS, ACCESS_LOGS):
        assert _bucket(flipped_foundation, bucket_id)["DeletionPolicy"] == "Delete"
    auto_delete = flipped_foundation.find_resources("Custom::S3AutoDeleteObjects")
    assert sorted(r["Properties"]["BucketName"]["Ref"] for r in auto_delete.values()) == sorted(
        [DOCUMENTS, ACCESS_LOGS]
    )
