"""POST /compare: one prompt to two to four allow-listed models in parallel, each behind the guardrail."""

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api.chat import check_model, converse, converse_request
from api.config import Settings
from api.errors import ApiError
from api.reply import Reply

MAX_WORKERS = 4


def _answer(client: Any, settings: Settings, model: str, request: Mapping[str, Any]) -> dict[str, Any] | ApiError:
    try:
        return converse(client, settings, model, request)
    except ApiError as error:
        return error


def compare(client: Any, settings: Settings, body: Mapping[str, Any], *, workers: int = MAX_WORKERS) -> Reply:
    """Answer POST /compare; a model's error is its entry's, unless every model failed the same way."""
    settings.require("MODELS", "GUARDRAIL_ID", "GUARDRAIL_VERSION")
    models: list[str] = body["models"]
    for index, model in enumerate(models):
        check_model(settings, model, f"models[{index}]")
    messages = [{"role": "user", "content": body["prompt"]}]
    requests = [converse_request(settings, model, messages, body) for model in models]
    with ThreadPoolExecutor(max_workers=min(workers, len(models)), thread_name_prefix="compare") as pool:
        outcomes = list(pool.map(lambda model, request: _answer(client, settings, model, request), models, requests))
    failures = [outcome for outcome in outcomes if isinstance(outcome, ApiError)]
    if len(failures) == len(outcomes) and len({failure.code for failure in failures}) == 1:
        raise failures[0]
    results: list[dict[str, Any]] = []
    for model, outcome in zip(models, outcomes, strict=True):
        if isinstance(outcome, ApiError):
            results.append({"model": model, "error": {"code": outcome.code, "message": outcome.message}})
        else:
            results.append(outcome)
    interventions = sum(1 for result in results if result.get("guardrail", {}).get("action") == "INTERVENED")
    errors = [
        {"model": result["model"], "error_code": result["error"]["code"], "error_message": result["error"]["message"]}
        for result in results
        if "error" in result
    ]
    return Reply({"results": results}, interventions=interventions, errors=errors)
