"""The API's routes, declared once in routes.json: method, path, summary, request and response schemas.

The function's handlers, the CDK app's API Gateway resources and validation models, docs/openapi.json, the
client and the tests all read this file. A route named `chat` runs `api.chat.answer`, and, when it streams,
`api.chat.stream` behind `/chat/stream`.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.schema import check_schema

ROUTES_FILE = Path(__file__).with_name("routes.json")
STREAM_SUFFIX = "/stream"


@dataclass(frozen=True)
class Route:
    """One route of the API."""

    name: str
    method: str
    path: str
    summary: str
    description: str
    response: str
    request: str | None = None
    public: bool = False
    stream: bool = False
    errors: Mapping[str, str] | None = None

    @property
    def stream_path(self) -> str:
        """The path of the route's server-sent-events variant (routes with `stream`)."""
        return self.path + STREAM_SUFFIX


@dataclass(frozen=True)
class Registry:
    """The routes, and the schemas they name (requests are self-contained: API Gateway validates with them)."""

    routes: tuple[Route, ...]
    schemas: Mapping[str, Any]

    def route(self, name: str) -> Route:
        return next(route for route in self.routes if route.name == name)

    def request_schema(self, route: Route) -> Mapping[str, Any] | None:
        return self.schemas[route.request] if route.request else None


def load(path: Path = ROUTES_FILE) -> Registry:
    """The registry in `path`; a schema a route names must exist, and a request schema fit the validators."""
    document = json.loads(path.read_text(encoding="utf-8"))
    routes = tuple(Route(**entry) for entry in document["routes"])
    schemas = document["schemas"]
    for route in routes:
        for name in (route.request, route.response):
            if name is not None and name not in schemas:
                raise ValueError(f"route {route.name} names the schema {name}, which is not in schemas")
        if route.request is not None:
            check_schema(schemas[route.request], route.request)
    return Registry(routes, schemas)


REGISTRY = load()
