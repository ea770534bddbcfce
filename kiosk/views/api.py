"""JSON API v1: thin adapters over the services. Schemas validate requests and responses and
generate the OpenAPI document at /api/v1/openapi.json."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask import Flask, current_app, request
from flask_smorest import Api, Blueprint
from marshmallow import validate
from sqlalchemy import select
from webargs.flaskparser import FlaskParser

from kiosk.auth import Forbidden, current_principal, require_device_or_staff, require_staff
from kiosk.extensions import csrf, limiter
from kiosk.factories import (
    account_service,
    appointment_service,
    db_session,
    mfa_service,
    print_service,
    queue_service,
    tour_service,
)
from kiosk.mail import after_booking
from kiosk.models import Device, DeviceKind, Role, Stop, Ticket
from kiosk.payloads import (
    appointment_payload,
    device_payload,
    slot_payload,
    stop_payload,
    ticket_status_payload,
)
from kiosk.printing.jobs import print_issued, reprint_booking, reprint_ticket
from kiosk.research_export import XLSX_MIMETYPE, export_response
from kiosk.services.errors import SecondFactorNotSetUp, SecondFactorRequired
from kiosk.services.mfa import MfaService
from kiosk.services.printing import print_job_payload
from kiosk.services.research import Filters, InvalidFilters
from kiosk.urls import public_url
from kiosk.views import desk_base
from kiosk.views.desk_base import staff_ticket, status_url


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


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


def _auth_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


def _pair_limit() -> str:
    return current_app.config["RATELIMIT_PAIR"]


def _book_limit() -> str:
    return current_app.config["RATELIMIT_BOOK"]


# -- schemas ----------------------------------------------------------------------------------


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "queue_empty"})
    message = ma.fields.String(required=True)
    details = ma.fields.Dict()


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


class Names(ma.fields.Dict):
    def __init__(self, **kw: Any) -> None:
        super().__init__(keys=ma.fields.String(), values=ma.fields.String(), **kw)


class ProductRefSchema(ma.Schema):
    code = ma.fields.String()
    prefix = ma.fields.String()
    names = Names()


class ProductSchema(ProductRefSchema):
    bring = Names()
    duration_minutes = ma.fields.Integer()
    walk_in = ma.fields.Boolean()
    appointment_required = ma.fields.Boolean()


class DeskSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    active = ma.fields.Boolean()
    products = ma.fields.List(ma.fields.String())


class LocationSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    neighbourhood = ma.fields.String()
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)


class StopSchema(ma.Schema):
    id = ma.fields.Integer()
    location = ma.fields.Nested(LocationSchema)
    starts_at = ma.fields.String()
    ends_at = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["planned", "open", "closed"]})
    accepting_tickets = ma.fields.Boolean()
    products = ma.fields.List(ma.fields.Nested(ProductSchema))
    desks = ma.fields.List(ma.fields.Nested(DeskSchema))


class PositionSchema(ma.Schema):
    ahead = ma.fields.Integer(metadata={"description": "People before this ticket"})
    wait_minutes = ma.fields.Integer(
        allow_none=True, metadata={"description": "Expected wait; null when no desk serves it"}
    )


class DeskRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class TicketPublicSchema(ma.Schema):
    label = ma.fields.String(metadata={"example": "A012"})
    product = ma.fields.Nested(ProductRefSchema)
    status = ma.fields.String(
        metadata={"enum": ["waiting", "called", "serving", "done", "no_show", "cancelled"]}
    )
    desk = ma.fields.Nested(DeskRefSchema, allow_none=True)
    issued_at = ma.fields.String()
    called_at = ma.fields.String(allow_none=True)
    recall_count = ma.fields.Integer()


class TicketStatusSchema(TicketPublicSchema):
    source = ma.fields.String()
    position = ma.fields.Nested(PositionSchema, allow_none=True)
    finished_at = ma.fields.String(allow_none=True)


class TicketCreatedSchema(TicketStatusSchema):
    token = ma.fields.String(metadata={"description": "Secret key of the ticket's status page"})
    status_url = ma.fields.String()
    print_status = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "queued when the kiosk's printer will print the slip; null when no "
            "slip prints (staff callers, a kiosk without a printer); failed if it cannot"
        },
    )


class TicketStaffSchema(TicketStatusSchema):
    id = ma.fields.Integer()
    token = ma.fields.String()
    number = ma.fields.Integer()
    priority = ma.fields.Integer()
    stop_id = ma.fields.Integer()
    started_at = ma.fields.String(allow_none=True)
    ended_at = ma.fields.String(allow_none=True)
    transfer_count = ma.fields.Integer()
    status_url = ma.fields.String()


class TicketRequest(Strict):
    product = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Product code or ticket prefix", "example": "A"},
    )
    stop = ma.fields.Integer(
        strict=True,  # 1.5 or "1" is a wrong type, not stop 1
        validate=validate.Range(min=1),
        metadata={"description": "Staff only; default: open stop"},
    )


class TransferRequest(Strict):
    product = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))


class BoardStopSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    status = ma.fields.String()
    accepting_tickets = ma.fields.Boolean()


class WaitingSchema(ma.Schema):
    product = ma.fields.Nested(ProductRefSchema)
    count = ma.fields.Integer()


class BoardSchema(ma.Schema):
    stop = ma.fields.Nested(BoardStopSchema)
    calls = ma.fields.List(ma.fields.Nested(TicketPublicSchema))
    waiting = ma.fields.List(ma.fields.Nested(WaitingSchema))
    at = ma.fields.String()


class BoardQuery(Strict):
    stop = ma.fields.Integer(validate=validate.Range(min=1))


class PairRequest(Strict):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))


class PrinterSchema(ma.Schema):
    state = ma.fields.String(
        metadata={
            "enum": [
                "online",
                "paper_ok",
                "paper_low",
                "paper_out",
                "offline",
                "unknown",
                "config_error",
            ],
            "description": "The printer's last reported state",
        }
    )
    detail = ma.fields.String(metadata={"description": "What the printer or the driver said"})
    checked_at = ma.fields.String(allow_none=True, metadata={"description": "When it was asked"})


class PrintTicketSchema(ma.Schema):
    label = ma.fields.String()
    token = ma.fields.String()
    status = ma.fields.String()


class PrintAppointmentSchema(ma.Schema):
    code = ma.fields.String()
    token = ma.fields.String()


class PrintJobSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": ["ticket", "reprint", "test", "booking"]})
    status = ma.fields.String(
        metadata={
            "enum": ["queued", "retrying", "printed", "failed"],
            "description": "failed: the spool gave up; reprint it when the printer works again",
        }
    )
    attempts = ma.fields.Integer()
    error = ma.fields.String(allow_none=True)
    device = ma.fields.Integer(allow_none=True, metadata={"description": "The kiosk's device id"})
    device_name = ma.fields.String(allow_none=True)
    ticket = ma.fields.Nested(PrintTicketSchema, allow_none=True)
    appointment = ma.fields.Nested(
        PrintAppointmentSchema,
        allow_none=True,
        metadata={"description": "A time booked for later at a kiosk (its slip has no ticket)"},
    )
    created_at = ma.fields.String()
    updated_at = ma.fields.String()


class PrintJobRequest(ma.Schema):
    ticket = ma.fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "The ticket's token (from the desk's lists)"},
    )
    label = ma.fields.String(
        validate=validate.Length(min=1, max=12),
        metadata={"description": "Or the ticket's label as printed, e.g. A012 (today, at `stop`)"},
    )
    stop = ma.fields.Integer(metadata={"description": "The stop of `label`; default the open one"})
    appointment = ma.fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Or a booking slip: the appointment's token"},
    )
    device = ma.fields.Integer(
        metadata={"description": "Print on this kiosk; default the kiosk that printed it first"}
    )

    @ma.validates_schema
    def one_ticket(self, data: dict[str, Any], **_kw: Any) -> None:
        if sum(key in data for key in ("ticket", "label", "appointment")) != 1:
            raise ma.ValidationError(
                "Give one of ticket (a token), label, or appointment (a token).", "ticket"
            )


class PrintJobsQuery(ma.Schema):
    faults = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Only slips that did not come out and were not printed since"},
    )


class PlaceSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    neighbourhood = ma.fields.String()


class SlotSchema(ma.Schema):
    id = ma.fields.Integer()
    starts_at = ma.fields.String()
    ends_at = ma.fields.String()
    free = ma.fields.Integer(metadata={"description": "Places still free"})
    product = ma.fields.Nested(ProductRefSchema)
    stop = ma.fields.Nested(PlaceSchema)


class SlotsQuery(ma.Schema):
    product = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Product code or ticket prefix", "example": "A"},
    )
    stop = ma.fields.Integer(validate=validate.Range(min=1), metadata={"description": "One stop"})
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AppointmentRequest(Strict):
    slot = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    product = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "The slot's product (code or prefix): a check on the slot id"},
    )
    name = ma.fields.String(
        validate=validate.Length(max=80),
        metadata={"description": "Optional: the name to be called by"},
    )
    email = ma.fields.Email(
        validate=validate.Length(max=254),
        metadata={"description": "Optional: only to send a confirmation"},
    )
    language = ma.fields.String(load_default="nl", validate=validate.OneOf(["nl", "en"]))


class AppointmentSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Short booking code, e.g. K7M-4PX"})
    token = ma.fields.String(metadata={"description": "Secret key of the private link"})
    url = ma.fields.String(metadata={"description": "The private page: view, calendar, cancel"})
    status = ma.fields.String(metadata={"enum": ["booked", "checked_in", "cancelled", "no_show"]})
    starts_at = ma.fields.String()
    ends_at = ma.fields.String()
    product = ma.fields.Nested(ProductSchema)
    stop = ma.fields.Nested(PlaceSchema)
    name = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    language = ma.fields.String()
    ticket = ma.fields.String(allow_none=True, metadata={"description": "After check-in"})


class CheckInRequest(Strict):
    code = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Booking code as typed or scanned, or the external reference"},
    )


class CheckInResponse(TicketCreatedSchema):
    appointment = ma.fields.String(metadata={"description": "The appointment's booking code"})
    again = ma.fields.Boolean(metadata={"description": "It had been checked in already"})


class ImportRequest(Strict):
    rows = ma.fields.List(
        ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String()),
        required=True,
        validate=validate.Length(min=1, max=5000),
        metadata={"description": "reference, product, stop, start (ISO), name?, email?"},
    )


class ImportResponse(ma.Schema):
    created = ma.fields.List(ma.fields.String(), metadata={"description": "Booking codes"})
    skipped = ma.fields.List(ma.fields.String(), metadata={"description": "Known references"})
    errors = ma.fields.List(ma.fields.String())


class DeviceSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": ["kiosk", "board"]})
    stop_id = ma.fields.Integer(allow_none=True)
    paired = ma.fields.Boolean()
    paired_at = ma.fields.String(allow_none=True)
    last_seen_at = ma.fields.String(allow_none=True)
    printer = ma.fields.Nested(
        PrinterSchema,
        allow_none=True,
        metadata={"description": "A kiosk's printer health; null for boards and kiosks without"},
    )


class PairResponse(ma.Schema):
    token = ma.fields.String(metadata={"description": "Device credential: Authorization: Bearer"})
    device = ma.fields.Nested(DeviceSchema)


class TokenRequest(Strict):
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    password = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    code = ma.fields.String(
        validate=validate.Length(min=1, max=20),
        metadata={"description": "The authenticator app's code (coordinators and admins)"},
    )


class TokenResponse(ma.Schema):
    token = ma.fields.String()
    expires_at = ma.fields.String()


class DeskQueueTicketSchema(TicketStaffSchema):
    class Meta:
        # Listed in calling order; a place per ticket would cost a query each.
        exclude = ("position",)

    waited_seconds = ma.fields.Integer(metadata={"description": "Seconds since it was issued"})


class DeskActionsSchema(ma.Schema):
    call_next = ma.fields.Boolean()
    recall = ma.fields.Boolean()
    start = ma.fields.Boolean()
    finish = ma.fields.Boolean()
    no_show = ma.fields.Boolean()
    transfer = ma.fields.Boolean()


class DeskStateSchema(ma.Schema):
    desk = ma.fields.Nested(DeskSchema)
    stop = ma.fields.Nested(BoardStopSchema)
    current = ma.fields.Nested(
        TicketStaffSchema,
        allow_none=True,
        metadata={"description": "The ticket called to or served at this desk; null if none"},
    )
    queue = ma.fields.List(
        ma.fields.Nested(DeskQueueTicketSchema),
        metadata={"description": "Waiting tickets this desk may call, in calling order"},
    )
    products = ma.fields.List(
        ma.fields.Nested(ProductRefSchema),
        metadata={"description": "The stop's products: where a ticket can be transferred to"},
    )
    actions = ma.fields.Nested(
        DeskActionsSchema, metadata={"description": "Which steps the rules allow now"}
    )
    at = ma.fields.String(metadata={"description": "Server time of this state"})


class DevicePresenceSchema(DeviceSchema):
    connected = ma.fields.Boolean(
        metadata={"description": "Seen within 90 s and not disconnected since"}
    )


# -- helpers ----------------------------------------------------------------------------------


def _stop_for_request(stop_id: int | None = None) -> Stop:
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


def _staff_ticket(ticket: Ticket) -> dict[str, Any]:
    return staff_ticket(ticket, queue_service().position(ticket))


ERRORS = {
    401: "Not logged in, or the token is invalid",
    403: "Not allowed for this caller",
    404: "Unknown object",
    409: "The rules refuse this step (see error.code)",
    422: "Invalid request body",
}


def _doc_errors(*statuses: int) -> Any:
    def decorator(view: Any) -> Any:
        for status in statuses:
            view = bp.alt_response(status, schema=ErrorSchema, description=ERRORS[status])(view)
        return view

    return decorator


# -- endpoints --------------------------------------------------------------------------------


@bp.get("/stops/current")
@limiter.limit(_public_limit)
@bp.response(200, StopSchema)
@_doc_errors(404)
def current_stop() -> dict[str, Any]:
    """The open stop with its products and desks."""
    tour = tour_service()
    return stop_payload(_stop_for_request(), now=tour.now())


@bp.post("/tickets")
@require_device_or_staff(DeviceKind.KIOSK)
@bp.arguments(TicketRequest)
@bp.response(201, TicketCreatedSchema)
@_doc_errors(401, 403, 404, 409, 422)
def issue_ticket(body: dict[str, Any]) -> dict[str, Any]:
    """Take a number (a paired kiosk for its own stop, or staff)."""
    stop = _stop_for_request(body.get("stop"))
    ticket, position = queue_service().issue_ticket_with_position(
        stop, body["product"], actor=current_principal().actor
    )
    job = print_issued(ticket, position)  # a kiosk's own printer; staff calls print nothing
    payload = ticket_status_payload(ticket, position)
    payload.update(
        token=ticket.token,
        status_url=status_url(ticket.token),
        print_status=job.status.value if job is not None else None,
    )
    return payload


@bp.get("/tickets/<string:token>")
@limiter.limit(_public_limit)
@bp.response(200, TicketStatusSchema)
@_doc_errors(404)
def ticket_status(token: str) -> dict[str, Any]:
    """Public status of one ticket: the token is the key."""
    queue = queue_service()
    ticket = queue.ticket(token)
    return ticket_status_payload(ticket, queue.position(ticket))


@bp.post("/desks/<int:desk_id>/call-next")
@require_staff()
@bp.response(200, TicketStaffSchema)
@_doc_errors(401, 403, 404, 409)
def call_next(desk_id: int) -> dict[str, Any]:
    """Call the next waiting ticket to this desk; 409 `queue_empty` when nobody waits."""
    queue = queue_service()
    ticket = queue.call_next(queue.desk(desk_id), actor=current_principal().actor)
    return _staff_ticket(ticket)


def _ticket_step(action: str, method_name: str, summary: str) -> None:
    @require_staff()
    @bp.response(200, TicketStaffSchema)
    @_doc_errors(401, 403, 404, 409)
    def view(token: str) -> dict[str, Any]:
        queue = queue_service()
        ticket = getattr(queue, method_name)(queue.ticket(token), actor=current_principal().actor)
        return _staff_ticket(ticket)

    view.__name__ = f"ticket_{method_name}"
    view.__doc__ = summary
    bp.route(f"/tickets/<string:token>/{action}", methods=["POST"])(view)


_ticket_step("recall", "recall", "Call the ticket again to the same desk.")
_ticket_step("start", "start", "The resident is at the desk: service starts.")
_ticket_step("finish", "finish", "Service is done; the desk is free.")
_ticket_step("no-show", "no_show", "The called resident did not come.")
_ticket_step("cancel", "cancel", "Take a waiting or called ticket out of the queue.")


@bp.post("/tickets/<string:token>/transfer")
@require_staff()
@bp.arguments(TransferRequest)
@bp.response(200, TicketStaffSchema)
@_doc_errors(401, 403, 404, 409, 422)
def transfer(body: dict[str, Any], token: str) -> dict[str, Any]:
    """Back to the queue for another product, keeping the original issue time."""
    queue = queue_service()
    ticket = queue.transfer(queue.ticket(token), body["product"], actor=current_principal().actor)
    return _staff_ticket(ticket)


@bp.get("/board")
@limiter.limit(_public_limit)
@bp.arguments(BoardQuery, location="query")
@bp.response(200, BoardSchema)
@_doc_errors(404)
def board(query: dict[str, Any]) -> dict[str, Any]:
    """What the display board shows: recent calls and who waits for what."""
    stop = _stop_for_request(query.get("stop"))
    return queue_service().board_state(stop, calls=current_app.config["DISPLAY_CALLS"])


@bp.post("/devices/pair")
@limiter.limit(_pair_limit)
@bp.arguments(PairRequest)
@bp.response(200, PairResponse)
@_doc_errors(422)
def pair_device(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange a one-time pairing code for the device's credential (shown once)."""
    device, credential = account_service().pair(body["code"], origin=request.remote_addr)
    return {"token": credential, "device": device_payload(device)}


