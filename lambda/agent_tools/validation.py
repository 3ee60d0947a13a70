"""Parse the string values Bedrock sends and check them against a schema, with one-line messages for the agent."""

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from agent_tools.schemas import ParameterSpec

INTEGER = re.compile(r"[+-]?[0-9]+")
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
SHOWN_VALUE_LENGTH = 60
TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a JSON array",
}


class InvalidParameterError(ValueError):
    """A parameter that does not fit the schema; the message is for the agent to relay."""


def show(value: object) -> str:
    """A value as JSON on one short line, for messages."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_VALUE_LENGTH else text[: SHOWN_VALUE_LENGTH - 1] + "…"


def _parse_integer(text: str) -> int | None:
    return int(text) if INTEGER.fullmatch(text) else None


def _parse_number(text: str) -> float | None:
    if not NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _parse_boolean(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text.lower())


def _parse_array(text: str) -> list[Any] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


PARSERS: dict[str, Callable[[str], object]] = {
    "integer": _parse_integer,
    "number": _parse_number,
    "boolean": _parse_boolean,
    "array": _parse_array,
}


def _text(raw: object) -> str | None:
    if isinstance(raw, str):
        return raw
    return json.dumps(raw) if isinstance(raw, bool | int | float) else None


def parse_value(spec: ParameterSpec, raw: object) -> object:
    """The typed value of a parameter; Bedrock sends every value as a string, so the text is parsed strictly."""
    parsed: object
    if spec.type == "string":
        parsed = raw if isinstance(raw, str) else None
    else:
        text = _text(raw)
        parsed = None if text is None else PARSERS[spec.type](text)
    if parsed is None:
        raise InvalidParameterError(f"Invalid parameter {spec.name}: {show(raw)} is not {TYPE_NAMES[spec.type]}.")
    return parsed


def _length_problem(spec: ParameterSpec, value: object) -> str | None:
    if not isinstance(value, str):
        return None
    if spec.min_length is not None and len(value) < spec.min_length:
        return f"must be at least {spec.min_length} character(s) long"
    if spec.max_length is not None and len(value) > spec.max_length:
        return f"must be at most {spec.max_length} characters long, got {len(value)}"
    return None


def _enum_problem(spec: ParameterSpec, value: object) -> str | None:
    if spec.enum is None or value in spec.enum:
        return None
    return f"{show(value)} is not one of {', '.join(str(allowed) for allowed in spec.enum)}"


def _pattern_problem(spec: ParameterSpec, value: object) -> str | None:
    # The whole value must match: re.search would accept a trailing newline before `$`.
    if spec.pattern is None or not isinstance(value, str) or re.fullmatch(spec.pattern, value):
        return None
    return f"{show(value)} does not match the format {spec.pattern}"


def _range_problem(spec: ParameterSpec, value: object) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if spec.minimum is not None and value < spec.minimum:
        return f"{show(value)} is less than the minimum {show(spec.minimum)}"
    if spec.maximum is not None and value > spec.maximum:
        return f"{show(value)} is more than the maximum {show(spec.maximum)}"
    return None


CHECKS = (_enum_problem, _length_problem, _pattern_problem, _range_problem)


def check_value(spec: ParameterSpec, value: object) -> None:
    """Raise InvalidParameterError unless the typed value meets every constraint of its schema."""
    for check in CHECKS:
        problem = check(spec, value)
        if problem is not None:
            raise InvalidParameterError(f"Invalid parameter {spec.name}: {problem}.")


def _named_values(parameters: object) -> list[tuple[str, object]]:
    if parameters is None:
        return []
    if not isinstance(parameters, list):
        raise InvalidParameterError("Invalid parameters: expected a list of name and value pairs.")
    pairs: list[tuple[str, object]] = []
    for parameter in parameters:
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if not isinstance(name, str):
            raise InvalidParameterError("Invalid parameters: every parameter needs a name.")
        pairs.append((name, parameter.get("value")))
    return pairs


def validate_parameters(owner: str, specs: Mapping[str, ParameterSpec], parameters: object) -> dict[str, object]:
    """The typed arguments of `owner` (a function or operation), defaults filled in; raises on the first problem."""
    arguments: dict[str, object] = {}
    for name, raw in _named_values(parameters):
        spec = specs.get(name)
        if spec is None:
            accepted = ", ".join(specs) or "no parameters"
            raise InvalidParameterError(f"Unknown parameter {name} for {owner}; it accepts {accepted}.")
        if name in arguments:
            raise InvalidParameterError(f"Parameter {name} is given more than once.")
        value = parse_value(spec, raw)
        check_value(spec, value)
        arguments[name] = value
    for name, spec in specs.items():
        if name in arguments:
            continue
        if spec.required:
            raise InvalidParameterError(f"Missing required parameter {name} for {owner}.")
        if spec.default is not None:
            arguments[name] = spec.default
    return arguments
