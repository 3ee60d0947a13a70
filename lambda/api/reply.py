"""What a route module returns to the handler."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """The 200 body of a route, how many times a guardrail intervened to produce it, and errors worth a log line."""

    body: dict[str, Any]
    interventions: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
