"""A small JSON Schema (draft-04) validator for the schemas this project writes: request bodies and tool inputs.

It supports exactly the keywords those schemas use, so a keyword added to a schema without support here fails
`check_schema` instead of being ignored silently.
"""

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeGuard

KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "minLength",
        "maxLength",
        "pattern",
        "enum",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "items",
        "uniqueItems",
    }
)
ANNOTATIONS = frozenset({"title", "description"})
TYPE_NAMES = {
    "object": "a JSON object",
    "array": "a JSON array",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
SHOWN_VALUE_LENGTH = 40


class SchemaViolation(ValueError):
    """A value that does not fit its schema; the message names the field path."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or 'body'}: {problem}")
        self.path = path
        self.problem = problem


def show(value: object) -> str:
    """A value as JSON on one short line, for messages."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_VALUE_LENGTH else text[: SHOWN_VALUE_LENGTH - 1] + "…"


def field_path(parent: str, name: str) -> str:
    """The path of a property: `messages[0].content`; odd names are quoted."""
    label = name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", name) else show(name)
    return f"{parent}.{label}" if parent else label


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


TYPE_CHECKS: dict[str, Callable[[object], bool]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": _is_number,
}


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # ECMA-262 `$` (no multiline) matches only at the very end; Python's would also accept a final newline.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _check_string(schema: Mapping[str, Any], value: str, path: str) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        raise SchemaViolation(path, f"must be at least {schema['minLength']} character(s) long")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise SchemaViolation(path, f"must be at most {schema['maxLength']} characters long, got {len(value)}")
    if "pattern" in schema and not _compiled(schema["pattern"]).search(value):
        raise SchemaViolation(path, f"{show(value)} does not match {schema['pattern']}")


def _check_number(schema: Mapping[str, Any], value: float, path: str) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        raise SchemaViolation(path, f"{show(value)} is less than the minimum {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        raise SchemaViolation(path, f"{show(value)} is more than the maximum {schema['maximum']}")


def _check_array(schema: Mapping[str, Any], value: list[Any], path: str) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        raise SchemaViolation(path, f"must have at least {schema['minItems']} item(s)")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        raise SchemaViolation(path, f"must have at most {schema['maxItems']} items, got {len(value)}")
    if schema.get("uniqueItems"):
        seen: set[str] = set()
        for index, item in enumerate(value):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                raise SchemaViolation(f"{path or 'body'}[{index}]", f"{show(item)} is repeated; items must be unique")
            seen.add(key)
    if "items" in schema:
        for index, item in enumerate(value):
            validate(schema["items"], item, f"{path or 'body'}[{index}]")


def _check_object(schema: Mapping[str, Any], value: dict[str, Any], path: str) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    if schema.get("additionalProperties") is False:
        for name in value:
            if name not in properties:
                allowed = ", ".join(properties) or "none"
                raise SchemaViolation(field_path(path, name), f"unknown field; the fields allowed are {allowed}")
    for name in schema.get("required", []):
        if name not in value:
            raise SchemaViolation(field_path(path, name), "is required")
    for name, subschema in properties.items():
        if name in value:
            validate(subschema, value[name], field_path(path, name))


def validate(schema: Mapping[str, Any], value: object, path: str = "") -> None:
    """Raise SchemaViolation on the first part of `value` that does not fit `schema`."""
    expected = schema.get("type")
    if expected is not None and not TYPE_CHECKS[expected](value):
        raise SchemaViolation(path, f"must be {TYPE_NAMES[expected]}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaViolation(path, f"{show(value)} is not one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        _check_string(schema, value, path)
    elif _is_number(value):
        _check_number(schema, value, path)
    elif isinstance(value, list):
        _check_array(schema, value, path)
    elif isinstance(value, dict):
        _check_object(schema, value, path)


def check_schema(schema: Mapping[str, Any], path: str = "") -> None:
    """Raise ValueError if the schema uses a keyword or a type this validator does not support."""
    unknown = set(schema) - KEYWORDS - ANNOTATIONS
    if unknown:
        raise ValueError(f"{path or 'schema'}: unsupported keyword(s) {', '.join(sorted(unknown))}")
    if "type" in schema and schema["type"] not in TYPE_CHECKS:
        raise ValueError(f"{path or 'schema'}: unsupported type {schema['type']!r}")
    if "pattern" in schema:
        _compiled(schema["pattern"])
    for name, subschema in schema.get("properties", {}).items():
        check_schema(subschema, f"{path}.properties.{name}")
    if "items" in schema:
        check_schema(schema["items"], f"{path}.items")
