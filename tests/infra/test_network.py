"""The network promises: no internet path by default, flow logs, and HTTPS-only endpoints; or an existing VPC."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match

from stacks.app import add_compliance_checks
from stacks.config import DEFAULT_INTERFACE_ENDPOINTS, INTERFACE_ENDPOINTS, ExistingVpc, parse_settings
from stacks.constructs.network import Network
from tests.synth import CLI_CONTEXT, CONFIGURATIONS, ROOT, Assembly, resources_at

EXISTING = parse_settings(CONFIGURATIONS["existing_vpc"]).network


def _resources(template: assertions.Template, type_: str) -> dict[str, Any]:
    return resources_at(template, type_, "Foundation/Network/")


def _props(template: assertions.Template, type_: str) -> list[dict[str, Any]]:
    return [resource["Properties"] for resource in _resources(template, type_).values()]


def test_vpc_has_only_isolated_subnets_and_no_internet_path(foundation: assertions.Template) -> None:
    foundation.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.0.0.0/16"})
    for type_ in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::Route"):
        foundation.resource_count_is(type_, 0)

    subnets = _props(foundation, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    for index, subnet in enumerate(sorted(subnets, key=lambda s: s["CidrBlock"])):
        assert subnet["MapPublicIpOnLaunch"] is False
        assert {"Key": "aws-cdk:subnet-type", "Value": "Isolated"} in subnet["Tags"]
        assert subnet["AvailabilityZone"] == {"Fn::Select": [index, {"Fn::GetAZs": ""}]}


def test_flow_logs_capture_all_traffic_into_an_encrypted_retained_log_group(foundation: assertions.Template) -> None:
    ((log_group_id, log_group),) = _resources(foundation, "AWS::Logs::LogGroup").items()
    assert log_group["Properties"]["RetentionInDays"] == 30
    (key_id,) = foundation.find_resources("AWS::KMS::Key")
    assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert (log_group["DeletionPolicy"], log_group["UpdateReplacePolicy"]) == ("Retain", "Retain")
    foundation.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": {"Ref": log_group_id},
        },
    )


def test_flow_log_role_is_confused_deputy_safe_and_writes_only_its_log_group(
    foundation: assertions.Template,
) -> None:
    foundation.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnLike": {"aws:SourceArn": Match.any_value()},
                        },
                    }
                ]
            }
        },
    )
    assert not _resources(foundation, "AWS::IAM::Policy")  # no inline policies
    (policy,) = _props(foundation, "AWS::IAM::ManagedPolicy")
    (log_group_id,) = _resources(foundation, "AWS::Logs::LogGroup")
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        }
    ]


def test_gateway_endpoints_for_s3_and_dynamodb_serve_every_private_route_table(
    foundation: assertions.Template,
) -> None:
    route_tables = [{"Ref": logical_id} for logical_id in _resources(foundation, "AWS::EC2::RouteTable")]
    gateways = [p for p in _props(foundation, "AWS::EC2::VPCEndpoint") if p["VpcEndpointType"] == "Gateway"]

    services = sorted(p["ServiceName"]["Fn::Join"][1][-1] for p in gateways)
    assert services == [".dynamodb", ".s3"]
    for gateway in gateways:
        assert sorted(gateway["RouteTableIds"], key=str) == sorted(route_tables, key=str)


def test_interface_endpoints_are_the_configured_set_in_the_endpoint_azs(foundation: assertions.Template) -> None:
    interfaces = [p for p in _props(foundation, "AWS::EC2::VPCEndpoint") if p["VpcEndpointType"] == "Interface"]

    services = sorted(p["ServiceName"]["Fn::Join"][1][-1].removeprefix(".") for p in interfaces)
    assert services == sorted(DEFAULT_INTERFACE_ENDPOINTS)
    for endpoint in interfaces:
        assert endpoint["PrivateDnsEnabled"] is True
        assert len(endpoint["SubnetIds"]) == 1  # dev: endpoint_azs = 1
        assert len(endpoint["SecurityGroupIds"]) == 1


def test_the_default_endpoints_leave_out_the_bedrock_agent_control_plane_but_offer_it() -> None:
    # No function in the VPC calls it (tests/infra/test_functions.py); a fork that moves one in turns it on.
    assert "bedrock-agent" in INTERFACE_ENDPOINTS
    assert set(DEFAULT_INTERFACE_ENDPOINTS) == set(INTERFACE_ENDPOINTS) - {"bedrock-agent"}


def test_endpoint_security_groups_admit_only_https_from_the_vpc_and_send_nothing(
    foundation: assertions.Template,
) -> None:
    groups = _props(foundation, "AWS::EC2::SecurityGroup")

    assert len(groups) == len(DEFAULT_INTERFACE_ENDPOINTS)
    for group in groups:
        assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["SecurityGroupIngress"]] == [
            ("tcp", 443, 443, "10.0.0.0/16")
        ]
        # CDK's marker for "no egress": a rule that matches no traffic.
        assert group["SecurityGroupEgress"] == [
            {
                "CidrIp": "255.255.255.255/32",
                "Description": "Disallow all traffic",
                "FromPort": 252,
                "IpProtocol": "icmp",
                "ToPort": 86,
            }
        ]


def test_default_security_group_is_stripped_of_its_rules(foundation: assertions.Template) -> None:
    (vpc_id,) = _resources(foundation, "AWS::EC2::VPC")
    foundation.has_resource_properties(
        "Custom::VpcRestrictDefaultSG", {"DefaultSecurityGroupId": {"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}}
    )


def test_egress_mode_adds_public_subnets_and_nat_without_public_ips(flipped_foundation: assertions.Template) -> None:
    flipped_foundation.resource_count_is("AWS::EC2::InternetGateway", 1)
    flipped_foundation.resource_count_is("AWS::EC2::NatGateway", 3)  # prod: one per AZ
    subnets = _props(flipped_foundation, "AWS::EC2::Subnet")
    assert len(subnets) == 6
    assert all(subnet["MapPublicIpOnLaunch"] is False for subnet in subnets)
    private_routes = [
        route
        for route in _props(flipped_foundation, "AWS::EC2::Route")
        if route["DestinationCidrBlock"] == "0.0.0.0/0" and "NatGatewayId" in route
    ]
    assert len(private_routes) == 3


def test_prod_places_interface_endpoints_in_two_azs(flipped_foundation: assertions.Template) -> None:
    interfaces = [p for p in _props(flipped_foundation, "AWS::EC2::VPCEndpoint") if p["VpcEndpointType"] == "Interface"]
    assert interfaces
    assert all(len(endpoint["SubnetIds"]) == 2 for endpoint in interfaces)


def _existing() -> ExistingVpc:
    assert EXISTING.existing_vpc is not None
    return EXISTING.existing_vpc


def _all_resources(assembly: Assembly) -> dict[str, dict[str, Any]]:
    return {
        f"{stack}/{logical_id}": resource
        for stack in assembly.stacks
        for logical_id, resource in assembly.template(stack)["Resources"].items()
    }


def _in_vpc_functions(assembly: Assembly) -> dict[str, tuple[list[str], list[str]]]:
    """The subnets and the security groups' VPCs of each function that runs in the VPC, by handler."""
    found = {}
    for stack in assembly.stacks:
        resources = assembly.template(stack)["Resources"]
        for resource in resources.values():
            properties = resource["Properties"]
            if resource["Type"] == "AWS::Lambda::Function" and "VpcConfig" in properties:
                groups = [resources[ref["Fn::GetAtt"][0]] for ref in properties["VpcConfig"]["SecurityGroupIds"]]
                vpcs = [group["Properties"]["VpcId"] for group in groups]
                found[properties["Handler"]] = (properties["VpcConfig"]["SubnetIds"], vpcs)
    return found


