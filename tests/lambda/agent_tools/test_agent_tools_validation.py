"""Checking parameters against a schema: strict parsing of the string values, every constraint, one-line messages."""

from __future__ import annotations

from typing import Any

import pytest
from agent_tools.schemas import FUNCTIONS, ParameterSpec
from agent_tools.validation import InvalidParameterError, parse_value, show, validate_parameters

SPECS = {
    "count": ParameterSpec("count", "integer", minimum=1, maximum=20),
    "ratio": ParameterSpec("ratio", "number", minimum=0, maximum=1),
    "flag": ParameterSpec("flag", "boolean"),
    "tags": ParameterSpec("tags", "array"),
    "code": ParameterSpec("code", "string", required=True, pattern="^[A-Z]{3}$"),
    "size": ParameterSpec("size", "string", enum=("small", "large"), default="small"),
    "note": ParameterSpec("note", "string", min_length=1, max_length=5),
}


def params(**values: Any) -> list[dict[str, Any]]:
    return [{"name": name, "type": "string", "value": value} for name, value in values.items()]


def problem(**values: Any) -> str:
    with pytest.raises(InvalidParameterError) as raised:
        validate_parameters("thing", SPECS, params(**values))
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_valid_parameters_are_typed_and_defaults_filled() -> None:
    arguments = validate_parameters(
        "thing", SPECS, params(code="ABC", count="20", ratio="0.25", flag="true", tags='["a", "b"]', note="hi")
    )

    assert arguments == {
        "code": "ABC",
        "count": 20,
        "ratio": 0.25,
        "flag": True,
        "tags": ["a", "b"],
        "note": "hi",
        "size": "small",
    }


def test_optional_parameters_without_default_are_left_out() -> None:
    assert validate_parameters("thing", SPECS, params(code="ABC")) == {"code": "ABC", "size": "small"}


@pytest.mark.parametrize("parameters", [None, []])
def test_no_parameters_is_fine_when_none_are_required(parameters: Any) -> None:
    assert validate_parameters("list_tickets", FUNCTIONS["list_tickets"].parameters, parameters) == {"limit": 10}


def test_unknown_parameter() -> None:
    assert problem(code="ABC", colour="red") == (
        "Unknown parameter colour for thing; it accepts count, ratio, flag, tags, code, size, note."
    )


def test_unknown_parameter_of_an_operation_without_parameters() -> None:
    with pytest.raises(InvalidParameterError, match=r"^Unknown parameter x for op; it accepts no parameters\.$"):
        validate_parameters("op", {}, params(x="1"))


def test_missing_required_parameter() -> None:
    assert problem(count="3") == "Missing required parameter code for thing."


def test_repeated_parameter() -> None:
    with pytest.raises(InvalidParameterError, match=r"^Parameter code is given more than once\.$"):
        validate_parameters("thing", SPECS, [*params(code="ABC"), *params(code="DEF")])


@pytest.mark.parametrize("parameters", ["code=ABC", [["code", "ABC"]], [{"value": "ABC"}], [{"name": 3, "value": "x"}]])
def test_malformed_parameter_lists(parameters: Any) -> None:
    with pytest.raises(InvalidParameterError, match=r"^Invalid parameters: "):
        validate_parameters("thing", SPECS, parameters)


@pytest.mark.parametrize("value", ["ten", "10.0", "1e1", " 5", "5 ", "", "0x10", "1_000", "٣", "true"])
def test_integers_are_parsed_strictly(value: str) -> None:
    assert problem(code="ABC", count=value) == f"Invalid parameter count: {show(value)} is not a whole number."


@pytest.mark.parametrize(("value", "expected"), [("7", 7), ("+7", 7), ("007", 7), (7, 7)])
def test_integers(value: object, expected: int) -> None:
    assert parse_value(SPECS["count"], value) == expected


@pytest.mark.parametrize("value", ["nan", "inf", "1e999", "half", "1.2.3", "", True])
def test_numbers_are_parsed_strictly(value: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"is not a number\.$"):
        parse_value(SPECS["ratio"], value)


@pytest.mark.parametrize(("value", "expected"), [("0.5", 0.5), (".5", 0.5), ("1", 1.0), ("5e-1", 0.5), (0.5, 0.5)])
def test_numbers(value: object, expected: float) -> None:
    assert parse_value(SPECS["ratio"], value) == expected


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("False", False), (True, True)])
def test_booleans(value: object, expected: bool) -> None:
    assert parse_value(SPECS["flag"], value) is expected


@pytest.mark.parametrize("value", ["yes", "1", "", None])
def test_booleans_are_parsed_strictly(value: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"is not true or false\.$"):
        parse_value(SPECS["flag"], value)


@pytest.mark.parametrize("value", ["a, b", '{"a": 1}', "[1,"])
def test_arrays_are_json_arrays(value: str) -> None:
    with pytest.raises(InvalidParameterError, match=r"is not a JSON array\.$"):
        parse_value(SPECS["tags"], value)


@pytest.mark.parametrize("value", [5, None, ["ABC"]])
def test_strings_must_be_strings(value: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"^Invalid parameter code: .* is not a string\.$"):
        parse_value(SPECS["code"], value)


def test_enum() -> None:
    assert problem(code="ABC", size="huge") == 'Invalid parameter size: "huge" is not one of small, large.'


def test_max_length() -> None:
    assert problem(code="ABC", note="toolong") == ("Invalid parameter note: must be at most 5 characters long, got 7.")


def test_min_length() -> None:
    assert problem(code="ABC", note="") == "Invalid parameter note: must be at least 1 character(s) long."


@pytest.mark.parametrize("value", ["abc", "ABCD", "AB", "ABC\n"])
def test_pattern_must_match_the_whole_value(value: str) -> None:
    assert problem(code=value) == f"Invalid parameter code: {show(value)} does not match the format ^[A-Z]{{3}}$."


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("count", "0", "Invalid parameter count: 0 is less than the minimum 1."),
        ("count", "21", "Invalid parameter count: 21 is more than the maximum 20."),
        ("ratio", "-0.5", "Invalid parameter ratio: -0.5 is less than the minimum 0."),
        ("ratio", "1.5", "Invalid parameter ratio: 1.5 is more than the maximum 1."),
    ],
)
def test_minimum_and_maximum(name: str, value: str, message: str) -> None:
    assert problem(code="ABC", **{name: value}) == message


@pytest.mark.parametrize(("name", "value"), [("count", "1"), ("count", "20"), ("ratio", "0"), ("ratio", "1")])
def test_bounds_are_inclusive(name: str, value: str) -> None:
    validate_parameters("thing", SPECS, params(code="ABC", **{name: value}))


def test_long_values_are_shortened_in_messages() -> None:
    message = problem(code="ABC", size="x" * 500)

    assert len(message) < 120
    assert "…" in message


def test_the_first_problem_is_reported() -> None:
    assert problem(count="0", size="huge") == "Invalid parameter count: 0 is less than the minimum 1."
