"""The agent's AgentCore Memory: what it remembers of each caller's conversations, on the project key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# One summary per conversation, filed under the caller (the actor) and the session: no caller reads another's.
SUMMARY_NAMESPACE = "/summaries/{actorId}/{sessionId}/"
# What a harness does with its memory (AgentCore harness guide, execution role for a bring-your-own memory).
USE_ACTIONS = (
    "bedrock-agentcore:CreateEvent",
    "bedrock-agentcore:DeleteEvent",
    "bedrock-agentcore:GetEvent",
    "bedrock-agentcore:ListEvents",
    "bedrock-agentcore:RetrieveMemoryRecords",
)


class AgentMemory(Construct):
    """Short-term events and per-session summaries, kept `days` days and encrypted with the project key.

    The key cannot change in place: a new key replaces the memory and loses what it held, so the memory is
    retained like the other data and its logical ID is pinned by a test.
    """

    def __init__(
        self, scope: Construct, id_: str, *, days: int, key: kms.IKey, removal_policy: cdk.RemovalPolicy
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.memory = agentcore.CfnMemory(
            self,
            "Resource",
            name=f"{stack.stack_name.replace('-', '_')[:40]}_memory",
            description="The agent's memory of each caller's conversations",
            event_expiry_duration=days,
            encryption_key_arn=key.key_arn,
            memory_strategies=[
                agentcore.CfnMemory.MemoryStrategyProperty(
                    summary_memory_strategy=agentcore.CfnMemory.SummaryMemoryStrategyProperty(
                        name="session_summary",
                        description="A summary of each conversation, per caller and session",
                        namespace_templates=[SUMMARY_NAMESPACE],
                    )
                )
            ],
        )
        self.memory.apply_removal_policy(removal_policy)
        self.memory_arn = self.memory.attr_memory_arn
        self.memory_id = self.memory.attr_memory_id

    def grant_use(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` (the harness) record and recall events and read the summaries."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=list(USE_ACTIONS), resource_arns=[self.memory_arn])