def _network_synth(tmp_path: Path, settings: dict[str, Any]) -> Assembly:
    """Only the Network construct for `settings` (the network object), with the compliance packs."""
    app = cdk.App(outdir=str(tmp_path), context=CLI_CONTEXT)
    stack = cdk.Stack(app, "Foundation")
    Network(
        stack,
        "Network",
        config=parse_settings({"network": settings}).network,
        key=kms.Key(stack, "Key", enable_key_rotation=True),
        log_retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    add_compliance_checks(app)
    app.synth()
    return Assembly(tmp_path)


def test_an_existing_vpc_is_imported_and_nothing_of_a_vpc_is_created(existing_vpc_assembly: Assembly) -> None:
    created = {
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::RouteTable",
        "AWS::EC2::Route",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "Custom::VpcRestrictDefaultSG",
    }
    resources = _all_resources(existing_vpc_assembly).values()

    assert "AWS::Lambda::Function" in {resource["Type"] for resource in resources}
    assert not {resource["Type"] for resource in resources} & created
    vpcs = {
        resource["Type"]: resource["Properties"]["VpcId"] for resource in resources if "VpcId" in resource["Properties"]
    }
    assert set(vpcs) == {"AWS::EC2::SecurityGroup", "AWS::EC2::VPCEndpoint"}
    assert set(vpcs.values()) == {_existing().vpc_id}


def test_functions_in_an_existing_vpc_run_in_its_subnets_as_they_would_in_a_created_one(
    assembly: Assembly, existing_vpc_assembly: Assembly
) -> None:
    in_existing = _in_vpc_functions(existing_vpc_assembly)

    assert set(in_existing) == set(_in_vpc_functions(assembly))  # the same functions, in the VPC either way
    for handler, (subnets, vpcs) in in_existing.items():
        assert subnets == list(_existing().subnet_ids), handler
        assert vpcs == [_existing().vpc_id], handler  # one security group of its own, in that VPC


def test_an_existing_vpc_gets_only_the_configured_endpoints_in_the_endpoint_azs(
    existing_vpc_assembly: Assembly,
) -> None:
    foundation = existing_vpc_assembly.assertions("Foundation")
    endpoints = _props(foundation, "AWS::EC2::VPCEndpoint")
    interfaces = [p for p in endpoints if p["VpcEndpointType"] == "Interface"]
    gateways = [p for p in endpoints if p["VpcEndpointType"] == "Gateway"]

    assert [p["ServiceName"]["Fn::Join"][1][-1] for p in interfaces] == [".bedrock-runtime"]
    assert interfaces[0]["SubnetIds"] == list(_existing().subnet_ids[:2])  # endpoint_azs = 2
    assert interfaces[0]["PrivateDnsEnabled"] is True
    assert [p["ServiceName"]["Fn::Join"][1][-1] for p in gateways] == [".dynamodb"]  # S3's is the VPC's own
    # Two subnets share a route table: the gateway endpoint names each route table once.
    assert gateways[0]["RouteTableIds"] == ["rtb-0aa11bb22cc33dd44", "rtb-0fedcba9876543210"]


def test_endpoint_security_groups_of_an_existing_vpc_admit_only_https_from_its_cidr(
    existing_vpc_assembly: Assembly,
) -> None:
    groups = _props(existing_vpc_assembly.assertions("Foundation"), "AWS::EC2::SecurityGroup")

    assert len(groups) == len(EXISTING.interface_endpoints)
    for group in groups:
        assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["SecurityGroupIngress"]] == [
            ("tcp", 443, 443, "172.31.0.0/16")
        ]
        assert [rule["CidrIp"] for rule in group["SecurityGroupEgress"]] == ["255.255.255.255/32"]  # no egress


