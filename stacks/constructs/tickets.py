"""The support tickets the agent creates and reads for each caller."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.constructs.common import acknowledge


class Tickets(Construct):
    """An on-demand DynamoDB table, encrypted with the project key, with point-in-time recovery."""

    STATUS_INDEX = "status-created"
    OWNER_INDEX = "owner-status"

    def __init__(self, scope: Construct, id_: str, *, key: kms.IKey, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        self._key = key
        retain = removal_policy == cdk.RemovalPolicy.RETAIN
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="ticket_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=retain,
            removal_policy=removal_policy,
        )
        # The support team lists every caller's tickets by status, newest first.
        self.table.add_global_secondary_index(
            index_name=self.STATUS_INDEX,
            partition_key=dynamodb.Attribute(name="status", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.STRING),
        )
        # The agent lists one caller's own tickets of a status, newest first (sort key "<status>#<created_at>").
        self.table.add_global_secondary_index(
            index_name=self.OWNER_INDEX,
            partition_key=dynamodb.Attribute(name="owner", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="status_created", type=dynamodb.AttributeType.STRING),
        )
        for pack in ("NIST.800.53.R5", "HIPAA.Security"):
            acknowledge(
                self.table,
                f"{pack}-DynamoDBInBackupPlan",
                "Point-in-time recovery keeps continuous backups of the table for 35 days; an AWS Backup plan "
                "(vault, schedule, cross-account copies) is an organisation-wide choice left to the deployer.",
            )

    def grant_owned_access(self, grantee: iam.IGrantable) -> None:
        """What the API does for a caller: put, get and update tickets by id, and query the owner index."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            resource_arns=[self.table.table_arn],
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.table.table_arn}/index/{self.OWNER_INDEX}"],
        )
        self._key.grant(grantee, "kms:Decrypt", "kms:GenerateDataKey")
