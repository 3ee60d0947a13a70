"""One-line JSON log messages, readable in both text and JSON Lambda log formats."""

import json


def structured(message: str, **fields: object) -> str:
    """Render a message and its fields as one JSON line."""
    return json.dumps({"message": message, **fields}, default=str, separators=(",", ":"))