def test_an_existing_vpc_gets_a_flow_log_of_all_its_traffic_by_default(existing_vpc_assembly: Assembly) -> None:
    foundation = existing_vpc_assembly.assertions("Foundation")
    ((log_group_id, _),) = _resources(foundation, "AWS::Logs::LogGroup").items()

    (flow_log,) = _props(foundation, "AWS::EC2::FlowLog")
    assert {key: flow_log[key] for key in ("ResourceId", "ResourceType", "TrafficType", "LogGroupName")} == {
        "ResourceId": _existing().vpc_id,
        "ResourceType": "VPC",
        "TrafficType": "ALL",
        "LogGroupName": {"Ref": log_group_id},
    }


def test_an_existing_vpc_has_no_open_compliance_findings_and_lints_clean(existing_vpc_assembly: Assembly) -> None:
    report = existing_vpc_assembly.validation_report
    findings = [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert len(report["pluginReports"]) == 4
    assert not findings, "open cdk-nag findings:\n" + "\n".join(findings)

    templates = sorted(str(path) for path in existing_vpc_assembly.outdir.glob("*.template.json"))
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--config-file", str(ROOT / ".cfnlintrc.yaml"), "--", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    assert len(templates) == 2
    assert result.returncode == 0, result.stdout + result.stderr


def test_flow_logs_turned_off_on_a_created_vpc_is_an_acknowledged_choice(tmp_path: Path) -> None:
    assembly = _network_synth(tmp_path, {"flow_logs": False})
    template = assembly.assertions("Foundation")

    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::FlowLog", 0)
    assert not _resources(template, "AWS::Logs::LogGroup")  # nor the log group and role that would hold them
    assert not _resources(template, "AWS::IAM::Role")
    report = assembly.validation_report
    assert not [v for plugin in report["pluginReports"] for v in plugin["violations"]]
    acknowledged = {
        suppressed["ruleName"]: suppressed["reason"]
        for plugin in report["pluginReports"]
        for suppressed in plugin["suppressedViolations"]
        if "FlowLog" in suppressed["ruleName"] or suppressed["ruleName"] == "AwsSolutions-VPC7"
    }
    assert set(acknowledged) == {
        "AwsSolutions-VPC7",
        "NIST.800.53.R5-VPCFlowLogsEnabled",
        "HIPAA.Security-VPCFlowLogsEnabled",
    }
    assert all("network.flow_logs=false" in reason for reason in acknowledged.values())


def test_flow_logs_turned_off_on_an_existing_vpc_add_nothing_to_it(tmp_path: Path) -> None:
    settings = {**CONFIGURATIONS["existing_vpc"]["network"], "flow_logs": False}
    template = _network_synth(tmp_path, settings).template("Foundation")["Resources"]

    types = [resource["Type"] for resource in template.values()]
    assert "AWS::EC2::VPCEndpoint" in types
    assert "AWS::EC2::FlowLog" not in types
    assert "AWS::IAM::Role" not in types  # nor the role that delivers flow logs
    assert json.dumps(template).count("vpc-flow-logs") == 0


@pytest.mark.parametrize("names", [[], ["s3"], ["s3", "dynamodb"]])
def test_an_existing_vpc_gets_exactly_the_gateway_endpoints_asked_for(tmp_path: Path, names: list[str]) -> None:
    network = CONFIGURATIONS["existing_vpc"]["network"]
    settings = {**network, "existing_vpc": {**network["existing_vpc"], "gateway_endpoints": names}}
    template = _network_synth(tmp_path, settings).assertions("Foundation")

    gateways = [p for p in _props(template, "AWS::EC2::VPCEndpoint") if p["VpcEndpointType"] == "Gateway"]
    assert sorted(p["ServiceName"]["Fn::Join"][1][-1] for p in gateways) == sorted(f".{name}" for name in names)
