"""The API's routes as the client knows them: read from lambda/api/routes.json, where the API declares them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from scripts.stack_outputs import ROOT

ROUTES_FILE: Final = ROOT / "lambda" / "api" / "routes.json"
STREAM_SUFFIX: Final = "/stream"


@dataclass(frozen=True)
class Route:
    """A route of the API as lambda/api/routes.json declares it; a route with `stream` also answers at
    `<path>/stream` (POST, server-sent events)."""

    name: str
    method: str
    path: str
    public: bool = False
    stream: bool = False

    @property
    def stream_path(self) -> str:
        return self.path + STREAM_SUFFIX


def load_routes(path: Path = ROUTES_FILE) -> dict[str, Route]:
    """The routes of the registry, by name."""
    declared = json.loads(path.read_text(encoding="utf-8"))["routes"]
    return {
        entry["name"]: Route(
            entry["name"], entry["method"], entry["path"], bool(entry.get("public")), bool(entry.get("stream"))
        )
        for entry in declared
    }


ROUTES: Final = load_routes()
