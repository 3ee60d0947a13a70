"""The agent's gateway tools: current time, knowledge base sync status and knowledge base search."""
