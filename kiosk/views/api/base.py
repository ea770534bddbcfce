"""What every resource of the API shares: the blueprint `bp`, its JSON parser,
the documented error answers, and how a request finds its stop and answers a new ticket.

Resource modules import this module and `schemas` only, never each other.
"""

from __future__ import annotations

import json
from typing import Any

from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from kiosk.auth import Forbidden, current_principal
from kiosk.factories import queue_service, tour_service
from kiosk.models import PrintJob, Stop, Ticket
from kiosk.payloads import Position, ticket_status_payload
from kiosk.views.api.schemas import ErrorSchema
from kiosk.views.desk_base import status_url


class JsonParser(FlaskParser):
    """webargs' parser; a body json.loads cannot take safely is invalid JSON (400), not a 500."""

    def _raw_load_json(self, req: Any) -> Any:
        try:
            data = super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        # "[[[[…" nested too deep (RecursionError); a number of 5000 digits (ValueError).
        except (RecursionError, ValueError) as error:
            raise json.JSONDecodeError("The body cannot be decoded.", "-", 0) from error
        if _has_lone_surrogate(data):  # "\ud800": valid JSON text, but no string the DB can bind
            raise json.JSONDecodeError("A string is not valid Unicode.", "-", 0)
        return data


def _has_lone_surrogate(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class LoketBlueprint(Blueprint):
    ARGUMENTS_PARSER = JsonParser()


bp = LoketBlueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Tickets, desks, board and devices of the pop-up front office.",
)


# -- documented errors ------------------------------------------------------------------------

ERRORS = {
    401: "Not logged in, or the token is invalid",
    403: "Not allowed for this caller",
    404: "Unknown object",
    409: "The rules refuse this step (see error.code)",
    422: "Invalid request body",
}


def doc_errors(*statuses: int) -> Any:
    """Document these error answers (our error body) on a view."""

    def decorator(view: Any) -> Any:
        for status in statuses:
            view = bp.alt_response(status, schema=ErrorSchema, description=ERRORS[status])(view)
        return view

    return decorator


# -- helpers ----------------------------------------------------------------------------------


def stop_for_request(stop_id: int | None = None) -> Stop:
    """The stop a caller acts on: a device's own stop, else the one asked for, else the open one."""
    principal = current_principal()
    queue = queue_service()
    device = principal.device
    if device is not None and device.stop_id is not None:
        if stop_id is not None and stop_id != device.stop_id:
            raise Forbidden("This device belongs to another stop.")
        return queue.stop(device.stop_id)
    if stop_id is not None:
        if device is not None:
            raise Forbidden("A device cannot choose a stop.")
        return queue.stop(stop_id)
    return tour_service().current_stop()


def stop_id_for_request() -> int | None:
    """`stop_for_request` without loading the stop: a device's own stop, else None (the open
    one), for a read that fetches the stop itself (`TourService.stop_contents`)."""
    device = current_principal().device
    return device.stop_id if device is not None else None


# The header a kiosk or desk sends with a state-changing request (kiosk.services.idempotency).
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,100}$"},
    "description": (
        "Made by the device once per tap and sent again with every retry of it (for a day): "
        "a retry gets the first answer (the same ticket), never a second ticket or step."
    ),
}


def idempotent(view: Any) -> Any:
    """Document the ``Idempotency-Key`` header on a view that honours it."""
    return bp.doc(parameters=[IDEMPOTENCY_KEY])(view)


def created_ticket(
    ticket: Ticket, position: Position | None, job: PrintJob | None
) -> dict[str, Any]:
    """A new ticket's answer (`TicketCreatedSchema`): its status, its key and whether it prints.
    `job` is the slip's print job (a retry's answer reads the ticket's latest job)."""
    payload = ticket_status_payload(ticket, position)
    payload.update(
        token=ticket.token,
        status_url=status_url(ticket.token),
        print_status=job.status.value if job is not None else None,
    )
    return payload
