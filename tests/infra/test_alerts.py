"""The alerts topic: encrypted, SSL-only, and every publisher of this account (alarms, the budget) may publish."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import assertions

from stacks.config import parse_settings
from tests.synth import CONFIGURATIONS, Assembly, resources_at


def _statements(foundation: assertions.Template) -> list[dict[str, Any]]:
    ((_, policy),) = resources_at(foundation, "AWS::SNS::TopicPolicy", "Foundation/Alerts/").items()
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _topic_id(foundation: assertions.Template) -> str:
    ((topic_id, _),) = resources_at(foundation, "AWS::SNS::Topic", "Foundation/Alerts/").items()
    return topic_id


def _allowed(foundation: assertions.Template) -> dict[str, dict[str, Any]]:
    """The topic policy's Allow statements by service principal."""
    return {s["Principal"]["Service"]: s for s in _statements(foundation) if s["Effect"] == "Allow"}


def _key_statements(foundation: assertions.Template) -> dict[str, dict[str, Any]]:
    (key,) = foundation.find_resources("AWS::KMS::Key").values()
    return {
        str(s["Principal"]["Service"]): s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if "Service" in s["Principal"]
    }


def test_alarms_of_this_account_may_publish_despite_the_ssl_only_policy(foundation: assertions.Template) -> None:
    # A topic policy replaces SNS's default one: without an Allow for CloudWatch, alarms cannot notify.
    allow = _allowed(foundation)["cloudwatch.amazonaws.com"]

    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": _topic_id(foundation)}
    conditions = allow["Condition"]
    assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert json.dumps(conditions["ArnLike"]["aws:SourceArn"]).endswith(':alarm:*"]]}')


def test_the_budget_of_this_account_may_publish_as_the_budgets_guide_says(foundation: assertions.Template) -> None:
    # docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html: SourceAccount, and SourceArn
    # arn:aws:budgets::<account>:* (budgets have no region).
    allow = _allowed(foundation)["budgets.amazonaws.com"]

    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": _topic_id(foundation)}
    assert allow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":budgets::", {"Ref": "AWS::AccountId"}, ":*"]]
            }
        },
    }


def test_only_the_publishers_this_app_has_are_allowed(
    foundation: assertions.Template, flipped_foundation: assertions.Template
) -> None:
    # No EventBridge rule publishes to the topic: ingestion job outcomes arrive as metrics, and their alarm notifies.
    assert sorted(_allowed(foundation)) == ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"]
    assert parse_settings(CONFIGURATIONS["flipped"]).observability.monthly_budget_usd is None
    assert sorted(_allowed(flipped_foundation)) == ["cloudwatch.amazonaws.com"]
    assert "budgets.amazonaws.com" not in _key_statements(flipped_foundation)


def test_each_publisher_may_encrypt_with_the_key_for_this_stacks_topics_only(foundation: assertions.Template) -> None:
    # SNS encrypts what a service publishes under that service's permissions on the topic's key.
    statements = _key_statements(foundation)

    for service in _allowed(foundation):
        statement = statements[service]
        assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
        topics = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:sns:topicArn"]["Fn::Join"][1]
        assert topics[-1] == ":BedrockGenAi-Foundation-*"  # CloudFormation names the stack's topics after it


def test_publishing_without_tls_is_still_denied(foundation: assertions.Template) -> None:
    (deny,) = [s for s in _statements(foundation) if s["Effect"] == "Deny"]

    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_topic_is_encrypted_with_the_project_key(foundation: assertions.Template) -> None:
    ((_, topic),) = resources_at(foundation, "AWS::SNS::Topic", "Foundation/Alerts/").items()

    assert "EncryptionKey" in json.dumps(topic["Properties"]["KmsMasterKeyId"])


def test_configured_emails_are_subscribed(assembly: Assembly, flipped_assembly: Assembly) -> None:
    emails = parse_settings(CONFIGURATIONS["flipped"]).observability.alarm_emails
    template = flipped_assembly.assertions("Foundation")
    subscriptions = [s["Properties"] for s in template.find_resources("AWS::SNS::Subscription").values()]

    assert emails
    assert sorted(s["Endpoint"] for s in subscriptions) == sorted(emails)
    assert {(s["Protocol"], json.dumps(s["TopicArn"])) for s in subscriptions} == {
        ("email", json.dumps({"Ref": _topic_id(template)}))
    }
    assert not assembly.assertions("Foundation").find_resources("AWS::SNS::Subscription")
