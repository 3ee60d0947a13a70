"""POST /retrieve: knowledge-base search; every passage goes through the guardrail before it is returned.

Passages are checked as INPUT: they are text a model reads next (the caller's prompt, an agent's context), and
the prompt-attack filter, which catches instructions planted in a document, runs on input only. PII, denied
topics and words act the same on either side.

Passages name their document relative to documents/, never by bucket URI, and keep only the document's own
metadata (not Bedrock's x-amz-bedrock-* attributes). A passage the guardrail blocks is left out and counted.
"""

from collections.abc import Mapping
from typing import Any

from api import guardrail
from api.errors import AWS_ERRORS, from_aws
from api.filters import check_filter
from api.reply import Call, Reply
from api.services import Services
from common.documents import document_name

DEFAULT_TOP_K = 5
BEDROCK_METADATA = "x-amz-bedrock-"


def retrieve_request(services: Services, body: Mapping[str, Any]) -> dict[str, Any]:
    search: dict[str, Any] = {"numberOfResults": body.get("topK", DEFAULT_TOP_K)}
    if "filter" in body:
        check_filter(body["filter"])
        search["filter"] = body["filter"]
    return {
        "knowledgeBaseId": services.settings.get("KNOWLEDGE_BASE_ID"),
        "retrievalQuery": {"text": body["query"]},
        "retrievalConfiguration": {"vectorSearchConfiguration": search},
    }


def own_metadata(metadata: object) -> dict[str, Any]:
    """The document's own metadata attributes; Bedrock's (source URI, chunk and data source ids) stay inside."""
    if not isinstance(metadata, Mapping):
        return {}
    return {key: value for key, value in metadata.items() if not str(key).startswith(BEDROCK_METADATA)}


def answer(services: Services, call: Call) -> Reply:
    """Answer POST /retrieve: the passages most relevant to the query, as the guardrail lets them out."""
    request = retrieve_request(services, call.body)
    services.spend(call.identity)
    try:
        response = services.agent_runtime.retrieve(**request)
    except AWS_ERRORS as error:
        raise from_aws(error) from error
    found = [result for result in response.get("retrievalResults", []) if result.get("content", {}).get("text")]
    verdicts = guardrail.apply(services, [result["content"]["text"] for result in found], source="INPUT")
    results = [
        {
            "text": verdict.text,
            "score": result.get("score"),
            "source": document_name(result.get("location", {})),
            "metadata": own_metadata(result.get("metadata")),
        }
        for result, verdict in zip(found, verdicts, strict=True)
        if not verdict.blocked
    ]
    withheld = sum(verdict.blocked for verdict in verdicts)
    intervened = any(verdict.intervened for verdict in verdicts)
    summary = {"action": "INTERVENED" if intervened else "NONE", "withheld": withheld}
    return Reply({"results": results, "guardrail": summary}, interventions=int(intervened))
