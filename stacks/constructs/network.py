"""The VPC: isolated subnets, flow logs and the endpoints the Lambdas reach AWS through."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from stacks.config import NetworkConfig
from stacks.constructs.common import acknowledge
from stacks.constructs.provider_logs import log_provider
from stacks.constructs.roles import ManagedPolicyRole, service_principal

_INTERFACE_SERVICES = {
    "bedrock-runtime": ("BedrockRuntime", ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME),
    "bedrock-agent-runtime": ("BedrockAgentRuntime", ec2.InterfaceVpcEndpointAwsService.BEDROCK_AGENT_RUNTIME),
    "bedrock-agent": ("BedrockAgent", ec2.InterfaceVpcEndpointAwsService.BEDROCK_AGENT),
    "bedrock-agentcore": ("BedrockAgentCore", ec2.InterfaceVpcEndpointAwsService.BEDROCK_AGENTCORE),
    "xray": ("XRay", ec2.InterfaceVpcEndpointAwsService.XRAY),
}


_GATEWAY_SERVICES = {
    "s3": ("S3", ec2.GatewayVpcEndpointAwsService.S3),
    "dynamodb": ("DynamoDb", ec2.GatewayVpcEndpointAwsService.DYNAMODB),
}


class Network(Construct):
    """A VPC whose workloads reach AWS services through VPC endpoints, with no internet route by default.

    With `existing_vpc` set, that VPC is imported as given and only the endpoints and the flow log are added to it.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: NetworkConfig,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, id_)
        self.flow_log_group: logs.LogGroup | None = None
        flow_logs: dict[str, ec2.FlowLogOptions] = {}
        if config.flow_logs:
            self.flow_log_group = logs.LogGroup(
                self, "FlowLogs", encryption_key=key, retention=log_retention, removal_policy=removal_policy
            )
            destination = ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group, self._flow_log_role())
            flow_logs["All"] = ec2.FlowLogOptions(destination=destination, traffic_type=ec2.FlowLogTrafficType.ALL)

        existing = config.existing_vpc
        if existing is None:
            private_type = ec2.SubnetType.PRIVATE_WITH_EGRESS if config.has_egress else ec2.SubnetType.PRIVATE_ISOLATED
            self.vpc: ec2.IVpc = self._created_vpc(config, private_type, flow_logs)
            log_provider(
                self,
                "Custom::VpcRestrictDefaultSGCustomResourceProvider",
                key=key,
                retention=log_retention,
                removal_policy=removal_policy,
            )
            self.workload_subnets = ec2.SubnetSelection(subnet_type=private_type)
            private_subnets = self.vpc.select_subnets(subnet_type=private_type).subnets
        else:
            # No lookup: every attribute is given, so synth needs neither credentials nor a pinned region.
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=existing.vpc_id,
                vpc_cidr_block=existing.cidr,
                availability_zones=list(existing.availability_zones),
                private_subnet_ids=list(existing.subnet_ids),
                private_subnet_route_table_ids=list(existing.route_table_ids),
            )
            for name, options in flow_logs.items():
                self.vpc.add_flow_log(name, destination=options.destination, traffic_type=options.traffic_type)
            for name in existing.gateway_endpoints:
                construct_id, service = _GATEWAY_SERVICES[name]
                self.vpc.add_gateway_endpoint(
                    construct_id, service=service, subnets=[ec2.SubnetSelection(subnets=self.vpc.private_subnets)]
                )
            private_subnets = self.vpc.private_subnets
            self.workload_subnets = ec2.SubnetSelection(subnets=private_subnets)

        # Interface endpoints bill per AZ, so they sit in the first `endpoint_azs` AZs; private DNS
        # makes them answer for the service's public name from every subnet of the VPC.
        endpoint_subnets = private_subnets[: config.endpoint_azs]
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for name in config.interface_endpoints:
            construct_id, interface = _INTERFACE_SERVICES[name]
            security_group = ec2.SecurityGroup(
                self,
                f"{construct_id}EndpointSecurityGroup",
                vpc=self.vpc,
                description=f"HTTPS from inside the VPC to the {name} endpoint",
                allow_all_outbound=False,
            )
            security_group.add_ingress_rule(ec2.Peer.ipv4(config.cidr), ec2.Port.tcp(443), "HTTPS from inside the VPC")
            self.endpoints[name] = self.vpc.add_interface_endpoint(
                f"{construct_id}Endpoint",
                service=interface,
                subnets=ec2.SubnetSelection(subnets=endpoint_subnets),
                security_groups=[security_group],
                open=False,
                private_dns_enabled=True,
            )

    def _created_vpc(
        self, config: NetworkConfig, private_type: ec2.SubnetType, flow_logs: dict[str, ec2.FlowLogOptions]
    ) -> ec2.Vpc:
        """A VPC of private subnets (plus public ones and NAT gateways with egress=nat) and both gateway endpoints."""
        subnets = [ec2.SubnetConfiguration(name="Private", subnet_type=private_type)]
        if config.has_egress:
            subnets.insert(
                0,
                ec2.SubnetConfiguration(
                    name="Public", subnet_type=ec2.SubnetType.PUBLIC, map_public_ip_on_launch=False
                ),
            )
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.cidr),
            max_azs=config.max_azs,
            subnet_configuration=subnets,
            nat_gateways=config.nat_gateways if config.has_egress else 0,
            restrict_default_security_group=True,
            gateway_endpoints={
                construct_id: ec2.GatewayVpcEndpointOptions(service=service)
                for construct_id, service in _GATEWAY_SERVICES.values()
            },
            flow_logs=flow_logs,
        )
        for subnet in vpc.public_subnets:
            _acknowledge_nat_route(subnet.node.find_child("DefaultRoute"))
        if not config.flow_logs:
            _acknowledge_no_flow_logs(vpc)
        return vpc

    def _flow_log_role(self) -> iam.IRole:
        """The role VPC Flow Logs assumes to deliver this VPC's records."""
        stack = cdk.Stack.of(self)
        return ManagedPolicyRole(
            self,
            "FlowLogRole",
            description="Lets VPC Flow Logs deliver this VPC's flow logs to its log group",
            assumed_by=service_principal(
                "vpc-flow-logs.amazonaws.com",
                source_account=stack.account,
                source_arn=stack.format_arn(service="ec2", resource="vpc-flow-log", resource_name="*"),
            ),
        )


def _acknowledge_nat_route(route: IConstruct) -> None:
    reason = (
        "Only in the opt-in egress mode (network.egress=nat): this public subnet's 0.0.0.0/0 route to the "
        "internet gateway is what lets its NAT gateway reach the internet. Nothing else runs in public "
        "subnets: they assign no public IPs and every workload uses the private subnets."
    )
    for pack in ("NIST.800.53.R5", "HIPAA.Security"):
        acknowledge(route, f"{pack}-VPCNoUnrestrictedRouteToIGW", reason)


def _acknowledge_no_flow_logs(vpc: ec2.Vpc) -> None:
    reason = (
        "Only with network.flow_logs=false: the deployer chose to keep no flow log of this VPC (its traffic is "
        "then recorded nowhere); the default, and every profile, creates one into the project's encrypted log group."
    )
    acknowledge(vpc, "AwsSolutions-VPC7", reason)
    for pack in ("NIST.800.53.R5", "HIPAA.Security"):
        acknowledge(vpc, f"{pack}-VPCFlowLogsEnabled", reason)
