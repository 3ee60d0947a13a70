"""POST /ask and /ask/stream: an answer grounded in the knowledge base, with citations, behind the guardrail.

Bedrock names the conversation; the caller sees that name bound to them (api.sessions) and may continue only
their own. Citations name documents relative to documents/, never by bucket URI.
"""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from api import sse
from api.errors import AWS_ERRORS, from_aws
from api.reply import Call, Reply
from api.services import Services
from api.sessions import ASK
from common.documents import document_name

DEFAULT_TOP_K = 5


def sources(references: Iterable[Mapping[str, Any]]) -> list[str]:
    """The documents of retrieved references, each once, in order."""
    names = (document_name(reference.get("location", {})) for reference in references)
    return list(dict.fromkeys(name for name in names if name))


def citations(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Citations as the API returns them: the cited part of the answer and its documents."""
    return [
        {
            "text": citation.get("generatedResponsePart", {}).get("textResponsePart", {}).get("text", ""),
            "sources": sources(citation.get("retrievedReferences", [])),
        }
        for citation in entries
    ]


def ask_request(services: Services, body: Mapping[str, Any], session: str | None) -> dict[str, Any]:
    """The RetrieveAndGenerate request: the guardrail and a bounded maxTokens on the generation."""
    settings = services.settings
    configuration = {
        "knowledgeBaseId": settings.get("KNOWLEDGE_BASE_ID"),
        "modelArn": settings.get("GENERATION_MODEL_ARN"),
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": body.get("topK", DEFAULT_TOP_K)}},
        "generationConfiguration": {
            "guardrailConfiguration": {
                "guardrailId": settings.get("GUARDRAIL_ID"),
                "guardrailVersion": settings.get("GUARDRAIL_VERSION"),
            },
            "inferenceConfig": {"textInferenceConfig": {"maxTokens": settings.max_tokens(body.get("maxTokens"))}},
        },
    }
    request: dict[str, Any] = {
        "input": {"text": body["question"]},
        "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": configuration},
    }
    if session is not None:
        request["sessionId"] = session
    return request


def _start(services: Services, call: Call) -> tuple[dict[str, Any], Any]:
    sessions = services.sessions()
    body = call.body
    session = sessions.value(ASK, call.identity, body["sessionId"]) if "sessionId" in body else None
    services.spend(call.identity)
    return ask_request(services, body, session), sessions


def answer(services: Services, call: Call) -> Reply:
    """Answer POST /ask."""
    request, sessions = _start(services, call)
    try:
        response = services.agent_runtime.retrieve_and_generate(**request)
    except AWS_ERRORS as error:
        raise from_aws(error) from error
    action = "INTERVENED" if response.get("guardrailAction") == "INTERVENED" else "NONE"
    reply = {
        "answer": response.get("output", {}).get("text", ""),
        "citations": citations(response.get("citations", [])),
        "sessionId": sessions.bind(ASK, call.identity, response["sessionId"]),
        "guardrail": {"action": action},
    }
    return Reply(reply, interventions=int(action == "INTERVENED"))


def stream(services: Services, call: Call) -> Iterator[sse.Event]:
    """Answer POST /ask/stream: the session, the answer as it is generated, its citations, and the guardrail."""
    request, sessions = _start(services, call)
    try:
        response = services.agent_runtime.retrieve_and_generate_stream(**request)
        yield sse.Event("session", {"sessionId": sessions.bind(ASK, call.identity, response["sessionId"])})
        intervened = False
        for event in response["stream"]:
            if "output" in event:
                if event["output"].get("text"):
                    yield sse.delta(event["output"]["text"])
            elif "citation" in event:
                # The event's own parts; older responses nest them in its deprecated `citation` member.
                entry = event["citation"]
                for citation in citations([entry if "retrievedReferences" in entry else entry.get("citation", {})]):
                    # One event per document, as the vocabulary has it (api.sse): {source, text?}.
                    cited = {"text": citation["text"]} if citation["text"] else {}
                    for source in citation["sources"]:
                        yield sse.Event("citation", {"source": source, **cited})
            elif event.get("guardrail", {}).get("action") == "INTERVENED":
                intervened = True
                yield sse.Event("guardrail", {"action": "INTERVENED", "message": services.settings.blocked_message})
        yield sse.Event("metadata", {"guardrail": {"action": "INTERVENED" if intervened else "NONE"}})
    except AWS_ERRORS as error:
        raise from_aws(error) from error
    yield sse.done()
