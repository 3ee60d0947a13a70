"""The gateway's Lambda targets: the tool named in the client context runs on the event, or the model reads why not.

Each gateway target (tool group) has a function of its own; its entry point serves its own group's tools only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from .agent_tools_fakes import (
    DS_ID,
    KB_ID,
    REGION,
    REQUEST_ID,
    ClientContext,
    FakeContext,
    LogLines,
    gateway_context,
    gateway_tool_names,
    group_files,
    input_schema,
    job_summary,
    list_jobs_params,
    retrieve_params,
    s3_passage,
)


@pytest.fixture
def calls(tools: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every tool's runner replaced by one that records its arguments and answers {"ran": <tool>}."""
    recorded: list[tuple[str, dict[str, Any]]] = []

    def recorder(name: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
        def run(arguments: Mapping[str, Any]) -> dict[str, Any]:
            recorded.append((name, dict(arguments)))
            return {"ran": name}

        return run

    for group, runners in tools.TOOL_GROUPS.items():
        for tool in runners:
            monkeypatch.setitem(runners, tool, recorder(f"{group}___{tool}"))
    return recorded


def group_of(name: str) -> str:
    """The group whose function serves the gateway tool `name`."""
    return name.partition("___")[0]


def call(tools: ModuleType, name: str, event: Any) -> dict[str, Any]:
    """A gateway call of `name` on the entry point of the function that serves its group."""
    result: dict[str, Any] = tools.HANDLERS[group_of(name)](event, gateway_context(name))
    return result


def test_configuration_is_read_at_load(load_handler: Callable[[], ModuleType]) -> None:
    module = load_handler()

    assert (module.KNOWLEDGE_BASE_ID, module.DATA_SOURCE_ID) == (KB_ID, DS_ID)
    assert module.bedrock_agent.meta.region_name == REGION
    assert module.bedrock_agent_runtime.meta.region_name == REGION


@pytest.mark.parametrize("name", gateway_tool_names())
def test_each_tool_name_reaches_its_own_runner(
    tools: ModuleType, calls: list[tuple[str, dict[str, Any]]], name: str
) -> None:
    arguments = {"query": "How do I sync?"} if name.endswith("___search_documents") else {}

    assert call(tools, name, arguments) == {"ran": name}
    assert calls == [(name, arguments)]


def test_each_group_has_an_entry_point_of_its_own(tools: ModuleType) -> None:
    assert set(tools.HANDLERS) == set(group_files())
    for group, entry_point in tools.HANDLERS.items():
        assert getattr(tools, f"{group}_tools") is entry_point
    assert not hasattr(tools, "handler")  # no entry point serves every group


@pytest.mark.parametrize(
    ("group", "name"),
    [(group, name) for group in sorted(group_files()) for name in gateway_tool_names() if group_of(name) != group],
)
def test_a_function_refuses_the_tools_of_other_groups(
    tools: ModuleType, calls: list[tuple[str, dict[str, Any]]], group: str, name: str
) -> None:
    arguments = {"query": "How do I sync?"} if name.endswith("___search_documents") else {}

    result = tools.HANDLERS[group](arguments, gateway_context(name))

    assert set(result) == {"error"}
    assert name in result["error"]
    assert calls == []


def test_status_tools_run_for_real(tools: ModuleType, agent_stub: Stubber) -> None:
    agent_stub.add_response("list_ingestion_jobs", {"ingestionJobSummaries": [job_summary()]}, list_jobs_params())

    time = tools.status_tools({"timezone": "Asia/Tokyo"}, gateway_context("status___current_time"))
    sync = tools.status_tools({}, gateway_context("status___knowledge_base_status"))

    assert time["iso"] == "2025-03-15T00:09:26+09:00"
    assert sync["status"] == "COMPLETE"


def test_knowledge_tools_run_for_real(tools: ModuleType, runtime_stub: Stubber) -> None:
    found = {"retrievalResults": [s3_passage("Run make sync.", "documents/guides/sync.md", 0.8)]}
    runtime_stub.add_response("retrieve", found, retrieve_params("How do I sync?", 2))

    result = tools.knowledge_tools(
        {"query": "How do I sync?", "max_results": 2}, gateway_context("knowledge___search_documents")
    )

    assert result == {"results": [{"text": "Run make sync.", "source": "guides/sync.md", "score": 0.8}]}


def test_no_arguments_at_all_is_an_empty_object(tools: ModuleType) -> None:
    assert tools.status_tools(None, gateway_context("status___current_time"))["timezone"] == "UTC"


@pytest.mark.parametrize(
    "name",
    [
        "status___weather",
        "knowledge___current_time",
        "current_time",
        "status__current_time",
        "Status___current_time",
        "status___current_time___extra",
        "status___",
        "___current_time",
    ],
)
@pytest.mark.parametrize("group", sorted(group_files()))
def test_an_unknown_tool_is_an_error_listing_the_tools_of_the_group(
    tools: ModuleType, calls: list[tuple[str, dict[str, Any]]], name: str, group: str
) -> None:
    result = tools.HANDLERS[group]({}, gateway_context(name))

    assert set(result) == {"error"}
    assert name in result["error"]
    listed = result["error"].rpartition("the tools are ")[2].rstrip(".").split(", ")
    assert listed == [known for known in gateway_tool_names() if group_of(known) == group]
    assert calls == []


@pytest.mark.parametrize(
    "context",
    [
        FakeContext(),
        FakeContext(client_context=ClientContext()),
        FakeContext(client_context=ClientContext(custom={})),
        FakeContext(client_context=ClientContext(custom={"toolName": "status___current_time"})),
        gateway_context(None),
        gateway_context(["status___current_time"]),
        gateway_context(""),
    ],
    ids=["no client context", "no custom", "empty custom", "other key", "null name", "list name", "empty name"],
)
@pytest.mark.parametrize("group", sorted(group_files()))
def test_a_call_without_a_tool_name_is_an_error(
    tools: ModuleType, calls: list[tuple[str, dict[str, Any]]], context: FakeContext, group: str
) -> None:
    result = tools.HANDLERS[group]({}, context)

    assert set(result) == {"error"}
    assert all(known in result["error"] for known in gateway_tool_names() if group_of(known) == group)
    assert calls == []


@pytest.mark.parametrize("event", [["Europe/Paris"], "Europe/Paris", 42, True, 1.5])
def test_arguments_that_are_not_an_object_are_an_error(
    tools: ModuleType, calls: list[tuple[str, dict[str, Any]]], event: Any
) -> None:
    result = tools.status_tools(event, gateway_context("status___current_time"))

    assert set(result) == {"error"}
    assert "object" in result["error"]
    assert calls == []


def max_length(group: str, tool: str, field: str) -> int:
    limit: int = input_schema(group, tool)["properties"][field]["maxLength"]
    return limit


@pytest.mark.parametrize(
    ("name", "arguments", "named"),
    [
        ("status___current_time", {"zone": "Europe/Paris"}, ["zone"]),
        ("status___current_time", {"timezone": 5}, ["timezone", "string"]),
        ("status___current_time", {"timezone": None}, ["timezone", "string"]),
        ("status___current_time", {"timezone": ""}, ["timezone"]),
        (
            "status___current_time",
            {"timezone": "A" * (max_length("status", "current_time", "timezone") + 1)},
            ["timezone", str(max_length("status", "current_time", "timezone"))],
        ),
        ("status___knowledge_base_status", {"verbose": True}, ["verbose"]),
        ("knowledge___search_documents", {}, ["query", "required"]),
        ("knowledge___search_documents", {"query": ["sync"]}, ["query", "string"]),
        (
            "knowledge___search_documents",
            {"query": "q" * (max_length("knowledge", "search_documents", "query") + 1)},
            ["query", str(max_length("knowledge", "search_documents", "query"))],
        ),
        ("knowledge___search_documents", {"query": "sync", "max_results": "5"}, ["max_results"]),
        ("knowledge___search_documents", {"query": "sync", "max_results": 2.5}, ["max_results"]),
        ("knowledge___search_documents", {"query": "sync", "max_results": True}, ["max_results"]),
        ("knowledge___search_documents", {"query": "sync", "max_results": 0}, ["max_results", "minimum"]),
        ("knowledge___search_documents", {"query": "sync", "max_results": 11}, ["max_results", "maximum"]),
        ("knowledge___search_documents", {"query": "sync", "top_k": 3}, ["top_k"]),
    ],
)
def test_arguments_outside_the_schema_are_an_error_naming_the_field(
    tools: ModuleType,
    calls: list[tuple[str, dict[str, Any]]],
    name: str,
    arguments: dict[str, Any],
    named: list[str],
) -> None:
    result = call(tools, name, arguments)

    assert set(result) == {"error"}
    assert all(word in result["error"] for word in named), result["error"]
    assert "\n" not in result["error"]
    assert calls == []


@pytest.mark.parametrize("max_results", [1, 10])
def test_the_bounds_of_max_results_are_allowed(
    tools: ModuleType, calls: list[tuple[str, dict[str, Any]]], max_results: int
) -> None:
    arguments = {"query": "sync", "max_results": max_results}

    assert tools.knowledge_tools(arguments, gateway_context("knowledge___search_documents")) == {
        "ran": "knowledge___search_documents"
    }
    assert calls == [("knowledge___search_documents", arguments)]


def test_a_failing_runner_is_an_error_result_not_an_exception(
    tools: ModuleType, monkeypatch: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    def broken(arguments: Mapping[str, Any]) -> dict[str, Any]:
        raise RuntimeError(f"secret detail from arn:aws:bedrock:{REGION}:123456789012:knowledge-base/{KB_ID}")

    monkeypatch.setitem(tools.TOOL_GROUPS["status"], "current_time", broken)

    result = tools.status_tools({}, gateway_context("status___current_time"))

    assert set(result) == {"error"}
    assert "current_time" in result["error"]
    assert "secret" not in result["error"]
    assert "arn:" not in result["error"]
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["tool"] == "status___current_time"
    assert "secret detail" in errors[0]["exception"]
    assert errors[0]["function_request_id"] == REQUEST_ID


def test_a_broken_clock_is_an_error_result(tools: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_clock() -> Any:
        raise OSError("clock unavailable")

    monkeypatch.setattr(tools, "now", broken_clock)

    result = tools.status_tools({"timezone": "UTC"}, gateway_context("status___current_time"))

    assert set(result) == {"error"}
    assert "clock" not in result["error"]


def test_a_refusal_is_logged_with_the_tool_and_the_reason(tools: ModuleType, log_lines: LogLines) -> None:
    result = tools.status_tools({"zone": "Europe/Paris"}, gateway_context("status___current_time"))

    logged = log_lines()
    assert [(line["level"], line["tool"], line["reason"]) for line in logged] == [
        ("INFO", "status___current_time", result["error"])
    ]
    assert logged[0]["function_name"] == FakeContext().function_name


def test_each_call_logs_its_own_tool_name(tools: ModuleType, log_lines: LogLines) -> None:
    tools.status_tools({"zone": "x"}, gateway_context("status___current_time"))
    tools.knowledge_tools({"top_k": 1}, gateway_context("knowledge___search_documents"))
    tools.status_tools({}, FakeContext())

    assert [line["tool"] for line in log_lines()] == ["status___current_time", "knowledge___search_documents", ""]
