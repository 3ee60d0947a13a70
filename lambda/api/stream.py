"""The streaming routes (`<route>/stream` for each route of routes.json with `stream`): server-sent events.

API Gateway streams the function's response (REST response streaming); the Lambda Web Adapter layer runs this
ASGI app behind it (run.sh) and hands it API Gateway's request context, Cognito claims included, in the
`x-amzn-request-context` header, and the invocation's context (its `request_id`) in `x-amzn-lambda-context`; it
overwrites any copy a client sends. Each route is `api.<name>.stream(services, call)`, a generator of events: an
error before the first event is an ordinary JSON error response with its status; an error after it is an `error`
event with the same envelope, and the stream ends.
"""

import asyncio
import importlib
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from itertools import chain
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route as Endpoint

from api import sse
from api.clients import STREAM_MARGIN_SECONDS, stream_client_config
from api.errors import ApiError, internal_error
from api.identity import caller_of
from api.registry import REGISTRY, Route
from api.reply import Call, read_body
from api.services import from_environment
from api.telemetry import THROTTLED, count_throttles

logger = Logger()
# X-Ray subsegments for every AWS call, in the invocation's trace (see _join_trace).
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "BedrockGenAi")
# The function may run up to STREAM_TIMEOUT_SECONDS; reads and an agent turn stop a little before.
STREAM_TIMEOUT_SECONDS = int(os.environ.get("STREAM_TIMEOUT_SECONDS", "300"))
AGENT_TIMEOUT_SECONDS = max(10, STREAM_TIMEOUT_SECONDS - STREAM_MARGIN_SECONDS)
services = from_environment(os.environ, stream_client_config(STREAM_TIMEOUT_SECONDS))
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
TRACE_HEADER = "_X_AMZN_TRACE_ID"
ORIGINS = [origin.strip() for origin in os.environ.get("CORS_ORIGINS", "").split(",") if origin.strip()]


def _header_object(request: Request, name: str) -> dict[str, Any]:
    """A header the adapter sets to a JSON object; {} when it is missing or not one."""
    try:
        value = json.loads(request.headers.get(name, "{}"))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _join_trace(lambda_context: dict[str, Any]) -> None:
    """Make this invocation's X-Ray trace the one the SDK records AWS calls in.

    The SDK reads the trace header from _X_AMZN_TRACE_ID, which Lambda sets for each invocation in the runtime's
    environment, not in this long-running server's; the adapter passes it in the Lambda context instead. An
    execution environment handles one invocation at a time, so the process-wide variable is this request's.
    """
    trace = lambda_context.get("xray_trace_id")
    if isinstance(trace, str) and trace:
        os.environ[TRACE_HEADER] = trace


def _log(error: Exception) -> ApiError:
    if isinstance(error, ApiError):
        extra = {"status": error.status, "code": error.code, "detail": error.detail}
        if error.code == THROTTLED:
            count_throttles()
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


async def _relay(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks of a blocking stream, produced in one worker thread and handed to the event loop one by one.

    One thread for the whole stream rather than a thread-pool round trip per chunk (what Starlette does with a
    plain iterator): each chunk costs a queue hand-off, not a task on the pool. When the client goes away, the
    worker stops at its next chunk.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for chunk in chunks:
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
                if stop.is_set():
                    break
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    worker = loop.run_in_executor(None, pump)
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        await worker
    finally:
        stop.set()


def endpoint(route: Route) -> Any:
    """The app's handler of `route`'s stream."""
    module = importlib.import_module(f"api.{route.name}")
    options = {"timeout_seconds": AGENT_TIMEOUT_SECONDS} if route.name == "agent" else {}

    async def stream(request: Request) -> Response:
        context = _header_object(request, "x-amzn-request-context")
        lambda_context = _header_object(request, "x-amzn-lambda-context")
        gateway_request_id = str(context.get("requestId", ""))
        request_id = lambda_context.get("request_id")
        request_id = request_id if isinstance(request_id, str) else gateway_request_id or "unknown"
        _join_trace(lambda_context)
        # The logger outlives the request: no key of the previous caller may label this one's records.
        logger.clear_state()
        logger.append_keys(request_id=request_id, route=route.name)
        # As the buffered function's: API Gateway's request id, the one in the access log.
        logger.set_correlation_id(gateway_request_id or None)
        metrics.add_dimension(name="route", value=f"{route.name}-stream")
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        try:
            caller = caller_of({"requestContext": context})
            logger.append_keys(caller=caller.id)
            body = read_body(await request.body(), services.settings.limit("MAX_REQUEST_CHARACTERS"))
            events: Iterator[sse.Event] = module.stream(services, Call(caller, body), **options)
            # The first event needs the model's first answer: wait for it off the event loop.
            first = await run_in_threadpool(next, events)
        except Exception as failure:  # before the stream starts, every failure is an error response
            refused = _log(failure)
            if refused.code == "InternalError":
                refused = internal_error(request_id)
            metrics.flush_metrics()
            return JSONResponse(refused.body(request_id), status_code=refused.status, headers=refused.headers)
        return StreamingResponse(
            _relay(_events(first, events, request_id)), media_type="text/event-stream", headers=HEADERS
        )

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
