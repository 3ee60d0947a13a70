"""Tests of the Bedrock agent tools Lambda."""
