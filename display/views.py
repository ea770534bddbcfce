"""Public pages: the display board, a ticket's status page (the QR target) and its QR code, and
an appointment's private page with its calendar file and check-in QR code."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from kiosk.appointments import appointment_ics
from kiosk.auth import current_principal
from kiosk.extensions import appointment_service, limiter, queue_service, tour_service
from kiosk.models import Appointment, AppointmentStatus, DeviceKind, Stop
from kiosk.payloads import ticket_status_payload
from kiosk.qrcodes import qr_svg
from kiosk.services.appointments import UnknownAppointment
from kiosk.services.errors import DomainError, NoOpenStop, UnknownTicket
from kiosk.settings import setting
from kiosk.urls import public_url

bp = Blueprint("display", __name__)


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


@bp.get("/t/<token>")
@limiter.limit(_public_limit)
def ticket_status(token: str) -> tuple[str, int] | str:
    """A ticket's own page: number, place in the queue, and where to go when called."""
    status = _ticket_status(token)
    if status is None:
        return render_template("display/ticket_unknown.html"), 404
    return render_template("display/ticket.html", ticket=status, token=token)


def _ticket_status(token: str) -> dict[str, Any] | None:
    """The status payload of the ticket with this token, or None if there is no such ticket."""
    queue = queue_service()
    try:
        ticket = queue.ticket(token)
    except UnknownTicket:
        return None
    return ticket_status_payload(ticket, queue.position(ticket))


def _token_key() -> str:
    return f"ticket:{(request.view_args or {}).get('token', '')}"


@bp.get("/t/<token>/live")
@limiter.limit(lambda: current_app.config["RATELIMIT_TICKET_LIVE"], key_func=_token_key)
def ticket_live(token: str) -> tuple[str, int] | str:
    """The changing part of the status page, asked for by its script when something moved.

    Limited per ticket, not per address: the phones on a bus's Wi-Fi share one address.
    """
    status = _ticket_status(token)
    if status is None:
        return render_template("display/ticket_unknown.html"), 404
    return render_template("display/_ticket_status.html", ticket=status)


@bp.get("/t/<token>/qr.svg")
@limiter.limit(_public_limit)
def ticket_qr(token: str) -> Response | tuple[str, int]:
    """The QR code of a ticket's status page, as SVG (sharp at any size, no image library)."""
    try:
        queue_service().ticket(token)
    except UnknownTicket:
        return render_template("display/ticket_unknown.html"), 404
    return qr_svg(public_url("display.ticket_status", token=token))


# -- an appointment's private page ------------------------------------------------------------


def _with_appointment(view: Callable[..., Any]) -> Callable[..., Any]:
    """Look the token up once: the view gets the appointment, an unknown token a friendly 404."""

    @wraps(view)
    def wrapped(token: str) -> Any:
        try:
            found = appointment_service().by_token(token)
        except UnknownAppointment:
            return render_template("display/appointment_unknown.html"), 404
        return view(found, token)

    return wrapped


@bp.get("/a/<token>")
@limiter.limit(_public_limit)
@_with_appointment
def appointment(found: Appointment, token: str) -> str:
    """The resident's appointment: what, when, where, what to bring; calendar and cancel. After
    check-in it follows the ticket live: place in the queue, then the desk to go to."""
    ticket = found.ticket if found.status is AppointmentStatus.CHECKED_IN else None
    queue = queue_service()
    return render_template(
        "display/appointment.html",
        appointment=found,
        token=token,
        ticket=ticket_status_payload(ticket, queue.position(ticket)) if ticket else None,
        ticket_token=ticket.token if ticket else None,
        early_minutes=setting("CHECKIN_EARLY_MINUTES"),
    )


@bp.post("/a/<token>/cancel")
@limiter.limit(_public_limit)
@_with_appointment
def appointment_cancel(found: Appointment, token: str) -> BaseResponse:
    """Cancel from the private page (a form with CSRF); the place is free again."""
    try:
        appointment_service().cancel(token, actor=current_principal().actor)
    except DomainError:
        flash(_("Deze afspraak kunt u niet meer afzeggen."))
    else:
        flash(_("Uw afspraak is afgezegd. De tijd is weer vrij voor iemand anders."))
    return redirect(url_for("display.appointment", token=token))


@bp.get("/a/<token>.ics")
@limiter.limit(_public_limit)
@_with_appointment
def appointment_ics_file(found: Appointment, token: str) -> Response:
    """The appointment for a calendar app."""
    url = public_url("display.appointment", token=token)
    response = Response(appointment_ics(found, url), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'attachment; filename="afspraak.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/a/<token>/qr.svg")
@limiter.limit(_public_limit)
@_with_appointment
def appointment_qr(found: Appointment, token: str) -> Response:
    """The QR code the kiosk's scanner reads to check in: it holds the booking code."""
    return qr_svg(found.code)


@bp.get("/a/<token>/link.svg")
@limiter.limit(_public_limit)
@_with_appointment
def appointment_link_qr(found: Appointment, token: str) -> Response:
    """A QR code of the appointment page's address, for a phone (the kiosk's screens show it; the
    kiosk's scanner reads it too)."""
    return qr_svg(public_url("display.appointment", token=token))


def _board_stop() -> tuple[Stop | None, bool]:
    """The stop to show, and whether the page asked for it (an unpaired, read-only screen).

    A paired board shows its own stop; an unpaired screen may ask for one with ``?stop=ID``;
    otherwise the board follows whichever stop is open (None when none is).
    """
    device = current_principal().device
    queue = queue_service()
    if device is not None and device.kind == DeviceKind.BOARD and device.stop_id is not None:
        return queue.stop(device.stop_id), False
    stop_id = request.args.get("stop", type=int)
    if stop_id is not None:
        return queue.stop(stop_id), True
    try:
        return tour_service().current_stop(), False
    except NoOpenStop:
        return None, False


def _other_stops(stop: Stop | None, limit: int) -> list[Stop]:
    """The coming stops of the tour, without the one on the screen."""
    upcoming = tour_service().next_stops(limit=limit + 1)
    return [s for s in upcoming if stop is None or s.id != stop.id][:limit]


@bp.get("/board")
@limiter.limit(_public_limit)
def board() -> str | tuple[str, int]:
    """The waiting-room screen: calls, waiting counts and the next stops, live."""
    try:
        stop, asked = _board_stop()
    except DomainError:
        message = _("Dit scherm hoort bij een loket dat niet bestaat. Vraag een medewerker.")
        return render_template("errors/error.html", status=404, message=message), 404
    config = current_app.config
    return render_template(
        "display/board.html",
        stop=stop,
        # The socket subscribes to this stop only when the page asked for it; a paired or
        # following board lets the server choose again on every reconnect.
        live_stop=stop.id if stop is not None and asked else None,
        max_calls=config["DISPLAY_CALLS"],
        state=queue_service().board_state(stop, calls=config["DISPLAY_CALLS"]) if stop else None,
        next_stops=_other_stops(stop, config["DISPLAY_NEXT_STOPS"]),
    )
