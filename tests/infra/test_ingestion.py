"""The ingestion pipeline: document events → EventBridge → SQS → function → one ingestion job."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_cdk import assertions

from stacks.config import parse_settings
from stacks.constructs.common import digest
from tests.synth import one, resources_at

QUEUE = "IngestionQueue8DED9A6F"
DEAD_LETTERS = "IngestionDeadLetterQueueEB97306D"
DOCUMENTS = "DocumentsBucket089EA665"
KB = "KnowledgeBaseB1C941BD"
DATA_SOURCE = "KnowledgeBaseDataSource867D63C8"


def _one(template: assertions.Template, type_: str, path: str = "Foundation/Ingestion/") -> tuple[str, dict[str, Any]]:
    return one(template, type_, path)


def _key_arn(template: assertions.Template) -> dict[str, Any]:
    (key_id,) = template.find_resources("AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def test_queue_is_encrypted_and_dead_letters_after_the_configured_receives(foundation: assertions.Template) -> None:
    queue = foundation.find_resources("AWS::SQS::Queue")[QUEUE]["Properties"]

    assert queue["KmsMasterKeyId"] == _key_arn(foundation)
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [DEAD_LETTERS, "Arn"]},
        "maxReceiveCount": 12,
    }
    assert queue["VisibilityTimeout"] == 6 * 120  # six times the function timeout, as Lambda recommends


def test_rule_sends_changes_under_documents_to_the_queue(foundation: assertions.Template) -> None:
    _, rule = _one(foundation, "AWS::Events::Rule", "Foundation/Ingestion/DocumentChanges/")

    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {"bucket": {"name": [{"Ref": DOCUMENTS}]}, "object": {"key": [{"prefix": "documents/"}]}},
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [QUEUE, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [DEAD_LETTERS, "Arn"]}}


def test_event_source_debounces_bursts_and_reports_partial_failures(foundation: assertions.Template) -> None:
    _, mapping = _one(foundation, "AWS::Lambda::EventSourceMapping")

    assert {k: v for k, v in mapping["Properties"].items() if k != "Tags"} == {
        "EventSourceArn": {"Fn::GetAtt": [QUEUE, "Arn"]},
        "FunctionName": {"Ref": _one(foundation, "AWS::Lambda::Function")[0]},
        "BatchSize": 1000,
        "MaximumBatchingWindowInSeconds": 60,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 2},
    }


def test_function_runs_outside_the_vpc_traced_on_arm(foundation: assertions.Template) -> None:
    _, function = _one(foundation, "AWS::Lambda::Function")
    properties = function["Properties"]

    assert properties["Runtime"] == "python3.14"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "ingestion.handler.handler"
    assert properties["Timeout"] == 120
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert "ReservedConcurrentExecutions" not in properties  # its event source runs at most two at a time
    assert properties["KmsKeyArn"] == _key_arn(foundation)
    # It handles no customer data (Bedrock reads the documents from S3), so it needs no bedrock-agent endpoint.
    assert "VpcConfig" not in properties
    assert not resources_at(foundation, "AWS::EC2::SecurityGroup", "Foundation/Ingestion/")
    assert properties["Environment"]["Variables"] == {
        "KNOWLEDGE_BASE_ID": {"Fn::GetAtt": [KB, "KnowledgeBaseId"]},
        "DATA_SOURCE_ID": {"Fn::GetAtt": [DATA_SOURCE, "DataSourceId"]},
        # The job-outcome schedule's window, and the names its metrics are published under.
        "OUTCOME_WINDOW_MINUTES": "15",
        "POWERTOOLS_SERVICE_NAME": "genai-ingestion",
        "POWERTOOLS_METRICS_NAMESPACE": "BedrockGenAi-Foundation",
    }


def test_function_log_group_is_encrypted_with_retention(foundation: assertions.Template) -> None:
    _, log_group = _one(foundation, "AWS::Logs::LogGroup")

    assert {k: v for k, v in log_group["Properties"].items() if k != "Tags"} == {
        "KmsKeyId": _key_arn(foundation),
        "RetentionInDays": 30,
    }


def test_function_role_statements_are_exactly_what_it_uses(foundation: assertions.Template) -> None:
    _, policy = _one(foundation, "AWS::IAM::ManagedPolicy")
    actions = sorted(
        (str(s["Action"]), str(s["Resource"])) for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )
    resources = dict(actions)

    assert sorted(resources) == sorted(
        [
            "['bedrock:GetIngestionJob', 'bedrock:ListIngestionJobs', 'bedrock:StartIngestionJob']",
            "['logs:CreateLogStream', 'logs:PutLogEvents']",
            "['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', "
            "'sqs:ReceiveMessage']",
            "['xray:PutTelemetryRecords', 'xray:PutTraceSegments']",
            "['kms:Decrypt', 'kms:GenerateDataKey']",
            "s3:GetObject",
            "s3:PutObject",
            "sqs:SendMessage",
        ]
    )
    assert KB in resources["['bedrock:GetIngestionJob', 'bedrock:ListIngestionJobs', 'bedrock:StartIngestionJob']"]
    assert "/documents/samples/*" in resources["s3:PutObject"]
    assert "Resource': '*'" not in str([r for a, r in actions if not a.startswith("['xray")])


def test_initial_sync_runs_on_deploy_and_seeds_the_samples_in_dev(foundation: assertions.Template) -> None:
    function_id, _ = _one(foundation, "AWS::Lambda::Function")
    _, sync = _one(foundation, "Custom::KnowledgeBaseSync")
    properties = sync["Properties"]

    assert properties["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert properties["KnowledgeBaseId"] == {"Fn::GetAtt": [KB, "KnowledgeBaseId"]}
    assert properties["DataSourceId"] == {"Fn::GetAtt": [DATA_SOURCE, "DataSourceId"]}
    assert properties["SampleDocuments"]["Bucket"] == {"Ref": DOCUMENTS}
    assert properties["SampleDocuments"]["Prefix"] == "documents/samples/"
    assert properties["SampleDocuments"]["SourceKey"].endswith(".zip")


def test_prod_syncs_without_samples(flipped_foundation: assertions.Template) -> None:
    _, sync = _one(flipped_foundation, "Custom::KnowledgeBaseSync")
    _, policy = _one(flipped_foundation, "AWS::IAM::ManagedPolicy")

    assert "SampleDocuments" not in sync["Properties"]
    assert "s3:PutObject" not in str(policy)


def test_sync_revision_changes_with_the_chunking_settings(
    foundation: assertions.Template, flipped_foundation: assertions.Template
) -> None:
    revisions = {
        _one(t, "Custom::KnowledgeBaseSync")[1]["Properties"]["Revision"] for t in (foundation, flipped_foundation)
    }
    assert len(revisions) == 2


def test_dead_letters_raise_an_alarm_on_the_encrypted_alerts_topic(foundation: assertions.Template) -> None:
    _, alarm = _one(foundation, "AWS::CloudWatch::Alarm", "Foundation/Ingestion/DeadLettersAlarm/")
    topic_id, topic = _one(foundation, "AWS::SNS::Topic", "Foundation/Alerts/")

    assert topic["Properties"]["KmsMasterKeyId"] == _key_arn(foundation)
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    assert alarm["Properties"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [DEAD_LETTERS, "QueueName"]}}
    ]
    assert alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["Properties"]["Threshold"], alarm["Properties"]["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )


def test_outputs_tell_the_deployer_how_to_use_the_knowledge_base(assembly: Any) -> None:
    outputs = assembly.template("Foundation")["Outputs"]

    assert outputs["KnowledgeBaseId"]["Value"] == {"Fn::GetAtt": [KB, "KnowledgeBaseId"]}
    assert outputs["DataSourceId"]["Value"] == {"Fn::GetAtt": [DATA_SOURCE, "DataSourceId"]}
    assert outputs["DocumentsBucketName"]["Value"] == {"Ref": DOCUMENTS}
    assert "aws s3 cp" in str(outputs["AddDocuments"]["Value"])


def test_the_initial_sync_needs_no_vpc_route_and_gives_up_in_minutes(foundation: assertions.Template) -> None:
    ((_, sync),) = foundation.find_resources("Custom::KnowledgeBaseSync").items()
    endpoints = set(foundation.find_resources("AWS::EC2::VPCEndpoint"))

    # Its function runs outside the VPC: it reaches bedrock-agent and CloudFormation's S3 URL on Lambda's own
    # network, so it waits for no endpoint; a lost reply fails the deploy in ten minutes, not the default hour.
    assert not endpoints & set(sync.get("DependsOn", []))
    assert int(sync["Properties"]["ServiceTimeout"]) == 600


def test_a_chunking_change_replaces_the_data_source_under_a_new_name(foundation: assertions.Template) -> None:
    ((_, data_source),) = foundation.find_resources("AWS::Bedrock::DataSource").items()
    other = parse_settings({"knowledge_base": {"chunking": {"strategy": "semantic"}}})

    # Chunking is a replacement property: the new data source is created before the old one is deleted.
    assert data_source["Properties"]["Name"].startswith("documents-")
    assert data_source["Properties"]["Name"] != f"documents-{digest(asdict(other.knowledge_base.chunking), 8)}"
