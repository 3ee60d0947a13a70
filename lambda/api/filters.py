"""Check a caller's knowledge-base metadata filter before it reaches Bedrock: its size, its depth, its shape.

API Gateway sees the filter only as "an object". Depth and size are checked first, without recursion, so that
no filter can exhaust the stack; then botocore's own model of RetrievalFilter checks operators and values.
"""

from collections.abc import Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.model import Shape
from botocore.validate import ParamValidator

from api.errors import bad_request

MAX_DEPTH = 5
MAX_NODES = 50
GROUPS = ("andAll", "orAll")


@cache
def _shape() -> Shape:
    model = botocore.session.get_session().get_service_model("bedrock-agent-runtime")
    return model.shape_for("RetrievalFilter")


def _measure(value: object) -> tuple[int, int]:
    """The depth of nested andAll/orAll groups and the number of values, counted with an explicit stack."""
    depth, nodes = 0, 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        nodes += 1
        if nodes > MAX_NODES or level > MAX_DEPTH + 2:
            return level, nodes
        depth = max(depth, level)
        if isinstance(node, Mapping):
            stack.extend((child, level + (key in GROUPS)) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, level) for child in node)
    return depth, nodes


def check_filter(value: Any) -> None:
    """A 400 naming the problem when `value` is not a RetrievalFilter this API passes on."""
    depth, nodes = _measure(value)
    if depth > MAX_DEPTH + 1:
        raise bad_request(f"filter: nests andAll/orAll more than {MAX_DEPTH} levels deep.")
    if nodes > MAX_NODES:
        raise bad_request(f"filter: has more than {MAX_NODES} conditions and values.")
    report = ParamValidator().validate(value, _shape())
    if report.has_errors():
        first = report.generate_report().splitlines()[0].strip()
        raise bad_request(f"filter: {first.replace(' input', ' filter')}")
