"""POST /compare: one prompt to two to four allow-listed models in parallel, each behind the guardrail.

It counts against the caller's budget as one model call per model.
"""

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api.chat import check_model, converse, converse_request
from api.errors import ApiError
from api.reply import Call, Reply
from api.services import Services

MAX_WORKERS = 4


def _answer(services: Services, model: str, request: Mapping[str, Any]) -> dict[str, Any] | ApiError:
    try:
        return converse(services, model, request)
    except ApiError as error:
        return error


def answer(services: Services, call: Call) -> Reply:
    """Answer POST /compare; a model's error is its entry's, unless every model failed the same way."""
    body = call.body
    models: list[str] = body["models"]
    for index, model in enumerate(models):
        check_model(services, model, f"models[{index}]")
    services.spend(call.identity, len(models))
    messages = [{"role": "user", "content": body["prompt"]}]
    requests = [converse_request(services, model, messages, body) for model in models]
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(models)), thread_name_prefix="compare") as pool:
        outcomes = list(pool.map(lambda model, request: _answer(services, model, request), models, requests))
    failures = [outcome for outcome in outcomes if isinstance(outcome, ApiError)]
    if len(failures) == len(outcomes) and len({failure.code for failure in failures}) == 1:
        raise failures[0]
    results: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for model, outcome in zip(models, outcomes, strict=True):
        if isinstance(outcome, ApiError):
            results.append({"model": model, "error": {"code": outcome.code, "message": outcome.message}})
            errors.append({"model": model, "error_code": outcome.code, "detail": outcome.detail})
        else:
            results.append(outcome)
    interventions = sum(1 for result in results if result.get("guardrail", {}).get("action") == "INTERVENED")
    return Reply({"results": results}, interventions=interventions, errors=errors)
