"""Knowledge-base ingestion: start Bedrock ingestion jobs for document changes, and count how those jobs end."""
