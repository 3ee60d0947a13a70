"""The request schema of every POST route, from schemas.json: API Gateway validates bodies with the same file."""

import json
from pathlib import Path
from typing import Any

from common.schema import check_schema

SCHEMAS_FILE = Path(__file__).with_name("schemas.json")


def load_schemas(path: Path = SCHEMAS_FILE) -> dict[str, dict[str, Any]]:
    """The request schema of every POST route, checked."""
    schemas: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    for name, schema in schemas.items():
        check_schema(schema, name)
    return schemas
