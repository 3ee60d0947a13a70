"""Load the action groups' schemas, functions.json and openapi.json, which the CDK app reads too."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

PACKAGE_DIR = Path(__file__).resolve().parent
FUNCTIONS_FILE = PACKAGE_DIR / "functions.json"
OPENAPI_FILE = PACKAGE_DIR / "openapi.json"


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter and the constraints the Lambda enforces, since Bedrock does not."""

    name: str
    type: str
    required: bool = False
    enum: tuple[object, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: object = None

    @classmethod
    def from_schema(cls, name: str, schema: Mapping[str, Any], *, required: bool) -> Self:
        """Build from a JSON-schema-like object: a functions.json parameter or an OpenAPI parameter schema."""
        enum = schema.get("enum")
        return cls(
            name=name,
            type=str(schema["type"]),
            required=required,
            enum=tuple(enum) if enum is not None else None,
            min_length=schema.get("minLength"),
            max_length=schema.get("maxLength"),
            pattern=schema.get("pattern"),
            minimum=schema.get("minimum"),
            maximum=schema.get("maximum"),
            default=schema.get("default"),
        )


@dataclass(frozen=True)
class FunctionSpec:
    """A function of the function-schema action group."""

    name: str
    require_confirmation: bool
    parameters: Mapping[str, ParameterSpec]


@dataclass(frozen=True)
class Operation:
    """An operation of the OpenAPI action group."""

    operation_id: str
    method: str
    path: str
    parameters: Mapping[str, ParameterSpec]
    accepts_body: bool


def load_functions(path: Path = FUNCTIONS_FILE) -> dict[str, FunctionSpec]:
    """The functions of functions.json by name."""
    document = json.loads(path.read_text(encoding="utf-8"))
    functions: dict[str, FunctionSpec] = {}
    for function in document["functions"]:
        parameters = {
            name: ParameterSpec.from_schema(name, schema, required=bool(schema.get("required", False)))
            for name, schema in function.get("parameters", {}).items()
        }
        functions[function["name"]] = FunctionSpec(
            name=function["name"],
            require_confirmation=bool(function.get("requireConfirmation", False)),
            parameters=parameters,
        )
    return functions


def load_operations(path: Path = OPENAPI_FILE) -> dict[tuple[str, str], Operation]:
    """The operations of openapi.json by (upper-case method, path)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    operations: dict[tuple[str, str], Operation] = {}
    for api_path, item in document["paths"].items():
        for method, operation in item.items():
            parameters = {
                parameter["name"]: ParameterSpec.from_schema(
                    parameter["name"], parameter.get("schema", {}), required=bool(parameter.get("required", False))
                )
                for parameter in operation.get("parameters", [])
            }
            operations[(method.upper(), api_path)] = Operation(
                operation_id=operation["operationId"],
                method=method.upper(),
                path=api_path,
                parameters=parameters,
                accepts_body="requestBody" in operation,
            )
    return operations


FUNCTIONS = load_functions()
OPERATIONS = load_operations()
