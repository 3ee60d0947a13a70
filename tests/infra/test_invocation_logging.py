"""Opt-in model invocation logging: what the custom resource asks Bedrock, and who may write the logs and how.

The named configurations leave it off; the two here turn it on over the default and the flipped configuration.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from tests.infra.bedrock_rules import RULES
from tests.infra.test_logs import RETENTION_DAYS, function_findings, log_group_findings, templates_of
from tests.synth import ROOT, Assembly

PATH = "Application/InvocationLogging/"
ACCOUNT = {"Ref": "AWS::AccountId"}
BEDROCK_HERE = {
    "StringEquals": {"aws:SourceAccount": ACCOUNT},
    "ArnLike": {
        "aws:SourceArn": {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:", {"Ref": "AWS::Region"}, ":", ACCOUNT, ":*"],
            ]
        }
    },
}


@pytest.fixture
def logging_on(matrix: dict[str, Assembly]) -> Assembly:
    """A dev, environment-agnostic configuration of the matrix, which turns invocation logging on."""
    return matrix["dev-agnostic-none"]


@pytest.fixture
def flipped_logging_on(flipped_assembly: Assembly) -> Assembly:
    """The flipped configuration (prod, pinned, data not retained), which turns invocation logging on."""
    return flipped_assembly


def _at(template: Mapping[str, Any], path: str) -> tuple[str, Mapping[str, Any]]:
    """The one resource whose construct path is `path`, and its logical ID."""
    (found,) = [
        (lid, resource)
        for lid, resource in template["Resources"].items()
        if resource.get("Metadata", {}).get("aws:cdk:path") == path
    ]
    return found


def _placeholder(part: Any) -> str:
    if isinstance(part, str):
        return part
    if "Ref" in part:
        return f"<Ref {part['Ref']}>"
    return "<{}.{}>".format(*part["Fn::GetAtt"])


def _call(value: Any) -> dict[str, Any]:
    """An AwsCustomResource call as JSON, with each reference written as `<Ref X>` or `<X.Attribute>`."""
    if isinstance(value, str):
        return dict(json.loads(value))
    separator, parts = value["Fn::Join"]
    return dict(json.loads(separator.join(_placeholder(part) for part in parts)))


def _plausible(value: Any, key: str = "") -> Any:
    """`value` with each placeholder replaced by a value of the kind the API takes there."""
    if isinstance(value, dict):
        return {k: _plausible(v, k) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("<"):
        return "arn:aws:iam::123456789012:role/logs" if key == "roleArn" else "a-generated-name"
    return value


def _open_findings(assembly: Assembly) -> list[str]:
    return [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in assembly.validation_report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def _ids(template: Mapping[str, Any]) -> dict[str, str]:
    return {name: _at(template, f"{PATH}{name}/Resource")[0] for name in ("Logs", "Role", "Payloads", "ProviderRole")}


@pytest.mark.parametrize("variant", ["assembly", "prod_assembly"])
def test_off_by_default_it_creates_nothing(variant: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(variant)
    application = assembly.template("Application")
    paths = [r.get("Metadata", {}).get("aws:cdk:path", "") for r in application["Resources"].values()]
    (key,) = [r for r in assembly.template("Foundation")["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    principals = [s.get("Principal", {}).get("Service") for s in key["Properties"]["KeyPolicy"]["Statement"]]

    assert not [path for path in paths if path.startswith(PATH) or path.startswith("Application/AWS679f53fa")]
    assert "Custom::ModelInvocationLogging" not in {r["Type"] for r in application["Resources"].values()}
    assert "bedrock.amazonaws.com" not in principals


def test_create_and_update_put_text_logging_to_the_log_group_and_large_bodies_to_the_bucket(
    logging_on: Assembly,
) -> None:
    application = logging_on.template("Application")
    _, resource = _at(application, f"{PATH}Configuration/Resource/Default")
    ids = _ids(application)
    properties = resource["Properties"]
    create, update = _call(properties["Create"]), _call(properties["Update"])

    assert resource["Type"] == "Custom::ModelInvocationLogging"
    assert create == update
    assert create == {
        "service": "bedrock",
        "action": "PutModelInvocationLoggingConfiguration",
        "parameters": {
            "loggingConfig": {
                "cloudWatchConfig": {
                    "logGroupName": f"<Ref {ids['Logs']}>",
                    "roleArn": f"<{ids['Role']}.Arn>",
                    "largeDataDeliveryS3Config": {"bucketName": f"<Ref {ids['Payloads']}>", "keyPrefix": "payloads"},
                },
                "textDataDeliveryEnabled": True,
                "imageDataDeliveryEnabled": False,
                "embeddingDataDeliveryEnabled": False,
                "videoDataDeliveryEnabled": False,
                "audioDataDeliveryEnabled": False,
            }
        },
        # A constant ID: an update that changed it would make CloudFormation delete the configuration after.
        "physicalResourceId": {"id": "ModelInvocationLogging"},
    }
    assert properties["InstallLatestAwsSdk"] is False


def test_the_parameters_fit_botocores_model_of_the_api(logging_on: Assembly) -> None:
    _, resource = _at(logging_on.template("Application"), f"{PATH}Configuration/Resource/Default")
    create, delete = _call(resource["Properties"]["Create"]), _call(resource["Properties"]["Delete"])
    model = botocore.session.get_session().get_service_model("bedrock")
    parameters = _plausible(create["parameters"])

    put = model.operation_model(create["action"])
    report = ParamValidator().validate(parameters, put.input_shape)
    assert not report.has_errors(), report.generate_report()
    assert delete == {"service": "bedrock", "action": "DeleteModelInvocationLoggingConfiguration"}
    assert not model.operation_model(delete["action"]).input_shape.members


def test_the_configuration_waits_for_the_permissions_it_hands_to_bedrock(logging_on: Assembly) -> None:
    application = logging_on.template("Application")
    _, resource = _at(application, f"{PATH}Configuration/Resource/Default")
    bucket_policy, _ = _at(application, f"{PATH}Payloads/Policy/Resource")
    role_policy, _ = _at(application, f"{PATH}Role/Policy/Resource")
    provider_policy, _ = _at(application, f"{PATH}ProviderRole/Policy/Resource")

    assert {bucket_policy, role_policy, provider_policy} <= set(resource["DependsOn"])


def test_bedrock_assumes_the_role_for_this_account_and_region_and_writes_only_its_log_stream(
    logging_on: Assembly,
) -> None:
    application = logging_on.template("Application")
    ids = _ids(application)
    _, role = _at(application, f"{PATH}Role/Resource")
    _, policy = _at(application, f"{PATH}Role/Policy/Resource")

    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Condition": BEDROCK_HERE,
        }
    ]
    assert "Policies" not in role["Properties"]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        ACCOUNT,
                        ":log-group:",
                        {"Ref": ids["Logs"]},
                        ":log-stream:aws/bedrock/modelinvocations",
                    ],
                ]
            },
        }
    ]


def test_the_custom_resource_function_may_only_set_and_delete_the_configuration_and_pass_that_role(
    logging_on: Assembly,
) -> None:
    application = logging_on.template("Application")
    ids = _ids(application)
    functions = [
        r
        for r in application["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"]["Role"] == {"Fn::GetAtt": [ids["ProviderRole"], "Arn"]}
    ]
    (function,) = functions
    provider_logs, _ = _at(application, f"{PATH}ProviderLogs/Resource")
    _, role = _at(application, f"{PATH}ProviderRole/Resource")
    _, policy = _at(application, f"{PATH}ProviderRole/Policy/Resource")
    attached = [
        r
        for r in application["Resources"].values()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and {"Ref": ids["ProviderRole"]} in r["Properties"].get("Roles", [])
    ]

    assert function["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": provider_logs}}
    assert "Policies" not in role["Properties"]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert attached == [policy]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": [
                "bedrock:DeleteModelInvocationLoggingConfiguration",
                "bedrock:PutModelInvocationLoggingConfiguration",
            ],
            "Effect": "Allow",
            "Resource": "*",
        },
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [ids["Role"], "Arn"]},
        },
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [provider_logs, "Arn"]},
        },
    ]


def test_bedrock_may_put_payloads_only_under_its_prefix_of_an_encrypted_private_bucket(logging_on: Assembly) -> None:
    application = logging_on.template("Application")
    ids = _ids(application)
    _, bucket = _at(application, f"{PATH}Payloads/Resource")
    _, policy = _at(application, f"{PATH}Payloads/Policy/Resource")
    access_logs, _ = _at(application, f"{PATH}AccessLogs/Resource")
    properties = bucket["Properties"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "Fn::GetStackOutput" in encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": access_logs},
        "LogFilePrefix": "payloads/",
    }
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == RETENTION_DAYS["dev"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert {"Effect": "Deny", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}.items() <= (
        statements[0].items()
    )
    assert statements[1] == {
        "Sid": "AmazonBedrockLogsWrite",
        "Action": "s3:PutObject",
        "Effect": "Allow",
        "Principal": {"Service": "bedrock.amazonaws.com"},
        "Resource": {
            "Fn::Join": [
                "",
                [
                    {"Fn::GetAtt": [ids["Payloads"], "Arn"]},
                    "/payloads/AWSLogs/",
                    ACCOUNT,
                    "/BedrockModelInvocationLogs/*",
                ],
            ]
        },
        "Condition": BEDROCK_HERE,
    }
    assert len(statements) == 2


def test_the_project_key_lets_bedrock_encrypt_payloads_for_this_account_and_region(logging_on: Assembly) -> None:
    (key,) = [r for r in logging_on.template("Foundation")["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    bedrock = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal", {}).get("Service") == "bedrock.amazonaws.com"
    ]

    assert bedrock == [
        {
            "Sid": "AllowBedrockInvocationLogPayloads",
            "Action": "kms:GenerateDataKey",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Resource": "*",
            "Condition": BEDROCK_HERE,
        }
    ]


def test_a_pinned_environment_names_its_account_and_region(flipped_logging_on: Assembly) -> None:
    _, role = _at(flipped_logging_on.template("Application"), f"{PATH}Role/Resource")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]

    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:bedrock:eu-west-1:123456789012:*"},
    }


@pytest.mark.parametrize(("variant", "profile"), [("logging_on", "dev"), ("flipped_logging_on", "prod")])
def test_with_logging_on_the_gates_hold(variant: str, profile: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(variant)
    templates = templates_of(assembly)

    assert not _open_findings(assembly)
    assert not [v for rule in RULES for template in templates.values() for v in rule(template)]
    assert not log_group_findings(templates, RETENTION_DAYS[profile]) + function_findings(templates)
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    paths = sorted(str(path) for path in assembly.outdir.glob("*.template.json"))
    result = subprocess.run(
        [str(cfn_lint), "--config-file", str(ROOT / ".cfnlintrc.yaml"), "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