@bp.get("/devices")
@require_staff()
@bp.response(200, DeviceSchema(many=True))
@_doc_errors(401, 403)
def list_devices() -> list[dict[str, Any]]:
    """The paired and pending kiosks and boards."""
    devices = db_session().scalars(select(Device).order_by(Device.name))
    return [device_payload(d) for d in devices]


@bp.get("/desks/<int:desk_id>")
@require_staff()
@bp.response(200, DeskStateSchema)
@_doc_errors(401, 403, 404)
def desk_state(desk_id: int) -> dict[str, Any]:
    """A desk's current ticket, its waiting list in calling order and the steps allowed now."""
    return desk_base.desk_state(queue_service().desk(desk_id))


@bp.get("/stops/<int:stop_id>/devices")
@require_staff()
@bp.response(200, DevicePresenceSchema(many=True))
@_doc_errors(401, 403, 404)
def stop_devices(stop_id: int) -> list[dict[str, Any]]:
    """The stop's paired kiosks and boards, each with whether it is connected now."""
    return desk_base.stop_devices(queue_service().stop(stop_id))


@bp.get("/stops/<int:stop_id>/print-jobs")
@require_staff()
@bp.arguments(PrintJobsQuery, location="query")
@bp.response(200, PrintJobSchema(many=True))
@_doc_errors(401, 403, 404)
def stop_print_jobs(query: dict[str, Any], stop_id: int) -> list[dict[str, Any]]:
    """Today's slips at this stop, newest first; `faults=true` for those staff must act on."""
    stop = queue_service().stop(stop_id)
    prints = print_service()
    jobs = prints.faults(stop) if query["faults"] else prints.jobs(stop)
    return [print_job_payload(job) for job in jobs]


