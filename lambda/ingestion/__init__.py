"""Knowledge-base ingestion: start Bedrock ingestion jobs for the document changes EventBridge reports."""
