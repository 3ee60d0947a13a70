"""Lambda entry point of the REST API's buffered routes: the routes of routes.json, errors, CORS, logs, metrics.

API Gateway has already authenticated the caller (Cognito) and checked the body against the route's schema;
each route is `api.<name>.answer(services, call)`, with the verified caller and the body.
"""

import importlib
import json
import os
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from api.errors import ApiError, internal_error
from api.identity import Caller, caller_of
from api.registry import REGISTRY, Route
from api.reply import Call, Reply, read_body
from api.services import from_environment
from api.telemetry import THROTTLED, count_throttles
from common.schema import show

logger = Logger()
# X-Ray subsegments for every AWS call; POWERTOOLS_TRACE_DISABLED turns it off (the tests do).
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "BedrockGenAi")
# Built once per execution environment; the clients inside are created on first use. Tests replace it.
services = from_environment(os.environ)
ORIGINS = [origin.strip() for origin in os.environ.get("CORS_ORIGINS", "").split(",") if origin.strip()]
ALLOWED = {route.path: route.method for route in REGISTRY.routes}
UNMATCHED = "unmatched"

cors = CORSConfig(allow_origin=ORIGINS[0], extra_origins=ORIGINS[1:], max_age=600) if ORIGINS else None
app = APIGatewayRestResolver(cors=cors)


def _request_id() -> str:
    request_id = getattr(app.lambda_context, "aws_request_id", None)
    return request_id if isinstance(request_id, str) else "unknown"


def _caller() -> Caller:
    caller = caller_of(app.current_event.raw_event)
    logger.append_keys(caller=caller.id)
    return caller


def _body(route: Route) -> dict[str, Any]:
    if route.request is None:
        return {}
    return read_body(app.current_event.decoded_body, services.settings.limit("MAX_REQUEST_CHARACTERS"))


def _record(route: Route, reply: Reply) -> None:
    if reply.interventions:
        metrics.add_metric(name="GuardrailInterventions", unit=MetricUnit.Count, value=reply.interventions)
    for failure in reply.errors:
        logger.warning("A model failed", extra={"route": route.name, **failure})
    count_throttles(sum(failure.get("error_code") == THROTTLED for failure in reply.errors))


def endpoint(route: Route) -> Callable[[], dict[str, Any]]:
    """The resolver's function for `route`: who calls, with what body, then the route module's answer."""
    module = importlib.import_module(f"api.{route.name}")

    def answer() -> dict[str, Any]:
        metrics.add_dimension(name="route", value=route.name)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        call = Call(None if route.public else _caller(), _body(route))
        reply: Reply = module.answer(services, call)
        _record(route, reply)
        logger.info("Request answered", extra={"route": route.name})
        return reply.body

    return answer


for _route in REGISTRY.routes:
    app.route(_route.path, method=_route.method)(endpoint(_route))


def _error(error: ApiError) -> Response[str]:
    body = json.dumps(error.body(_request_id()), separators=(",", ":"))
    return Response(status_code=error.status, content_type="application/json", body=body, headers=error.headers)


def _label(text: str) -> str:
    """Request text quoted in a message: as is when plain, else as a short JSON string."""
    return text if re.fullmatch(r"[A-Za-z0-9/._-]{1,60}", text) else show(text)


@app.not_found
def not_found(_: NotFoundError) -> Response[str]:
    metrics.add_dimension(name="route", value=UNMATCHED)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    method = app.current_event.http_method.upper()
    path = app.current_event.path.rstrip("/") or "/"
    allowed = ALLOWED.get(path)
    if allowed is not None:
        message = f"{_label(method)} is not allowed on {path}; use {allowed}."
        return api_error(ApiError(405, "MethodNotAllowed", message, {"Allow": allowed}))
    routes = ", ".join(f"{route.method} {route.path}" for route in REGISTRY.routes)
    return api_error(ApiError(404, "NotFound", f"There is no route at {_label(path)}; the routes are {routes}."))


def api_error(error: ApiError) -> Response[str]:
    """Log what the operators need (the upstream detail, the cause), answer the caller the envelope."""
    extra = {"status": error.status, "code": error.code, "detail": error.detail}
    if error.code == THROTTLED:
        count_throttles()
    cause = error.__cause__
    if error.status >= 500 and cause is not None:
        logger.error("Request failed", extra=extra, exc_info=(type(cause), cause, cause.__traceback__))
    elif error.status >= 500:
        logger.error("Request failed", extra=extra)
    else:
        logger.info("Request refused", extra=extra)
    return _error(error)


def unexpected_error(error: Exception) -> Response[str]:
    logger.error("Request failed unexpectedly", exc_info=(type(error), error, error.__traceback__))
    return _error(internal_error(_request_id()))


# Registered without decorator syntax: Powertools' exception_handler is untyped.
app.exception_handler(ApiError)(api_error)
app.exception_handler(Exception)(unexpected_error)


# clear_state: the caller appended to one request's logs must not stay on the next request's.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one API Gateway REST proxy request."""
    return app.resolve(event, context)
