"""Lambda entry point of the REST API: routes, error envelopes, CORS, logs, traces and metrics.

The routes are thin: each reads and validates its body against schemas.json, then calls a pure module (chat,
compare, retrieval, agent) with the client and settings below, which tests replace.
"""

import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from api import chat, compare, events, retrieval
from api.agent import Agent
from api.clients import lazy_client, lazy_table
from api.config import from_environ
from api.errors import ApiError, bad_request, internal_error
from api.errors import response as error_response
from api.identity import Caller, caller_of
from api.reply import Reply
from api.schemas import load_schemas
from api.sessions import SessionBinder
from api.tickets import TicketStore
from api.toolbox import Toolbox
from api.tools import tickets
from api.tracing import create_tracer
from common.schema import SchemaViolation, show, validate

logger = Logger()
tracer = create_tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "BedrockGenAi")

# Read once; a missing or invalid setting fails the routes that need it with 500 Misconfigured, never the import.
settings = from_environ(os.environ)
cors_origins = frozenset(origin.strip() for origin in os.environ.get("CORS_ORIGINS", "").split(",") if origin.strip())
SCHEMAS = load_schemas()
COMPARE_WORKERS = compare.MAX_WORKERS

# The harness must answer within the function's 28 s: it stops the turn itself a little before.
AGENT_TIMEOUT_SECONDS = 24

bedrock_runtime: Any = lazy_client("bedrock-runtime")
bedrock_agent_runtime: Any = lazy_client("bedrock-agent-runtime")
agentcore: Any = lazy_client("bedrock-agentcore")
tickets_table: Any = lazy_table(settings.values.get("TICKETS_TABLE", "unset"))
# The agent's inline tool groups: each is tools/<group>.json and the runners of tools/<group>.py.
TOOL_GROUPS = {"tickets": tickets.runners(TicketStore(tickets_table))}
toolbox = Toolbox(TOOL_GROUPS)

ROUTES: Mapping[str, str] = {
    "/health": "GET",
    "/models": "GET",
    "/chat": "POST",
    "/compare": "POST",
    "/retrieve": "POST",
    "/ask": "POST",
    "/agent": "POST",
}
UNMATCHED = "unmatched"

app = APIGatewayRestResolver()


def _request_id(context: object) -> str:
    request_id = getattr(context, "aws_request_id", None)
    return request_id if isinstance(request_id, str) else "unknown"


def _label(text: str) -> str:
    """Request text quoted in a message: as is when plain, else as a short JSON string."""
    return text if re.fullmatch(r"[A-Za-z0-9/._-]{1,60}", text) else show(text)


def _route_name(event: Mapping[str, Any]) -> str:
    """The route a checked event goes to, as the `route` metric dimension: a fixed set of values."""
    path = event["path"].rstrip("/") or "/"
    if ROUTES.get(path) == event["httpMethod"].upper():
        return path.lstrip("/")
    return UNMATCHED


def _count(route: str) -> None:
    metrics.add_dimension(name="route", value=route)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)


def _error(error: ApiError) -> Response[str]:
    body = json.dumps(error.body(_request_id(app.lambda_context)), separators=(",", ":"))
    return Response(status_code=error.status, content_type="application/json", body=body, headers=error.headers)


def _caller() -> Caller:
    caller = caller_of(app.current_event.raw_event)
    logger.append_keys(caller=caller.id)
    return caller


def _sessions() -> SessionBinder:
    return SessionBinder(settings.get("SESSION_KEY").encode())


def _post(route: str, answer: Callable[[Caller, dict[str, Any]], Reply]) -> dict[str, Any]:
    caller = _caller()
    body = events.json_object(app.current_event.raw_event)
    try:
        validate(SCHEMAS[route], body)
    except SchemaViolation as violation:
        raise bad_request(str(violation)) from violation
    reply = answer(caller, body)
    if reply.interventions:
        metrics.add_metric(name="GuardrailInterventions", unit=MetricUnit.Count, value=reply.interventions)
    for failure in reply.errors:
        logger.warning("A model failed", extra={"route": route, **failure})
    return reply.body