@bp.post("/print-jobs")
@require_staff()
@bp.arguments(PrintJobRequest)
@bp.response(202, PrintJobSchema)
@_doc_errors(401, 403, 404, 409, 422)
def reprint(body: dict[str, Any]) -> dict[str, Any]:
    """Print a ticket of today (or a booking's slip) again, on its kiosk's printer (or the kiosk
    given)."""
    if "appointment" in body:
        booked = appointment_service().by_token(body["appointment"])
        return print_job_payload(reprint_booking(booked, device_id=body.get("device")))
    queue = queue_service()
    if "ticket" in body:
        ticket = queue.ticket(body["ticket"])
    else:
        ticket = queue.ticket_by_label(_stop_for_request(body.get("stop")), body["label"])
    job = reprint_ticket(ticket, device_id=body.get("device"))
    return print_job_payload(job)


@bp.get("/slots")
@limiter.limit(_public_limit)
@bp.arguments(SlotsQuery, location="query")
@bp.response(200, SlotSchema(many=True))
@_doc_errors(404, 422)
def free_slots(query: dict[str, Any]) -> list[dict[str, Any]]:
    """Free slots for a product, soonest first, at one stop or at every stop."""
    appointments = appointment_service()
    product = appointments.product(query["product"])
    stop = queue_service().stop(query["stop"]) if query.get("stop") else None
    slots = appointments.free_slots(product, stop=stop, limit=query["limit"])
    return [slot_payload(s) for s in slots]


