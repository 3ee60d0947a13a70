"""The stateful stack: network, encryption and (later) the data the application reads."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from stacks.config import AppConfig
from stacks.constructs.common import data_removal_policy, log_retention
from stacks.constructs.encryption import Encryption
from stacks.constructs.network import Network


class FoundationStack(cdk.Stack):
    """Network, keys and data: deployed rarely, retained on destroy."""

    def __init__(self, scope: Construct, id_: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, id_, **kwargs)
        self._max_azs = config.network.max_azs

        self.encryption = Encryption(self, "Encryption", removal_policy=data_removal_policy(config))
        self.network = Network(
            self,
            "Network",
            config=config.network,
            key=self.encryption.key,
            log_retention=log_retention(config),
            removal_policy=data_removal_policy(config),
        )

    @property
    def availability_zones(self) -> list[str]:
        # Without an account and region, CDK offers only two AZs and a lookup would need credentials;
        # Fn::GetAZs resolves at deploy time in whatever region the stack lands in.
        return [cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(self._max_azs)]
