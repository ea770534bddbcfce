"""Appointments: free slots, book, look up, move and cancel by the private token, check in at a
kiosk (a priority ticket), and import from the municipality's own system."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g

from kiosk import check_in_limits
from kiosk.auth import current_principal, request_key, require_device_or_staff, require_staff
from kiosk.extensions import book_limit, limiter, public_limit
from kiosk.factories import appointment_service, print_service, queue_service
from kiosk.mail import after_booking, after_reschedule
from kiosk.models import Appointment, DeviceKind, Role
from kiosk.payloads import appointment_payload, iso, slot_payload
from kiosk.printing.jobs import print_issued, slip_request
from kiosk.services.errors import DomainError
from kiosk.urls import public_url
from kiosk.views import desk_base
from kiosk.views.api.base import bp, created_ticket, doc_errors, idempotent, stop_for_request
from kiosk.views.api.schemas import (
    AppointmentRequest,
    AppointmentSchema,
    CheckInRequest,
    CheckInResponse,
    ErrorSchema,
    ImportRequest,
    ImportResponse,
    RescheduleRequest,
    SlotSchema,
    SlotsQuery,
)


class CheckInPauseSchema(ma.Schema):
    """A kiosk that pauses check-in: `count` wrong codes in `minutes`, paused until `until`."""

    device = ma.fields.Integer()
    name = ma.fields.String()
    count = ma.fields.Integer()
    minutes = ma.fields.Integer()
    until = ma.fields.String(metadata={"description": "When the pause ends (UTC, ISO 8601)"})


@bp.get("/slots")
@limiter.limit(public_limit)
@bp.arguments(SlotsQuery, location="query")
@bp.response(200, SlotSchema(many=True))
@doc_errors(404, 422)
def free_slots(query: dict[str, Any]) -> list[dict[str, Any]]:
    """Free slots for a product, soonest first, at one stop or at every stop."""
    appointments = appointment_service()
    product = appointments.product(query["product"])
    stop = queue_service().stop(query["stop"]) if query.get("stop") else None
    slots = appointments.free_slots(product, stop=stop, limit=query["limit"])
    return [slot_payload(s) for s in slots]


@bp.post("/appointments")
@limiter.limit(book_limit)
@bp.arguments(AppointmentRequest)
@bp.response(201, AppointmentSchema)
@doc_errors(404, 409, 422)
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
@limiter.limit(public_limit)
@bp.response(200, AppointmentSchema)
@doc_errors(404)
def get_appointment(token: str) -> dict[str, Any]:
    """An appointment by its private token, without the name and e-mail address: the token
    travels in QR codes on screens and slips (see kiosk/views/appointment.py); whoever holds
    it learns the time and place, never who booked."""
    return _without_contact(_appointment(appointment_service().by_token(token)))


@bp.delete("/appointments/<string:token>")
@limiter.limit(public_limit)
@bp.response(200, AppointmentSchema)
@doc_errors(404, 409)
def cancel_appointment(token: str) -> dict[str, Any]:
    """Cancel; the place is free again. 409 `appointment_closed` after check-in. Without the
    name and e-mail address, as `get_appointment`."""
    cancelled = appointment_service().cancel(token, actor=current_principal().actor)
    return _without_contact(_appointment(cancelled))


@bp.post("/appointments/<string:token>/reschedule")
@limiter.limit(book_limit)
@bp.arguments(RescheduleRequest)
@bp.response(200, AppointmentSchema)
@doc_errors(404, 409, 422)
def reschedule_appointment(body: dict[str, Any], token: str) -> dict[str, Any]:
    """Move to another free time of the same product (any stop): the new place is taken before
    the old one is freed, in one transaction. 409 `slot_full` when someone took it first (the
    appointment is unchanged), `slot_past`, `not_bookable` (another product, a closed stop),
    `appointment_closed` (checked in, cancelled, or its time has begun). The code and the link
    stay the same; asking for the slot it holds changes nothing. Without the name and e-mail
    address, as `get_appointment`."""
    appointments = appointment_service()
    result = appointments.reschedule(token, body["slot"], actor=current_principal().actor)
    if result.moved:
        after_reschedule(result.appointment, appointments.revision(result.appointment))
    return _without_contact(_appointment(result.appointment))


@bp.post("/appointments/check-in")
@require_device_or_staff(DeviceKind.KIOSK)
@bp.arguments(CheckInRequest)
@bp.response(201, CheckInResponse)
@bp.alt_response(
    200,
    schema=CheckInResponse,
    description="A retry with the same Idempotency-Key: the first answer, again",
    success=True,
)
@doc_errors(401, 403, 404, 409, 422)
@bp.alt_response(
    429,
    schema=ErrorSchema,
    description="Too many wrong codes from this device or token, or with this code: wait "
    "Retry-After seconds (`check_in_paused`)",
)
@idempotent
def check_in(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A kiosk checks a resident in: 201 with the appointment's ticket (and its slip); 429
    `check_in_paused` with ``Retry-After`` after too many wrong codes from this device or token,
    or with this code."""
    stop = stop_for_request()
    typed = body["code"]
    paused = check_in_limits.cooldown(typed)
    if paused is not None:
        g.loket_retry_after = paused.seconds  # kiosk/errors.py puts it in the header
        raise check_in_limits.CheckInPaused(retry_after=paused.seconds, until=iso(paused.until))
    try:
        result = appointment_service().check_in(
            typed, stop, actor=current_principal().actor, key=request_key(), slip=slip_request()
        )
    except DomainError:
        check_in_limits.failed(typed, stop.id)
        raise
    ticket = result.ticket
    position = queue_service().position(ticket)
    if result.again or result.replayed:
        job = print_service().latest_for_ticket(ticket) if result.replayed else None
    else:
        job = print_issued(ticket, result.print_job, position)
    payload = created_ticket(ticket, position, job)
    payload.update(appointment=result.appointment.code, again=result.again)
    return payload, 200 if result.replayed else 201


@bp.get("/stops/<int:stop_id>/check-in-pauses")
@require_staff()
@bp.response(200, CheckInPauseSchema(many=True))
@doc_errors(401, 403, 404)
def check_in_pauses(stop_id: int) -> list[dict[str, Any]]:
    """The stop's kiosks that pause check-in after too many wrong codes (for the desk)."""
    return desk_base.check_in_pauses(queue_service().stop(stop_id))


@bp.post("/appointments/import")
@require_staff(Role.COORDINATOR)
@bp.arguments(ImportRequest)
@bp.response(200, ImportResponse)
@doc_errors(401, 403, 422)
def import_appointments(body: dict[str, Any]) -> dict[str, Any]:
    """Appointments from the municipality's own system; known references are skipped."""
    result = appointment_service().import_rows(body["rows"], actor=current_principal().actor)
    return {
        "created": [a.code for a in result.created],
        "skipped": result.skipped,
        "errors": result.errors,
    }


def _appointment(appointment: Appointment) -> dict[str, Any]:
    payload = appointment_payload(appointment)
    payload.update(
        token=appointment.token,
        url=public_url("appointment.show", token=appointment.token, language=appointment.language),
    )
    return payload


def _without_contact(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "name": None, "email": None}
