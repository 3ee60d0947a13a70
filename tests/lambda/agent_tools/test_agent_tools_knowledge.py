"""search_documents: one Retrieve call, passages named by their document, never by the bucket."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from agent_tools import knowledge
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from .agent_tools_fakes import (
    ACCOUNT,
    BUCKET,
    DENIED_MESSAGE,
    KB_ID,
    LogLines,
    gateway_context,
    retrieve_params,
    s3_passage,
    web_passage,
)

SEARCH = "knowledge___search_documents"
QUERY = "How do I resync the knowledge base?"


def search(tools: ModuleType, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = tools.knowledge_tools({"query": QUERY, **arguments}, gateway_context(SEARCH))
    return result


def test_five_passages_by_default(tools: ModuleType, runtime_stub: Stubber) -> None:
    runtime_stub.add_response("retrieve", {"retrievalResults": []}, retrieve_params(QUERY, 5))

    assert search(tools) == {"results": []}


@pytest.mark.parametrize("max_results", [1, 3, 10])
def test_the_number_of_passages_asked_for(tools: ModuleType, runtime_stub: Stubber, max_results: int) -> None:
    runtime_stub.add_response("retrieve", {"retrievalResults": []}, retrieve_params(QUERY, max_results))

    assert search(tools, max_results=max_results) == {"results": []}


def test_passages_keep_their_order_text_and_score_and_name_their_document(
    tools: ModuleType, runtime_stub: Stubber
) -> None:
    found = [
        s3_passage("Run make sync to start an ingestion job.", "documents/guides/sync.md", 0.91),
        web_passage("Ingestion jobs index new documents.", "https://docs.example.com/kb/ingestion", 0.72),
        s3_passage("The bucket keeps every version.", "documents/architecture.md", 0.55),
    ]
    runtime_stub.add_response("retrieve", {"retrievalResults": found}, retrieve_params(QUERY, 3))

    assert search(tools, max_results=3) == {
        "results": [
            {"text": "Run make sync to start an ingestion job.", "source": "guides/sync.md", "score": 0.91},
            {
                "text": "Ingestion jobs index new documents.",
                "source": "https://docs.example.com/kb/ingestion",
                "score": 0.72,
            },
            {"text": "The bucket keeps every version.", "source": "architecture.md", "score": 0.55},
        ]
    }


@pytest.mark.parametrize(
    "key", ["documents/guides/sync.md", "documents/a/b/c/deep.txt", "elsewhere/notes.md", "top-level.md"]
)
def test_a_source_never_shows_the_bucket(tools: ModuleType, runtime_stub: Stubber, key: str) -> None:
    runtime_stub.add_response(
        "retrieve", {"retrievalResults": [s3_passage("text", key, 0.5)]}, retrieve_params(QUERY, 5)
    )

    [result] = search(tools)["results"]

    assert result["source"]
    assert "s3://" not in result["source"]
    assert BUCKET not in result["source"]
    assert key.endswith(result["source"])


def test_a_passage_from_another_kind_of_source_has_no_source(tools: ModuleType, runtime_stub: Stubber) -> None:
    confluence = {
        "content": {"text": "A wiki page."},
        "location": {"type": "CONFLUENCE", "confluenceLocation": {"url": "https://wiki.example.com/x"}},
        "score": 0.4,
    }
    runtime_stub.add_response("retrieve", {"retrievalResults": [confluence]}, retrieve_params(QUERY, 5))

    assert search(tools)["results"] == [{"text": "A wiki page.", "source": None, "score": 0.4}]


@pytest.mark.parametrize(
    ("code", "http_status"),
    [
        ("AccessDeniedException", 403),
        ("ResourceNotFoundException", 404),
        ("ValidationException", 400),
        ("ThrottlingException", 429),
        ("DependencyFailedException", 424),
    ],
)
def test_a_failed_search_is_an_error_without_aws_details(
    tools: ModuleType, runtime_stub: Stubber, log_lines: LogLines, code: str, http_status: int
) -> None:
    runtime_stub.add_client_error("retrieve", code, DENIED_MESSAGE, http_status, retrieve_params(QUERY, 5))

    result = search(tools)

    assert set(result) == {"error"}
    assert "arn:" not in result["error"]
    assert ACCOUNT not in result["error"]
    assert KB_ID not in result["error"]
    assert code not in result["error"]
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert [(line["tool"], f"{code}: {DENIED_MESSAGE}" == line["error"]) for line in errors] == [(SEARCH, True)]


class Unreachable:
    """A bedrock-agent-runtime client whose endpoint cannot be reached."""

    def retrieve(self, **kwargs: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://bedrock-agent-runtime.us-east-1.amazonaws.com")


def test_an_unreachable_service_is_an_error() -> None:
    result = knowledge.search_documents(Unreachable(), KB_ID, {"query": QUERY})

    assert set(result) == {"error"}
    assert "amazonaws.com" not in result["error"]


def test_a_passage_without_text_is_left_out(tools: ModuleType, runtime_stub: Stubber) -> None:
    image = {"content": {"type": "IMAGE", "byteContent": "aGk="}, "score": 0.9}
    passage = web_passage("A page.", "https://example.com/a", 0.5)
    runtime_stub.add_response("retrieve", {"retrievalResults": [image, passage]}, retrieve_params(QUERY, 5))

    assert search(tools)["results"] == [{"text": "A page.", "source": "https://example.com/a", "score": 0.5}]


def test_without_a_knowledge_base_the_search_says_so_and_calls_nothing() -> None:
    result = knowledge.search_documents(Unreachable(), "", {"query": QUERY})

    assert result == {"error": "The knowledge base is not configured."}