@bp.post("/appointments")
@limiter.limit(_book_limit)
@bp.arguments(AppointmentRequest)
@bp.response(201, AppointmentSchema)
@_doc_errors(404, 409, 422)
def book_appointment(body: dict[str, Any]) -> dict[str, Any]:
    """Book a place in a slot; 409 `slot_full` when someone took the last one first."""
    appointment = appointment_service().book(
        body["slot"],
        product_code=body["product"],
        name=body.get("name"),
        email=body.get("email"),
        language=body["language"],
        actor=current_principal().actor,
    )
    after_booking(appointment)
    return _appointment(appointment)


@bp.get("/appointments/<string:token>")
@limiter.limit(_public_limit)
@bp.response(200, AppointmentSchema)
@_doc_errors(404)
def get_appointment(token: str) -> dict[str, Any]:
    """An appointment by its private token."""
    return _appointment(appointment_service().by_token(token))


@bp.delete("/appointments/<string:token>")
@limiter.limit(_public_limit)
@bp.response(200, AppointmentSchema)
@_doc_errors(404, 409)
def cancel_appointment(token: str) -> dict[str, Any]:
    """Cancel; the place is free again. 409 `appointment_closed` after check-in."""
    return _appointment(appointment_service().cancel(token, actor=current_principal().actor))


