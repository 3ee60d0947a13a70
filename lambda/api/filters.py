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
def _search_shape() -> Shape:
    """Retrieve's vectorSearchConfiguration, whose `filter` member is the RetrievalFilter."""
    model = botocore.session.get_session().get_service_model("bedrock-agent-runtime")
    return model.shape_for("KnowledgeBaseVectorSearchConfiguration")


def _check_size(value: object) -> None:
    """A 400 when andAll/orAll nest more than MAX_DEPTH deep or the filter holds more than MAX_NODES JSON values.

    Walked with an explicit stack; a container's members are counted before they are stacked, so that one huge
    list costs no more than a small one.
    """
    counted = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        node, groups = stack.pop()
        counted += 1
        if groups > MAX_DEPTH:
            raise bad_request(f"filter: nests andAll/orAll more than {MAX_DEPTH} levels deep.")
        members = len(node) if isinstance(node, Mapping | list) else 0
        if counted + len(stack) + members > MAX_NODES:
            raise bad_request(f"filter: holds more than {MAX_NODES} objects, lists and values; send a smaller filter.")
        if isinstance(node, Mapping):
            stack.extend((child, groups + (key in GROUPS)) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, groups) for child in node)


def check_filter(value: Any) -> None:
    """A 400 naming the problem and its path when `value` is not a RetrievalFilter this API passes on."""
    _check_size(value)
    # Validated as vectorSearchConfiguration.filter, so that every message names its path from `filter`.
    report = ParamValidator().validate({"filter": value}, _search_shape())
    if report.has_errors():
        raise bad_request(report.generate_report().splitlines()[0])
