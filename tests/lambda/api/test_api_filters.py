"""api.filters.check_filter: a retrieval filter Bedrock accepts passes; anything else is a 400 naming its path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from api.errors import ApiError
from api.filters import MAX_DEPTH, MAX_NODES, check_filter
from botocore.stub import Stubber
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from .api_fakes import PERSON, body_of, check_params, error_of, rest_event, retrieve_params

Call = Callable[[dict[str, Any]], dict[str, Any]]
# Every operator of botocore's RetrievalFilter that compares one attribute (andAll and orAll group filters).
OPERATORS = (
    "equals",
    "notEquals",
    "greaterThan",
    "greaterThanOrEquals",
    "lessThan",
    "lessThanOrEquals",
    "in",
    "notIn",
    "startsWith",
    "listContains",
    "stringContains",
)


def condition(operator: str = "equals", key: str = "category", value: Any = "faq") -> dict[str, Any]:
    return {operator: {"key": key, "value": value}}


def nested(depth: int) -> dict[str, Any]:
    """A valid filter with `depth` levels of andAll/orAll, each with two members."""
    result = condition()
    for level in range(depth):
        result = {("andAll", "orAll")[level % 2]: [result, condition("notEquals", "year", level)]}
    return result


def refusal(value: Any) -> ApiError:
    with pytest.raises(ApiError) as raised:
        check_filter(value)
    assert raised.value.status == 400
    assert raised.value.code == "BadRequest"
    return raised.value


def test_the_operators_are_botocores() -> None:
    model = botocore.session.get_session().get_service_model("bedrock-agent-runtime")

    assert set(model.shape_for("RetrievalFilter").members) == {*OPERATORS, "andAll", "orAll"}


@pytest.mark.parametrize(
    "value",
    [
        condition("equals", "category", "faq"),
        condition("notEquals", "category", "draft"),
        condition("greaterThan", "year", 2023),
        condition("greaterThanOrEquals", "score", 0.5),
        condition("lessThan", "year", 2030),
        condition("lessThanOrEquals", "pages", 10),
        condition("in", "category", ["faq", "guide"]),
        condition("notIn", "category", ["draft"]),
        condition("startsWith", "path", "guides/"),
        condition("listContains", "tags", "billing"),
        condition("stringContains", "title", "sync"),
        condition("equals", "published", True),
        {"andAll": [condition(), condition("greaterThan", "year", 2024)]},
        {"orAll": [condition(), condition("in", "tags", ["a", "b"]), condition("startsWith", "path", "x")]},
        {
            "andAll": [
                {"orAll": [condition(), condition("equals", "category", "guide")]},
                condition("lessThan", "year", 1),
            ]
        },
        nested(MAX_DEPTH),
    ],
    ids=[*OPERATORS, "boolean value", "andAll", "orAll", "orAll inside andAll", "the deepest allowed"],
)
def test_a_valid_filter_passes(value: dict[str, Any]) -> None:
    check_filter(value)

    check_params("bedrock-agent-runtime", "Retrieve", retrieve_params("q", search={"filter": value}))


def test_a_filter_deeper_than_the_limit_is_refused() -> None:
    error = refusal(nested(MAX_DEPTH + 1))

    assert error.message == f"filter: nests andAll/orAll more than {MAX_DEPTH} levels deep."


def test_a_filter_of_more_nodes_than_the_limit_is_refused() -> None:
    # Each condition is four JSON values: the operator's object, its attribute object, the key and the value.
    within = {"andAll": [condition() for _ in range((MAX_NODES - 2) // 4)]}
    over = {"andAll": [condition() for _ in range((MAX_NODES - 2) // 4 + 1)]}

    check_filter(within)
    assert refusal(over).message.startswith(f"filter: holds more than {MAX_NODES} ")


def test_a_long_list_of_values_is_refused() -> None:
    assert refusal(condition("in", "category", list(range(100_000)))).message.startswith("filter: holds more")


@pytest.mark.parametrize("kind", ["groups", "lists", "objects"])
def test_a_very_deep_filter_is_refused_without_recursion(kind: str) -> None:
    # Built in a loop: a recursive walk of 10 000 levels would raise RecursionError.
    value: Any = condition()
    for _ in range(10_000):
        value = {"andAll": [value]} if kind == "groups" else [value] if kind == "lists" else {"value": value}
    if kind != "groups":
        value = condition(value=value)

    refusal(value)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"matches": {"key": "category", "value": "faq"}}, '"matches"'),
        ({"equals": {"key": 1, "value": "faq"}}, "filter.equals.key"),
        ({"equals": {"key": "", "value": "faq"}}, "filter.equals.key"),
        ({"equals": {"value": "faq"}}, "filter.equals"),
        ({"equals": "category=faq"}, "filter.equals"),
        ({"andAll": condition()}, "filter.andAll"),
        ({"andAll": [condition()]}, "filter.andAll"),
        ({"orAll": [condition(), "category"]}, "filter.orAll[1]"),
        ({"andAll": [condition(), {"orAll": [condition(), {}]}]}, "filter.andAll[1].orAll[1]"),
        ({}, "filter"),
        ({**condition(), **condition("notEquals")}, "filter"),
    ],
    ids=[
        "an unknown operator",
        "a key that is not a string",
        "an empty key",
        "a condition without a key",
        "a condition that is not an object",
        "a group that is not a list",
        "andAll with one member",
        "a member that is not a filter",
        "an empty filter deep inside",
        "an empty filter",
        "two operators in one filter",
    ],
)
def test_an_invalid_filter_is_a_400_naming_its_path(value: dict[str, Any], path: str) -> None:
    error = refusal(value)

    assert path in error.message
    assert "\n" not in error.message


scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=6,
)
keys = st.sampled_from(OPERATORS) | st.sampled_from(("andAll", "orAll")) | st.text(max_size=12)
# Filters of the right shape, mostly valid: botocore's operators, keys and groups of two or more.
well_formed = st.recursive(
    st.builds(condition, st.sampled_from(OPERATORS), st.text(min_size=1, max_size=12), json_values),
    lambda members: st.builds(
        lambda group, items: {group: items},
        st.sampled_from(("andAll", "orAll")),
        st.lists(members, min_size=2, max_size=3),
    ),
    max_leaves=8,
)
# Anything else a JSON object can be: unknown operators, wrong types, groups of any size, stray members.
arbitrary = st.recursive(
    st.builds(condition, keys, st.text(max_size=10) | st.integers(), json_values)
    | st.dictionaries(keys, json_values, max_size=3),
    lambda members: (
        st.builds(
            lambda group, items: {group: items}, st.sampled_from(("andAll", "orAll")), st.lists(members, max_size=4)
        )
        | st.dictionaries(keys, members | st.lists(members, max_size=3), max_size=2)
    ),
    max_leaves=16,
)


def groups_depth(value: Any) -> int:
    if isinstance(value, dict):
        return max((groups_depth(child) + (key in ("andAll", "orAll")) for key, child in value.items()), default=0)
    if isinstance(value, list):
        return max((groups_depth(child) for child in value), default=0)
    return 0


def values_in(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(values_in(child) for child in value.values())
    if isinstance(value, list):
        return 1 + sum(values_in(child) for child in value)
    return 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=well_formed | arbitrary)
def test_any_json_filter_passes_whole_or_is_a_400(value: dict[str, Any]) -> None:
    refused: ApiError | None = None
    try:
        check_filter(value)
    except ApiError as error:
        refused = error
    event("refused" if refused else "passed")
    if refused is not None:
        assert (refused.status, refused.code) == (400, "BadRequest")
        assert "filter" in refused.message
        return
    assert groups_depth(value) <= MAX_DEPTH
    assert values_in(value) <= MAX_NODES
    check_params("bedrock-agent-runtime", "Retrieve", retrieve_params("q", search={"filter": value}))


def test_a_bad_filter_never_reaches_bedrock(call: Call, agent_runtime_stub: Stubber, usage_table: Any) -> None:
    calls: list[str] = []
    agent_runtime_stub.client.meta.events.register(
        "before-parameter-build", lambda model, **_: calls.append(model.name)
    )

    response = call(rest_event("POST", "/retrieve", {"query": "q", "filter": {"andAll": [condition()]}}, claims=PERSON))

    assert (response["statusCode"], error_of(response)["code"]) == (400, "BadRequest")
    assert "filter.andAll" in error_of(response)["message"]
    assert calls == []
    assert usage_table.scan()["Items"] == []


def test_a_too_deep_filter_never_reaches_bedrock(call: Call, agent_runtime_stub: Stubber) -> None:
    response = call(rest_event("POST", "/retrieve", {"query": "q", "filter": nested(MAX_DEPTH + 1)}))

    assert response["statusCode"] == 400
    assert "levels deep" in body_of(response)["error"]["message"]