@bp.post("/appointments/check-in")
@require_device_or_staff(DeviceKind.KIOSK)
@bp.arguments(CheckInRequest)
@bp.response(201, CheckInResponse)
@_doc_errors(401, 403, 404, 409, 422)
def check_in(body: dict[str, Any]) -> dict[str, Any]:
    """A kiosk checks a resident in: 201 with the appointment's ticket (and its slip)."""
    stop = _stop_for_request()
    result = appointment_service().check_in(body["code"], stop, actor=current_principal().actor)
    ticket = result.ticket
    position = queue_service().position(ticket)
    job = None if result.again else print_issued(ticket, position)
    payload = ticket_status_payload(ticket, position)
    payload.update(
        token=ticket.token,
        status_url=status_url(ticket.token),
        print_status=job.status.value if job is not None else None,
        appointment=result.appointment.code,
        again=result.again,
    )
    return payload


@bp.post("/appointments/import")
@require_staff(Role.COORDINATOR)
@bp.arguments(ImportRequest)
@bp.response(200, ImportResponse)
@_doc_errors(401, 403, 422)
def import_appointments(body: dict[str, Any]) -> dict[str, Any]:
    """Appointments from the municipality's own system; known references are skipped."""
    result = appointment_service().import_rows(body["rows"], actor=current_principal().actor)
    return {
        "created": [a.code for a in result.created],
        "skipped": result.skipped,
        "errors": result.errors,
    }


