"""The REST API function: chat, compare, retrieval, answers and the agent over Bedrock, behind API Gateway."""
