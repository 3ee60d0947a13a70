"""What a route receives (the verified caller and the checked body) and what it returns to the handler."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.errors import bad_request
from api.identity import Caller, unauthenticated
from api.limits import check_size


@dataclass(frozen=True)
class Call:
    """One request to a route: who makes it (None on a public route), and its body, checked against the schema."""

    caller: Caller | None
    body: Mapping[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> Caller:
        """The verified caller; a 401 on a route that needs one and has none."""
        if self.caller is None:
            raise unauthenticated()
        return self.caller


def read_body(raw: str | bytes | None, max_characters: int) -> dict[str, Any]:
    """The JSON object a request carries; a 400 when it is not one (however deeply nested), a 413 when too large."""
    try:
        body = json.loads(raw or "")
    except (ValueError, RecursionError) as error:
        raise bad_request("body: is not a JSON object.") from error
    if not isinstance(body, dict):
        raise bad_request("body: is not a JSON object.")
    check_size(body, max_characters)
    return body


@dataclass
class Reply:
    """The 200 body of a route, how many times a guardrail intervened to produce it, and errors worth a log line."""

    body: dict[str, Any]
    interventions: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