def _appointment(appointment: Any) -> dict[str, Any]:
    payload = appointment_payload(appointment)
    payload.update(
        token=appointment.token,
        url=public_url("appointment.show", token=appointment.token),
    )
    return payload


@bp.post("/auth/token")
@limiter.limit(_auth_limit)
@bp.arguments(TokenRequest)
@bp.response(200, TokenResponse)
@_doc_errors(401, 403, 422)
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """A bearer token for a staff API client."""
    accounts = account_service()
    user = accounts.authenticate(body["username"], body["password"], origin=request.remote_addr)
    if MfaService.required(user, current_app.config["MFA_ROLES"]):
        mfa = mfa_service()
        if not mfa.enrolled(user):
            raise SecondFactorNotSetUp()
        if not mfa.verify(user, body.get("code", ""), origin=request.remote_addr):
            raise SecondFactorRequired()
    issued = accounts.issue_token(
        user,
        ttl=timedelta(hours=current_app.config["API_TOKEN_TTL_HOURS"]),
        origin=request.remote_addr,
    )
    return {"token": issued.token, "expires_at": issued.expires_at.isoformat()}


def _stop_step(action: str, summary: str) -> None:
    @require_staff()
    @bp.response(200, StopSchema)
    @_doc_errors(401, 403, 404)
    def view(stop_id: int) -> dict[str, Any]:
        tour = tour_service()
        stop = getattr(tour, f"{action}_stop")(
            queue_service().stop(stop_id), actor=current_principal().actor
        )
        return stop_payload(stop, now=tour.now())

    view.__name__ = f"{action}_stop"
    view.__doc__ = summary
    bp.route(f"/stops/<int:stop_id>/{action}", methods=["POST"])(view)


