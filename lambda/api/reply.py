"""What a route receives (the verified caller and the checked body) and what it returns to the handler."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.identity import Caller, unauthenticated


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


@dataclass
class Reply:
    """The 200 body of a route, how many times a guardrail intervened to produce it, and errors worth a log line."""

    body: dict[str, Any]
    interventions: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