@app.get("/health")
def health() -> dict[str, Any]:
    return {"status": "ok"}


@app.get("/models")
def models() -> dict[str, Any]:
    _caller()
    settings.require("MODELS")
    return {"models": [{"id": model.id, "name": model.name} for model in settings.models]}


@app.post("/chat")
def post_chat() -> dict[str, Any]:
    return _post("chat", lambda _, body: chat.chat(bedrock_runtime, settings, body))


@app.post("/compare")
def post_compare() -> dict[str, Any]:
    return _post("compare", lambda _, body: compare.compare(bedrock_runtime, settings, body, workers=COMPARE_WORKERS))


@app.post("/retrieve")
def post_retrieve() -> dict[str, Any]:
    return _post("retrieve", lambda _, body: retrieval.retrieve(bedrock_agent_runtime, settings, body))


@app.post("/ask")
def post_ask() -> dict[str, Any]:
    return _post("ask", lambda caller, body: retrieval.ask(bedrock_agent_runtime, settings, _sessions(), caller, body))


@app.post("/agent")
def post_agent() -> dict[str, Any]:
    def answer(caller: Caller, body: dict[str, Any]) -> Reply:
        agent = Agent(agentcore, bedrock_runtime, settings, toolbox, _sessions(), AGENT_TIMEOUT_SECONDS)
        return agent.answer(caller, body)

    return _post("agent", answer)


@app.not_found
def not_found(_: NotFoundError) -> Response[str]:
    method = app.current_event.http_method.upper()
    path = app.current_event.path.rstrip("/") or "/"
    allowed = ROUTES.get(path)
    if allowed is not None:
        message = f"{_label(method)} is not allowed on {path}; use {allowed}."
        return _error(ApiError(405, "MethodNotAllowed", message, {"Allow": allowed}))
    routes = ", ".join(f"{method} {route}" for route, method in ROUTES.items())
    return _error(ApiError(404, "NotFound", f"There is no route at {_label(path)}; the routes are {routes}."))


def api_error(error: ApiError) -> Response[str]:
    cause = error.__cause__
    if error.status >= 500 and cause is not None:
        logger.error("Request failed", extra={"code": error.code}, exc_info=(type(cause), cause, cause.__traceback__))
    elif error.status >= 500:
        logger.error("Request failed", extra={"code": error.code, "reason": error.message})
    else:
        logger.info("Request refused", extra={"status": error.status, "code": error.code, "reason": error.message})
    return _error(error)


def unexpected_error(error: Exception) -> Response[str]:
    logger.error("Request failed unexpectedly", exc_info=(type(error), error, error.__traceback__))
    return _error(internal_error(_request_id(app.lambda_context)))


# Registered without decorator syntax: Powertools' exception_handler is untyped.
app.exception_handler(ApiError)(api_error)
app.exception_handler(Exception)(unexpected_error)


def _with_cors(response: dict[str, Any], origin: str | None) -> dict[str, Any]:
    """Allow the request's Origin when CORS_ORIGINS lists it; API Gateway answers the preflight itself."""
    if origin is not None and origin in cors_origins:
        headers = response.setdefault("multiValueHeaders", {})
        headers["Access-Control-Allow-Origin"] = [origin]
        headers["Vary"] = ["Origin"]
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Answer one API Gateway REST proxy request; a request that cannot be parsed is a 400, never a 500."""
    request_id = _request_id(context)
    try:
        problem = events.problem(event)
        _count(UNMATCHED if problem is not None else _route_name(event))
        if problem is None:
            response = app.resolve(events.normalized(event), context)
        else:
            logger.warning("Malformed event", extra={"problem": problem})
            response = error_response(bad_request(problem), request_id)
    except Exception:
        logger.exception("Request failed outside the routes")
        response = error_response(internal_error(request_id), request_id)
    return _with_cors(response, events.header(event, "origin"))
