"""schemas.json and the validator the function checks every body with (API Gateway checks them first)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.schemas import SCHEMAS_FILE, load_schemas

from common.schema import SchemaViolation, check_schema, validate

SCHEMAS = load_schemas()
# The one free-form object: a Bedrock metadata filter, which Bedrock validates.
FREE_FORM = {"retrieve.filter"}


def walk(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, subschema in schema.get("properties", {}).items():
        yield from walk(subschema, f"{path}.{name}")
    if "items" in schema:
        yield from walk(schema["items"], f"{path}[]")


ALL = [(path, schema) for route, root in SCHEMAS.items() for path, schema in walk(root, route)]


def test_there_is_one_schema_per_post_route() -> None:
    assert list(SCHEMAS) == ["chat", "compare", "retrieve", "ask", "agent"]


@pytest.mark.parametrize(("path", "schema"), ALL, ids=[path for path, _ in ALL])
def test_every_schema_is_closed_and_bounded(path: str, schema: dict[str, Any]) -> None:
    kind = schema["type"]
    if kind == "object" and path not in FREE_FORM:
        assert schema["additionalProperties"] is False
        assert set(schema.get("required", [])) <= set(schema["properties"])
    if kind == "string":
        assert 0 < schema["minLength"] <= schema["maxLength"]
    if kind == "array":
        assert 0 < schema["minItems"] <= schema["maxItems"]
    if kind in ("integer", "number"):
        assert schema["minimum"] <= schema["maximum"]


def test_the_free_form_filter_is_only_an_object() -> None:
    assert SCHEMAS["retrieve"]["properties"]["filter"] == {
        "type": "object",
        "description": "A Bedrock metadata filter (RetrievalFilter), passed as vectorSearchConfiguration.filter.",
    }


def test_the_schemas_are_draft_04_without_a_schema_keyword() -> None:
    # API Gateway models are draft-04; the CDK app sets the version, and OpenAPI 3.0 has no $schema keyword.
    text = SCHEMAS_FILE.read_text()
    assert "$schema" not in text
    assert "exclusiveMinimum" not in text
    assert "oneOf" not in text


def test_an_unsupported_keyword_fails_the_schema_check(tmp_path: Path) -> None:
    path = tmp_path / "schemas.json"
    path.write_text(json.dumps({"chat": {"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 2}}}}))

    with pytest.raises(ValueError, match=r"chat\.properties\.n: unsupported keyword\(s\) multipleOf"):
        load_schemas(path)


def test_an_unsupported_type_fails_the_schema_check() -> None:
    with pytest.raises(ValueError, match="unsupported type 'file'"):
        check_schema({"type": "file"})


@pytest.mark.parametrize(
    ("schema", "value", "message"),
    [
        ({"type": "object"}, [], "body: must be a JSON object"),
        ({"type": "integer"}, True, "body: must be a whole number"),
        ({"type": "integer"}, 1.0, "body: must be a whole number"),
        ({"type": "number"}, "1", "body: must be a number"),
        ({"type": "boolean"}, 0, "body: must be true or false"),
        ({"type": "null"}, 0, "body: must be null"),
        ({"type": "string", "pattern": "^a+$"}, "aa\n", 'body: "aa\\n" does not match ^a+$'),
        ({"type": "string", "pattern": "b"}, "xbx", None),
        ({"type": "array", "uniqueItems": True}, [{"a": 1, "b": 2}, {"b": 2, "a": 1}], "body[1]: "),
        ({"type": "array", "uniqueItems": True}, [1, True], None),
        ({"type": "array", "items": {"type": "string"}}, ["a", 1], "body[1]: must be a string"),
        (
            {"type": "object", "additionalProperties": False, "properties": {}},
            {"a b": 1},
            '"a b": unknown field; the fields allowed are none',
        ),
        (
            {"type": "object", "properties": {"inner": {"type": "object", "required": ["x"]}}},
            {"inner": {}},
            "inner.x: is required",
        ),
        ({"enum": ["a", "b"]}, "c", 'body: "c" is not one of a, b'),
        ({"type": "number", "minimum": 0, "maximum": 1}, 1, None),
        ({"type": "string", "maxLength": 3}, "ééé", None),
    ],
)
def test_the_validator(schema: dict[str, Any], value: Any, message: str | None) -> None:
    if message is None:
        validate(schema, value)
        return
    with pytest.raises(SchemaViolation) as raised:
        validate(schema, value)
    assert str(raised.value).startswith(message)


def test_a_long_value_is_shortened_in_messages() -> None:
    with pytest.raises(SchemaViolation) as raised:
        validate({"enum": ["a"]}, "x" * 500)

    assert len(str(raised.value)) < 80


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("chat", {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "maxTokens": 4096, "topP": 0}),
        ("compare", {"models": ["a", "b", "c", "d"], "prompt": "p", "system": "s", "temperature": 1}),
        ("retrieve", {"query": "q", "topK": 25, "filter": {"equals": {"key": "k", "value": 1}}}),
        ("ask", {"question": "q", "sessionId": "a1._:-", "topK": 1}),
        ("agent", {"input": "hi", "sessionId": "abc", "trace": True}),
        (
            "agent",
            {"confirm": {"id": "eyJpZCI6InRvb2x1c2VfMSJ9.0123abcd", "approve": False}, "sessionId": "abc"},
        ),
    ],
)
def test_valid_bodies_pass(route: str, body: dict[str, Any]) -> None:
    validate(SCHEMAS[route], body)
