"""The streaming routes (`<route>/stream` for each route of routes.json with `stream`): server-sent events.

API Gateway streams the function's response (REST response streaming); the Lambda Web Adapter layer runs this
ASGI app behind it (run.sh) and hands it API Gateway's request context, Cognito claims included, in the
`x-amzn-request-context` header, and the invocation's context (its `request_id`) in `x-amzn-lambda-context`; it
overwrites any copy a client sends. Each route is `api.<name>.stream(services, call)`, a generator of events: an
error before the first event is an ordinary JSON error response with its status; an error after it is an `error`
event with the same envelope, and the stream ends.
"""

import importlib
import json
import os
from collections.abc import Iterator
from itertools import chain
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route as Endpoint

from api import sse
from api.errors import ApiError, bad_request, internal_error
from api.identity import caller_of
from api.limits import check_size
from api.registry import REGISTRY, Route
from api.reply import Call
from api.services import from_environment

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "BedrockGenAi")
services = from_environment(os.environ)
# The function may run up to STREAM_TIMEOUT_SECONDS; an agent turn stops itself a little before.
AGENT_TIMEOUT_SECONDS = max(10, int(os.environ.get("STREAM_TIMEOUT_SECONDS", "300")) - 15)
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
ORIGINS = [origin.strip() for origin in os.environ.get("CORS_ORIGINS", "").split(",") if origin.strip()]


def _context(request: Request) -> dict[str, Any]:
    try:
        value = json.loads(request.headers.get("x-amzn-request-context", "{}"))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _request_id(request: Request) -> str:
    try:
        lambda_context = json.loads(request.headers.get("x-amzn-lambda-context", "{}"))
    except ValueError:
        lambda_context = {}
    request_id = lambda_context.get("request_id") if isinstance(lambda_context, dict) else None
    return request_id if isinstance(request_id, str) else str(_context(request).get("requestId", "unknown"))


def _log(error: Exception) -> ApiError:
    if isinstance(error, ApiError):
        extra = {"status": error.status, "code": error.code, "detail": error.detail}
        if error.status >= 500:
            logger.error("Request failed", extra=extra)
        else:
            logger.info("Request refused", extra=extra)
        return error
    logger.error("Request failed unexpectedly", exc_info=(type(error), error, error.__traceback__))
    return internal_error("")


def _events(first: sse.Event, rest: Iterator[sse.Event], request_id: str) -> Iterator[bytes]:
    """The stream's bytes; an error after the first event becomes an `error` event that ends it."""
    try:
        for event in chain([first], rest):
            if event.name == "guardrail":
                metrics.add_metric(name="GuardrailInterventions", unit=MetricUnit.Count, value=1)
            yield event.encode()
    except Exception as failure:  # after the first event, every failure is an error event that ends the stream
        error = _log(failure)
        message = error.message if error.code != "InternalError" else internal_error(request_id).message
        yield sse.Event("error", {**error.body(request_id)["error"], "message": message}).encode()
    finally:
        metrics.flush_metrics()


def endpoint(route: Route) -> Any:
    """The app's handler of `route`'s stream."""
    module = importlib.import_module(f"api.{route.name}")
    options = {"timeout_seconds": AGENT_TIMEOUT_SECONDS} if route.name == "agent" else {}

    async def stream(request: Request) -> Response:
        request_id = _request_id(request)
        # The logger outlives the request: no key of the previous caller may label this one's records.
        logger.clear_state()
        logger.append_keys(request_id=request_id, route=route.name)
        metrics.add_dimension(name="route", value=f"{route.name}-stream")
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        try:
            caller = caller_of({"requestContext": _context(request)})
            logger.append_keys(caller=caller.id)
            try:
                body = await request.json()
            except ValueError as invalid:
                raise bad_request("body: is not a JSON object.") from invalid
            if not isinstance(body, dict):
                raise bad_request("body: is not a JSON object.")
            check_size(body, services.settings.limits["MAX_REQUEST_CHARACTERS"])
            events: Iterator[sse.Event] = module.stream(services, Call(caller, body), **options)
            # The first event needs the model's first answer: wait for it off the event loop.
            first = await run_in_threadpool(next, events)
        except Exception as failure:  # before the stream starts, every failure is an error response
            refused = _log(failure)
            if refused.code == "InternalError":
                refused = internal_error(request_id)
            metrics.flush_metrics()
            return JSONResponse(refused.body(request_id), status_code=refused.status, headers=refused.headers)
        return StreamingResponse(_events(first, events, request_id), media_type="text/event-stream", headers=HEADERS)

    return stream


async def ready(_: Request) -> Response:
    """The Lambda Web Adapter's readiness check (not routed through API Gateway)."""
    return PlainTextResponse("ok")


# API Gateway answers the preflight; the response itself must name the origin, as the buffered routes' do.
cors = [Middleware(CORSMiddleware, allow_origins=ORIGINS, allow_methods=["POST"])] if ORIGINS else []
app = Starlette(
    routes=[
        Endpoint("/ready", ready, methods=["GET"]),
        *(Endpoint(route.stream_path, endpoint(route), methods=["POST"]) for route in REGISTRY.routes if route.stream),
    ],
    middleware=cors,
)
