#!/usr/bin/env python3
"""Entry point for the CDK CLI: context → AppConfig → build_app → synth."""

import sys

import aws_cdk as cdk

from stacks.app import build_app
from stacks.config import ConfigError, load_config

app = cdk.App()
try:
    config = load_config(app.node.get_all_context())
except ConfigError as error:
    sys.exit(f"config error: {error}")
build_app(config, app).synth()
