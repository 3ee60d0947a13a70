"""scripts/openapi.py: docs/openapi.json is generated from lambda/api/routes.json and never drifts from it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api import sse

from scripts.openapi import OUTPUT, ROOT, ROUTES, SECURITY_SCHEME, main, render

REGISTRY: dict[str, Any] = json.loads(ROUTES.read_text(encoding="utf-8"))
DOCUMENT: dict[str, Any] = json.loads(OUTPUT.read_text(encoding="utf-8"))
OPERATIONS = [(path, method, op) for path, item in DOCUMENT["paths"].items() for method, op in item.items()]


def resolve(reference: str) -> Any:
    node: Any = DOCUMENT
    for part in reference.removeprefix("#/").split("/"):
        node = node[part]
    return node


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_the_committed_document_is_what_the_script_generates() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == render(), "docs/openapi.json drifted: run python scripts/openapi.py"


def test_it_describes_every_route_of_the_registry_and_each_stream() -> None:
    expected = []
    for route in REGISTRY["routes"]:
        expected.append((route["path"], route["method"].lower()))
        if route.get("stream"):
            expected.append((route["path"] + "/stream", route["method"].lower()))

    assert DOCUMENT["openapi"] == "3.0.3"
    assert [(path, method) for path, method, _ in OPERATIONS] == expected
    assert {"/chat/stream", "/ask/stream", "/agent/stream"} <= {path for path, _ in expected}


def test_every_request_schema_is_the_registrys_and_a_stream_takes_its_routes_body() -> None:
    posts = {path: op for path, method, op in OPERATIONS if method == "post"}

    for route in REGISTRY["routes"]:
        if not route.get("request"):
            continue
        paths = [route["path"], *([route["path"] + "/stream"] if route.get("stream") else [])]
        for path in paths:
            body = posts[path]["requestBody"]
            assert body["required"] is True
            assert (
                resolve(body["content"]["application/json"]["schema"]["$ref"]) == REGISTRY["schemas"][route["request"]]
            )


def test_the_system_prompt_is_not_the_callers_to_send() -> None:
    schemas = DOCUMENT["components"]["schemas"]

    assert "system" not in schemas["ChatRequest"]["properties"]
    assert "system" not in schemas["CompareRequest"]["properties"]


def test_every_path_but_health_needs_a_cognito_token() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"][SECURITY_SCHEME]

    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert "security" not in DOCUMENT
    for path, _, op in OPERATIONS:
        assert op["security"] == ([] if path == "/health" else [{SECURITY_SCHEME: []}])


def test_every_operation_answers_its_media_type_and_errors_in_the_envelope() -> None:
    envelope = DOCUMENT["components"]["schemas"]["Error"]
    assert envelope["properties"]["error"]["required"] == ["code", "message", "requestId"]
    for path, method, op in OPERATIONS:
        media = "text/event-stream" if path.endswith("/stream") else "application/json"
        assert list(op["responses"]["200"]["content"]) == [media]
        for status, response in op["responses"].items():
            if status != "200":
                assert resolve(response["$ref"])["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }
        if method == "post":
            assert {"400", "401", "403", "404", "413", "429", "500", "502", "504"} <= set(op["responses"])
    assert "Retry-After" in DOCUMENT["components"]["responses"]["RateLimited"]["headers"]
    assert "409" in DOCUMENT["paths"]["/agent/stream"]["post"]["responses"]


def test_the_streams_name_every_event_of_the_vocabulary() -> None:
    for path, _, op in OPERATIONS:
        if path.endswith("/stream"):
            assert list(op["x-events"]) == list(sse.NAMES)
            for reference in op["x-events"].values():
                resolve(reference["$ref"])


def test_the_agent_answer_is_described_as_the_api_returns_it() -> None:
    """POST /agent: the answer, citations with a source, the tool call to confirm, usage and the trace."""
    schemas = DOCUMENT["components"]["schemas"]
    answer = resolve(
        DOCUMENT["paths"]["/agent"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )

    assert set(answer["properties"]) == {
        "answer",
        "sessionId",
        "citations",
        "stopReason",
        "usage",
        "guardrail",
        "confirmation",
        "trace",
    }
    assert set(answer["required"]) == {"answer", "sessionId", "citations", "stopReason", "guardrail"}
    assert set(resolve(answer["properties"]["citations"]["items"]["$ref"])["properties"]) == {"source"}
    confirmation = resolve(answer["properties"]["confirmation"]["$ref"])
    assert confirmation["required"] == ["id", "tool", "input"]
    assert set(schemas["Usage"]["properties"]) == {"inputTokens", "outputTokens", "totalTokens"}
    request = schemas["AgentRequest"]["properties"]
    assert set(request["confirm"]["properties"]) == {"id", "approve"}


def test_every_reference_resolves() -> None:
    found = list(references(DOCUMENT))

    assert found
    for reference in found:
        resolve(reference)


def test_the_server_url_has_variables_with_defaults() -> None:
    (server,) = DOCUMENT["servers"]

    assert server["url"] == "https://{apiId}.execute-api.{region}.amazonaws.com/prod"
    assert set(server["variables"]) == {"apiId", "region"}


def test_main_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "docs" / "openapi.json"

    assert main(["--check"], output=output) == 1
    assert main([], output=output) == 0
    assert main(["--check"], output=output) == 0
    output.write_text(output.read_text().replace("3.0.3", "3.1.0"))
    assert main(["--check"], output=output) == 1

    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2
    assert all(
        line.endswith("is out of date with lambda/api/routes.json; run python scripts/openapi.py") for line in errors
    )


def test_the_check_fails_when_the_registry_changes(tmp_path: Path) -> None:
    routes = tmp_path / "routes.json"
    changed = json.loads(ROUTES.read_text())
    changed["schemas"]["ChatRequest"]["properties"]["maxTokens"]["maximum"] = 100
    routes.write_text(json.dumps(changed))

    assert main(["--check"], output=OUTPUT, routes_path=routes) == 1


def test_the_command_line_check_passes_on_the_committed_file() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/openapi.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert (result.returncode, result.stderr) == (0, "")
