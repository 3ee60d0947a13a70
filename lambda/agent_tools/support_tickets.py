"""The SupportTickets function-schema action group: check the call against functions.json, then run it."""

import logging
from collections.abc import Callable, Mapping
from typing import Any

from agent_tools.logs import structured
from agent_tools.responses import ResponseState, compact_json, failure_text, function_response
from agent_tools.schemas import FUNCTIONS
from agent_tools.tickets import CloseOutcome, TicketStore
from agent_tools.validation import InvalidParameterError, show, validate_parameters

logger = logging.getLogger(__name__)

DECLINED = "The user declined; nothing was changed."
DENY = "DENY"

Arguments = Mapping[str, object]
Action = Callable[[TicketStore, Arguments, Mapping[str, Any]], str]


def _string(arguments: Arguments, name: str) -> str | None:
    value = arguments.get(name)
    return value if isinstance(value, str) else None


def _integer(arguments: Arguments, name: str) -> int:
    value = arguments.get(name)
    if not isinstance(value, int):
        raise TypeError(f"{name} is not an integer after validation")
    return value


def create_ticket(store: TicketStore, arguments: Arguments, event: Mapping[str, Any]) -> str:
    """Open a ticket and answer with it."""
    session_id = event.get("sessionId")
    ticket = store.create(
        subject=str(arguments["subject"]),
        description=str(arguments["description"]),
        priority=str(arguments["priority"]),
        session_id=session_id if isinstance(session_id, str) else None,
    )
    return compact_json(ticket)


def get_ticket(store: TicketStore, arguments: Arguments, event: Mapping[str, Any]) -> str:
    """Answer with the ticket, or say there is none."""
    ticket_id = str(arguments["ticket_id"])
    ticket = store.get(ticket_id)
    return compact_json(ticket) if ticket else f"No ticket {ticket_id}."


def list_tickets(store: TicketStore, arguments: Arguments, event: Mapping[str, Any]) -> str:
    """Answer with the newest tickets."""
    tickets = store.list_recent(status=_string(arguments, "status"), limit=_integer(arguments, "limit"))
    return compact_json({"tickets": tickets})


def close_ticket(store: TicketStore, arguments: Arguments, event: Mapping[str, Any]) -> str:
    """Close the ticket and answer with it, or say why it was not closed."""
    ticket_id = str(arguments["ticket_id"])
    result = store.close(ticket_id, resolution=_string(arguments, "resolution"))
    if result.outcome is CloseOutcome.MISSING:
        return f"No ticket {ticket_id}."
    if result.outcome is CloseOutcome.ALREADY_CLOSED:
        return f"Ticket {ticket_id} is already closed; nothing was changed."
    return compact_json(result.ticket)


ACTIONS: dict[str, Action] = {
    "create_ticket": create_ticket,
    "get_ticket": get_ticket,
    "list_tickets": list_tickets,
    "close_ticket": close_ticket,
}


def _answer(event: Mapping[str, Any], open_store: Callable[[], TicketStore]) -> tuple[str, ResponseState | None]:
    name = event.get("function")
    spec = FUNCTIONS.get(name) if isinstance(name, str) else None
    action = ACTIONS.get(spec.name) if spec else None
    if spec is None or action is None:
        return f"Unknown function {show(name)}; the functions are {', '.join(FUNCTIONS)}.", ResponseState.REPROMPT
    # Bedrock asks the user before it calls a function that requires confirmation; a denial must change nothing.
    if event.get("confirmationState") == DENY:
        logger.info(structured("User declined", function=name))
        return DECLINED, None
    try:
        arguments = validate_parameters(spec.name, spec.parameters, event.get("parameters"))
    except InvalidParameterError as error:
        logger.info(structured("Invalid parameters", function=name, reason=str(error)))
        return str(error), ResponseState.REPROMPT
    return action(open_store(), arguments, event), None


def handle_function_call(
    event: Mapping[str, Any], open_store: Callable[[], TicketStore], *, request_id: str | None
) -> dict[str, Any]:
    """Answer a function call; bad input reprompts the agent, a server-side error fails without details."""
    try:
        body, state = _answer(event, open_store)
    except Exception:
        logger.exception(structured("Function call failed", function=event.get("function"), request_id=request_id))
        body, state = failure_text(request_id), ResponseState.FAILURE
    return function_response(event, body, state)
