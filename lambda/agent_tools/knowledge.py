"""The knowledge tools: passages from the knowledge base, named by document, never by bucket URI."""

from collections.abc import Mapping
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from common.aws_errors import describe
from common.documents import document_name

logger = Logger(child=True)

DEFAULT_RESULTS = 5


class AgentRuntimeClient(Protocol):
    """The part of the bedrock-agent-runtime client this module calls."""

    def retrieve(self, **kwargs: Any) -> dict[str, Any]:
        """Retrieve."""


def search_documents(
    client: AgentRuntimeClient, knowledge_base_id: str, arguments: Mapping[str, Any]
) -> dict[str, Any]:
    """The passages most relevant to the query, each with its document and score (text passages only)."""
    if not knowledge_base_id:
        logger.error("KNOWLEDGE_BASE_ID must be set")
        return {"error": "The knowledge base is not configured."}
    try:
        response = client.retrieve(
            knowledgeBaseId=knowledge_base_id,
            retrievalQuery={"text": arguments["query"]},
            retrievalConfiguration={
                "vectorSearchConfiguration": {"numberOfResults": arguments.get("max_results", DEFAULT_RESULTS)}
            },
        )
    except (ClientError, BotoCoreError) as error:
        logger.error("Could not search the knowledge base", extra={"error": describe(error)})
        return {"error": "The knowledge base could not be searched right now; say so and do not guess."}
    results = [
        {
            "text": result.get("content", {}).get("text", ""),
            "source": document_name(result.get("location", {})),
            "score": result.get("score"),
        }
        for result in response.get("retrievalResults", [])
        if result.get("content", {}).get("text")
    ]
    return {"results": results}
