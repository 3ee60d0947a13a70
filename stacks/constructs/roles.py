"""IAM roles whose permissions live in one customer-managed policy."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct


class ManagedPolicyRole(iam.Role):
    """A role whose grants go to a customer-managed policy of its own, never to an inline policy.

    Inline policies cannot be reviewed, reused or audited apart from their role (NIST 800-53 AC-6,
    HIPAA 164.312(a)(1)); every `grant_*` and `add_to_principal_policy` lands in `self.policy`.
    """

    def __init__(self, scope: Construct, id_: str, *, assumed_by: iam.IPrincipal, description: str) -> None:
        super().__init__(scope, id_, assumed_by=assumed_by, description=description)
        self.policy = iam.ManagedPolicy(self, "Policy", description=description, roles=[self])

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        self.policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.policy)


def service_principal(service: str, *, source_arn: str, source_account: str) -> iam.ServicePrincipal:
    """A service principal limited to one account and source ARN pattern (no confused deputy)."""
    return iam.ServicePrincipal(
        service,
        conditions={"StringEquals": {"aws:SourceAccount": source_account}, "ArnLike": {"aws:SourceArn": source_arn}},
    )
