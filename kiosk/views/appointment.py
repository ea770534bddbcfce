"""A booked appointment's private page, reached by its secret link (the QR code of the
confirmation, the booking slip and the e-mail): what, when, where and what to bring; the
calendar file; cancelling; and, after check-in, the turn live as on a ticket's status page.

The page shows no name and no e-mail: whoever holds the link sees it, and the link is also a QR
code on the kiosk's screen and on a paper slip (seen over a shoulder, left on the bus). What the
resident needs (what, when, where, the code) identifies nobody; staff see the name at the desk.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from kiosk.auth import current_principal
from kiosk.extensions import limiter, public_limit
from kiosk.factories import appointment_service, queue_service, setting
from kiosk.ical import appointment_ics
from kiosk.models import Appointment, AppointmentStatus
from kiosk.payloads import ticket_status_payload
from kiosk.qrcodes import qr_svg
from kiosk.services.appointments import UnknownAppointment
from kiosk.services.errors import DomainError
from kiosk.urls import appointment_url, requested_language

bp = Blueprint("appointment", __name__)


def _with_appointment(view: Callable[..., Any]) -> Callable[..., Any]:
    """Look the token up once: the view gets the appointment, an unknown token a friendly 404."""

    @wraps(view)
    def wrapped(token: str) -> Any:
        try:
            found = appointment_service().by_token(token)
        except UnknownAppointment:
            return render_template("appointment/unknown.html"), 404
        return view(found, token)

    return wrapped


@bp.get("/a/<token>")
@limiter.limit(public_limit)
@_with_appointment
def show(found: Appointment, token: str) -> str:
    """The resident's appointment: what, when, where, what to bring; calendar and cancel. After
    check-in it follows the ticket live: place in the queue, then the desk to go to."""
    ticket = found.ticket if found.status is AppointmentStatus.CHECKED_IN else None
    queue = queue_service()
    return render_template(
        "appointment/show.html",
        appointment=found,
        token=token,
        ticket=ticket_status_payload(ticket, queue.position(ticket)) if ticket else None,
        ticket_token=ticket.token if ticket else None,
        early_minutes=setting("CHECKIN_EARLY_MINUTES"),
    )


@bp.post("/a/<token>/cancel")
@limiter.limit(public_limit)
@_with_appointment
def cancel(found: Appointment, token: str) -> BaseResponse:
    """Cancel from the private page (a form with CSRF); the place is free again."""
    try:
        appointment_service().cancel(token, actor=current_principal().actor)
    except DomainError:
        flash(_("Deze afspraak kunt u niet meer afzeggen."))
    else:
        flash(_("Uw afspraak is afgezegd. De tijd is weer vrij voor iemand anders."))
    return redirect(url_for("appointment.show", token=token))


@bp.get("/a/<token>.ics")
@limiter.limit(public_limit)
@_with_appointment
def ics_file(found: Appointment, token: str) -> Response:
    """The appointment for a calendar app."""
    url = appointment_url(token)
    response = Response(appointment_ics(found, url), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'attachment; filename="afspraak.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/a/<token>/qr.svg")
@limiter.limit(public_limit)
@_with_appointment
def qr(found: Appointment, token: str) -> Response:
    """The QR code the kiosk's scanner reads to check in: it holds the booking code."""
    return qr_svg(found.code)


@bp.get("/a/<token>/link.svg")
@limiter.limit(public_limit)
@_with_appointment
def link_qr(found: Appointment, token: str) -> Response:
    """A QR code of the appointment page's address, for a phone (the kiosk's screens show it; the
    kiosk's scanner reads it too), in the language the kiosk shows (``?lang=``)."""
    return qr_svg(appointment_url(token, language=requested_language()))
