"""The network promises: no internet path by default, flow logs, and HTTPS-only endpoints."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions
from aws_cdk.assertions import Match

from stacks.config import DEFAULT_INTERFACE_ENDPOINTS, INTERFACE_ENDPOINTS
from tests.synth import resources_at


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
