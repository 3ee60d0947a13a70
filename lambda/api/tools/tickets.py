"""The tickets tool group: the caller's own support tickets, owned by the verified caller, never by the model."""

from collections.abc import Callable, Mapping
from typing import Any

from api.tickets import CloseOutcome, TicketStore
from api.tools import Invocation, Runner, ToolRefusal

DEFAULT_LIMIT = 10
DEFAULT_PRIORITY = "normal"


def toolkit(tables: Callable[[str], Any]) -> dict[str, Runner]:
    """The group's runners over the table the TICKETS_TABLE setting names."""
    return runners(TicketStore(tables("TICKETS_TABLE")))


def runners(store: TicketStore) -> dict[str, Runner]:
    """The runner of each tool in tickets.json, over `store`."""

    def create_ticket(call: Invocation) -> Mapping[str, Any]:
        arguments = call.use.input
        # The tool-use id is unique to this call in this conversation: a retried confirmation reuses it.
        return store.create(
            call.caller.id,
            subject=arguments["subject"],
            description=arguments["description"],
            priority=arguments.get("priority", DEFAULT_PRIORITY),
            idempotency_key=f"{call.session}/{call.use.id}",
        )

    def get_ticket(call: Invocation) -> Mapping[str, Any]:
        ticket_id = call.use.input["ticket_id"]
        ticket = store.get(call.caller.id, ticket_id)
        if ticket is None:
            raise ToolRefusal(f"You have no ticket {ticket_id}.")
        return ticket

    def list_tickets(call: Invocation) -> Mapping[str, Any]:
        arguments = call.use.input
        tickets = store.list_recent(
            call.caller.id, status=arguments.get("status"), limit=arguments.get("limit", DEFAULT_LIMIT)
        )
        return {"tickets": tickets}

    def close_ticket(call: Invocation) -> Mapping[str, Any]:
        ticket_id = call.use.input["ticket_id"]
        result = store.close(call.caller.id, ticket_id, resolution=call.use.input.get("resolution"))
        if result.outcome is CloseOutcome.ALREADY_CLOSED:
            raise ToolRefusal(f"Ticket {ticket_id} is already closed; nothing was changed.")
        if result.ticket is None:
            raise ToolRefusal(f"You have no ticket {ticket_id}.")
        return result.ticket

    return {
        "create_ticket": create_ticket,
        "get_ticket": get_ticket,
        "list_tickets": list_tickets,
        "close_ticket": close_ticket,
    }