_stop_step("open", "Open a stop for tickets now (staff may open before the planned time).")
_stop_step("close", "Close a stop: no new tickets; the people waiting are still served.")


class ResearchExportQuery(Strict):
    format = ma.fields.String(
        required=True,
        validate=validate.OneOf(["csv", "xlsx"]),
        metadata={"description": "csv: one row per cell; xlsx: a sheet per table"},
    )
    start = ma.fields.Date(
        required=True, data_key="from", metadata={"description": "First local day, YYYY-MM-DD"}
    )
    end = ma.fields.Date(
        required=True, data_key="to", metadata={"description": "Last local day (included)"}
    )
    location = ma.fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "One place"}
    )
    stop = ma.fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "One stop"}
    )
    product = ma.fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "A product's id"}
    )

    @ma.validates_schema
    def valid_range(self, data: dict[str, Any], **_kw: Any) -> None:
        if "start" in data and "end" in data:
            try:
                Filters(data["start"], data["end"])
            except InvalidFilters as error:
                raise ma.ValidationError(error.message, "to") from None


BINARY = {"type": "string", "format": "binary"}
EXPORT_FILE = "CSV (table, row, column, value, note) or XLSX (a sheet per table)"


@bp.get("/research/export")
@require_staff(Role.COORDINATOR)
@bp.arguments(ResearchExportQuery, location="query", unknown=ma.RAISE)
@bp.response(200, BINARY, content_type="text/csv", description=EXPORT_FILE)
@bp.alt_response(
    200, schema=BINARY, content_type=XLSX_MIMETYPE, description=EXPORT_FILE, success=True
)
@_doc_errors(401, 403, 422)
def research_export(query: dict[str, Any]) -> Any:
    """The research figures as CSV or XLSX, as on the dashboard: a figure about fewer than 5
    people is left empty (CSV, with the note "< 5") or reads "< 5" (XLSX)."""
    filters = Filters(
        query["start"],
        query["end"],
        location_id=query.get("location"),
        stop_id=query.get("stop"),
        product_id=query.get("product"),
    )
    return export_response(filters, query["format"])


class LoketApi(Api):
    """flask-smorest's Api, with our error format (`kiosk.errors` handles every error)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None


def init_api(app: Flask) -> None:
    api = LoketApi(
        app,
        spec_kwargs={
            "info": {"description": "Queue tickets, desks and boards of popup-loket."},
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                }
            },
        },
    )
    api.register_blueprint(bp)
    app.extensions["loket.api"] = api
    # Bearer-token and device clients send no CSRF token; cookie callers are checked in kiosk.auth.
    csrf.exempt(bp)
