"""The function's settings, read once from the environment; a missing one fails only the routes that need it."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.errors import misconfigured

PUBLISHED_VERSION = re.compile(r"[1-9][0-9]{0,7}")
NAMES = (
    "MODELS",
    "GENERATION_MODEL_ARN",
    "GUARDRAIL_ID",
    "GUARDRAIL_VERSION",
    "KNOWLEDGE_BASE_ID",
    "HARNESS_ARN",
    "HARNESS_ENDPOINT",
    "TICKETS_TABLE",
    "SESSION_KEY",
)


@dataclass(frozen=True)
class Model:
    """An allow-listed model: a model id or an inference profile id, and the name shown to users."""

    id: str
    name: str


def parse_models(text: str) -> tuple[Model, ...]:
    """The MODELS setting: a JSON list of {"id", "name"} objects with unique ids."""
    try:
        entries = json.loads(text)
    except ValueError as error:
        raise ValueError("MODELS is not JSON") from error
    if not isinstance(entries, list) or not entries:
        raise ValueError('MODELS is not a non-empty JSON list of {"id", "name"} objects')
    models: list[Model] = []
    for index, entry in enumerate(entries):
        model_id = entry.get("id") if isinstance(entry, dict) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(model_id, str) or not model_id or not isinstance(name, str) or not name:
            raise ValueError(f'MODELS[{index}] is not an object with a non-empty "id" and "name"')
        if any(model.id == model_id for model in models):
            raise ValueError(f"MODELS lists {model_id} twice")
        models.append(Model(model_id, name))
    return tuple(models)


@dataclass(frozen=True)
class Settings:
    """The values of the settings that are valid, and why the others are not."""

    values: Mapping[str, str] = field(default_factory=dict)
    models: tuple[Model, ...] = ()
    problems: Mapping[str, str] = field(default_factory=dict)

    def require(self, *names: str) -> None:
        """Raise a Misconfigured error naming the first of `names` that is missing or invalid."""
        for name in names:
            if name in self.problems:
                raise misconfigured(f"The function is misconfigured: {self.problems[name]}.")

    def get(self, name: str) -> str:
        """A required setting; call `require` first."""
        self.require(name)
        return self.values[name]

    def model_ids(self) -> tuple[str, ...]:
        self.require("MODELS")
        return tuple(model.id for model in self.models)

    def guardrail(self) -> dict[str, Any]:
        """The guardrail of Converse calls, with its trace (which says why it intervened)."""
        return {
            "guardrailIdentifier": self.get("GUARDRAIL_ID"),
            "guardrailVersion": self.get("GUARDRAIL_VERSION"),
            "trace": "enabled",
        }


def from_environ(environ: Mapping[str, str]) -> Settings:
    """Read every setting; never raises, so the module always loads."""
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name in NAMES:
        value = environ.get(name, "").strip()
        if value:
            values[name] = value
        else:
            problems[name] = f"{name} is not set"
    models: tuple[Model, ...] = ()
    if "MODELS" in values:
        try:
            models = parse_models(values["MODELS"])
        except ValueError as error:
            problems["MODELS"] = str(error)
    version = values.get("GUARDRAIL_VERSION")
    if version is not None and not PUBLISHED_VERSION.fullmatch(version):
        problems["GUARDRAIL_VERSION"] = f"GUARDRAIL_VERSION={version!r} is not a published version number"
    return Settings(values=values, models=models, problems=problems)
