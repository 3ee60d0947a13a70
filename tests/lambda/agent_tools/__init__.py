"""Tests of the agent gateway tools Lambda (lambda/agent_tools)."""
