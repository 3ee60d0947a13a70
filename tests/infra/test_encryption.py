"""The customer-managed key: rotated, retained, and usable by CloudWatch Logs only for this account."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions


def _key(template: assertions.Template) -> dict[str, Any]:
    (key,) = template.find_resources("AWS::KMS::Key").values()
    return dict(key)


def test_key_rotates_and_is_retained_by_default(foundation: assertions.Template) -> None:
    key = _key(foundation)

    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    assert key["UpdateReplacePolicy"] == "Retain"


def test_key_is_deleted_with_the_stack_only_when_the_deployer_asks(flipped_foundation: assertions.Template) -> None:
    key = _key(flipped_foundation)

    assert key["DeletionPolicy"] == "Delete"
    assert "PendingWindowInDays" not in key["Properties"]  # KMS's 30-day window to undo a mistake


def test_cloudwatch_logs_may_use_the_key_only_for_log_groups_of_this_account_and_region(
    foundation: assertions.Template,
) -> None:
    statements = _key(foundation)["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [s for s in statements if s.get("Sid") == "AllowCloudWatchLogsForThisAccountAndRegion"]

    assert logs["Principal"] == {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}
    assert "kms:*" not in logs["Action"]
    assert set(logs["Action"]) >= {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":log-group:*",
                    ],
                ]
            }
        }
    }


def test_every_service_in_the_key_policy_is_limited_to_this_account_and_its_own_resources(
    foundation: assertions.Template,
) -> None:
    statements = _key(foundation)["Properties"]["KeyPolicy"]["Statement"]
    services = [s for s in statements if "Service" in s["Principal"]]

    names = sorted(str(s["Principal"]["Service"]) for s in services)
    assert names == sorted(
        [
            "budgets.amazonaws.com",  # the budget's alerts publish to the encrypted topic
            "cloudwatch.amazonaws.com",  # alarms publish to the encrypted topic
            "events.amazonaws.com",  # EventBridge sends document changes to the encrypted queue
            "indexing.s3vectors.amazonaws.com",  # S3 Vectors maintains the index
            str({"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}),
        ]
    )
    for statement in services:
        conditions = statement["Condition"]
        account = conditions.get("StringEquals", {}).get("aws:SourceAccount") == {"Ref": "AWS::AccountId"}
        source = {**conditions.get("ArnLike", {}), **conditions.get("ArnEquals", {})}.get("aws:SourceArn")
        # Both the account and the resource acting (a confused deputy is neither another account nor another
        # resource of this one); or an encryption context naming resources of this account and region.
        scoped = account and source is not None and {"Ref": "AWS::AccountId"} in source["Fn::Join"][1]
        context = [value for key, value in conditions.get("ArnLike", {}).items() if key.startswith("kms:Encryption")]
        assert scoped or (context and {"Ref": "AWS::AccountId"} in context[0]["Fn::Join"][1]), statement
        assert "kms:*" not in statement["Action"]


def test_alarms_may_use_the_key_only_for_this_stacks_topics(foundation: assertions.Template) -> None:
    statements = _key(foundation)["Properties"]["KeyPolicy"]["Statement"]
    (alarms,) = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]

    assert sorted(alarms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    topics = alarms["Condition"]["ArnLike"]["kms:EncryptionContext:aws:sns:topicArn"]["Fn::Join"][1]
    assert topics[-1] == ":BedrockGenAi-Foundation-*"  # CloudFormation names the stack's topics after it


def test_eventbridge_may_use_the_key_only_for_the_document_changes_rule(foundation: assertions.Template) -> None:
    statements = _key(foundation)["Properties"]["KeyPolicy"]["Statement"]
    (events,) = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    rules = foundation.find_resources("AWS::Events::Rule")
    (name,) = [r["Properties"]["Name"] for r in rules.values() if "EventPattern" in r["Properties"]]

    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Join"][1][-1] == f":rule/{name}"
