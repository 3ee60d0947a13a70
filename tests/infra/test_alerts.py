"""The alerts topic: encrypted, SSL-only, and alarms of this account may publish to it."""

from __future__ import annotations

import json

from aws_cdk import assertions

from tests.synth import resources_at


def _statements(foundation: assertions.Template) -> list[dict[str, object]]:
    ((_, policy),) = resources_at(foundation, "AWS::SNS::TopicPolicy", "Foundation/Alerts/").items()
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_alarms_of_this_account_may_publish_despite_the_ssl_only_policy(foundation: assertions.Template) -> None:
    ((topic_id, _),) = resources_at(foundation, "AWS::SNS::Topic", "Foundation/Alerts/").items()
    # A topic policy replaces SNS's default one: without an Allow for CloudWatch, alarms cannot notify.
    (allow,) = [s for s in _statements(foundation) if s["Effect"] == "Allow"]

    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": topic_id}
    conditions = allow["Condition"]
    assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}  # type: ignore[index]
    assert json.dumps(conditions["ArnLike"]["aws:SourceArn"]).endswith(':alarm:*"]]}')  # type: ignore[index]


def test_publishing_without_tls_is_still_denied(foundation: assertions.Template) -> None:
    (deny,) = [s for s in _statements(foundation) if s["Effect"] == "Deny"]

    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_topic_is_encrypted_with_the_project_key(foundation: assertions.Template) -> None:
    ((_, topic),) = resources_at(foundation, "AWS::SNS::Topic", "Foundation/Alerts/").items()

    assert "EncryptionKey" in json.dumps(topic["Properties"]["KmsMasterKeyId"])
