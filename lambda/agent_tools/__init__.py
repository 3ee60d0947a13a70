"""Bedrock agent tools: the SupportTickets function-schema action group and the Status OpenAPI action group."""
