"""The functions' settings, read once from the environment; a missing one fails only the routes that need it."""

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
    "USAGE_TABLE",
    "SESSION_KEY",
    "SYSTEM_PROMPT",
)
DEFAULT_BLOCKED_MESSAGE = "Sorry, I can't share that answer."
# The cost bounds; the CDK app sets each from the `api` settings, these are the fallbacks.
LIMITS = {
    "MAX_TOKENS": 1024,
    "MAX_TOKENS_CEILING": 4096,
    "MAX_REQUEST_CHARACTERS": 24_000,
    "CALLER_CALLS_PER_MINUTE": 20,
}


@dataclass(frozen=True)
class Model:
    """An allow-listed model: the id callers choose it by, the name shown to them, and what the function calls."""

    id: str  # a model id or an inference profile id
    name: str
    target: str  # the ARN of the model's application inference profile, or the id itself when it has none


def parse_models(text: str) -> tuple[Model, ...]:
    """The MODELS setting: a JSON list of {"id", "name", "arn"} objects with unique ids ("arn" optional)."""
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
        target = entry.get("arn", model_id)
        if not isinstance(target, str) or not target:
            raise ValueError(f'MODELS[{index}] has an "arn" that is not a non-empty string')
        if any(model.id == model_id for model in models):
            raise ValueError(f"MODELS lists {model_id} twice")
        models.append(Model(model_id, name, target))
    return tuple(models)


@dataclass(frozen=True)
class Settings:
    """The values of the settings that are valid, and why the others are not."""

    values: Mapping[str, str] = field(default_factory=dict)
    models: tuple[Model, ...] = ()
    limits: Mapping[str, int] = field(default_factory=lambda: dict(LIMITS))
    problems: Mapping[str, str] = field(default_factory=dict)

    def require(self, *names: str) -> None:
        """Raise a Misconfigured error naming the first of `names` that is missing or invalid."""
        for name in names:
            if name in self.problems:
                raise misconfigured(self.problems[name])

    def get(self, name: str) -> str:
        """A required setting; a Misconfigured error when it is missing."""
        self.require(name)
        return self.values[name]

    def model_ids(self) -> tuple[str, ...]:
        self.require("MODELS")
        return tuple(model.id for model in self.models)

    def target(self, model_id: str) -> str:
        """What to call the allow-listed model `model_id` by: its application inference profile, else its id."""
        self.require("MODELS")
        return {model.id: model.target for model in self.models}[model_id]

    @property
    def blocked_message(self) -> str:
        """What the guardrail says instead of an answer it blocks (the guardrail's own blocked-output message)."""
        return self.values.get("BLOCKED_OUTPUT_MESSAGE") or DEFAULT_BLOCKED_MESSAGE

    def limit(self, name: str) -> int:
        """A cost bound of LIMITS; a Misconfigured error when it is set to something other than a positive number."""
        self.require(name)
        return self.limits[name]

    def max_tokens(self, asked: int | None) -> int:
        """What a call may generate: what the caller asked for, else the default, never above the ceiling."""
        default, ceiling = self.limit("MAX_TOKENS"), self.limit("MAX_TOKENS_CEILING")
        return min(asked or default, ceiling)

    def guardrail(self, *, stream: bool = False) -> dict[str, Any]:
        """The guardrail of Converse calls, with its trace; streamed answers are checked before they are sent."""
        config: dict[str, Any] = {
            "guardrailIdentifier": self.get("GUARDRAIL_ID"),
            "guardrailVersion": self.get("GUARDRAIL_VERSION"),
            "trace": "enabled",
        }
        if stream:
            config["streamProcessingMode"] = "sync"
        return config


def _limits(environ: Mapping[str, str], problems: dict[str, str]) -> dict[str, int]:
    limits = dict(LIMITS)
    for name in LIMITS:
        text = environ.get(name, "").strip()
        if not text:
            continue
        if not text.isdigit() or int(text) < 1:
            problems[name] = f"{name}={text!r} is not a positive whole number"
            continue
        limits[name] = int(text)
    return limits


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
    if environ.get("BLOCKED_OUTPUT_MESSAGE", "").strip():
        values["BLOCKED_OUTPUT_MESSAGE"] = environ["BLOCKED_OUTPUT_MESSAGE"].strip()
    models: tuple[Model, ...] = ()
    if "MODELS" in values:
        try:
            models = parse_models(values["MODELS"])
        except ValueError as error:
            problems["MODELS"] = str(error)
    version = values.get("GUARDRAIL_VERSION")
    if version is not None and not PUBLISHED_VERSION.fullmatch(version):
        problems["GUARDRAIL_VERSION"] = f"GUARDRAIL_VERSION={version!r} is not a published version number"
    return Settings(values=values, models=models, limits=_limits(environ, problems), problems=problems)
