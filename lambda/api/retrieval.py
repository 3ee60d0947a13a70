"""POST /retrieve (knowledge-base search) and POST /ask (answers with citations, behind the guardrail)."""

from collections.abc import Iterable, Mapping
from typing import Any

from api.config import Settings
from api.errors import BEDROCK_ERRORS, Target, from_bedrock
from api.identity import Caller
from api.reply import Reply
from api.sessions import ASK, SessionBinder

DEFAULT_TOP_K = 5


def s3_uri(reference: Mapping[str, Any]) -> str | None:
    """The S3 URI of a retrieved passage, or None for other kinds of source."""
    uri = reference.get("location", {}).get("s3Location", {}).get("uri")
    return uri if isinstance(uri, str) and uri else None


def citations(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Citations as the API returns them: the cited part of the answer and its sources, each once."""
    result: list[dict[str, Any]] = []
    for citation in entries:
        text = citation.get("generatedResponsePart", {}).get("textResponsePart", {}).get("text", "")
        uris = (s3_uri(reference) for reference in citation.get("retrievedReferences", []))
        result.append({"text": text, "sources": list(dict.fromkeys(uri for uri in uris if uri))})
    return result


def knowledge_base_target(settings: Settings, *, generation: bool) -> Target:
    knowledge_base = settings.get("KNOWLEDGE_BASE_ID")
    if not generation:
        access = f"allow the function's role bedrock:Retrieve on knowledge base {knowledge_base}."
        return Target(resource=f"knowledge base {knowledge_base}", access=access)
    model = settings.get("GENERATION_MODEL_ARN")
    access = (
        "enable the model on the Model access page of the Bedrock console, in this region, and allow the "
        "function's role bedrock:RetrieveAndGenerate, bedrock:Retrieve on the knowledge base, bedrock:InvokeModel "
        f"on the model and bedrock:ApplyGuardrail on guardrail {settings.get('GUARDRAIL_ID')}."
    )
    return Target(resource=f"knowledge base {knowledge_base} or model {model}", access=access)


def retrieve_request(settings: Settings, body: Mapping[str, Any]) -> dict[str, Any]:
    search: dict[str, Any] = {"numberOfResults": body.get("topK", DEFAULT_TOP_K)}
    if "filter" in body:
        search["filter"] = body["filter"]
    return {
        "knowledgeBaseId": settings.get("KNOWLEDGE_BASE_ID"),
        "retrievalQuery": {"text": body["query"]},
        "retrievalConfiguration": {"vectorSearchConfiguration": search},
    }


def retrieve(client: Any, settings: Settings, body: Mapping[str, Any]) -> Reply:
    """Answer POST /retrieve: the passages most relevant to the query."""
    settings.require("KNOWLEDGE_BASE_ID")
    try:
        response = client.retrieve(**retrieve_request(settings, body))
    except BEDROCK_ERRORS as error:
        raise from_bedrock(error, knowledge_base_target(settings, generation=False)) from error
    results = [
        {
            "text": result.get("content", {}).get("text", ""),
            "score": result.get("score"),
            "source": s3_uri(result),
            "metadata": result.get("metadata", {}),
        }
        for result in response.get("retrievalResults", [])
    ]
    return Reply({"results": results})


def ask_request(settings: Settings, body: Mapping[str, Any], session: str | None = None) -> dict[str, Any]:
    """The RetrieveAndGenerate request: the guardrail is always attached to the generation."""
    configuration = {
        "knowledgeBaseId": settings.get("KNOWLEDGE_BASE_ID"),
        "modelArn": settings.get("GENERATION_MODEL_ARN"),
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": body.get("topK", DEFAULT_TOP_K)}},
        "generationConfiguration": {
            "guardrailConfiguration": {
                "guardrailId": settings.get("GUARDRAIL_ID"),
                "guardrailVersion": settings.get("GUARDRAIL_VERSION"),
            }
        },
    }
    request: dict[str, Any] = {
        "input": {"text": body["question"]},
        "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": configuration},
    }
    if session is not None:
        request["sessionId"] = session
    return request


def ask(client: Any, settings: Settings, sessions: SessionBinder, caller: Caller, body: Mapping[str, Any]) -> Reply:
    """Answer POST /ask: a generated answer grounded in the knowledge base, with its citations.

    Bedrock names the conversation; the caller sees that name bound to them, and may continue only their own.
    """
    settings.require("KNOWLEDGE_BASE_ID", "GENERATION_MODEL_ARN", "GUARDRAIL_ID", "GUARDRAIL_VERSION")
    session = sessions.value(ASK, caller, body["sessionId"]) if "sessionId" in body else None
    try:
        response = client.retrieve_and_generate(**ask_request(settings, body, session))
    except BEDROCK_ERRORS as error:
        raise from_bedrock(error, knowledge_base_target(settings, generation=True)) from error
    action = "INTERVENED" if response.get("guardrailAction") == "INTERVENED" else "NONE"
    answer = {
        "answer": response.get("output", {}).get("text", ""),
        "citations": citations(response.get("citations", [])),
        "sessionId": sessions.bind(ASK, caller, response.get("sessionId") or session or ""),
        "guardrail": {"action": action},
    }
    return Reply(answer, interventions=int(action == "INTERVENED"))
