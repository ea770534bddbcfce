"""The kiosk touchscreen: take a number, see it on screen with its QR code, or learn where
and when a product is offered. Only a paired kiosk device may use these pages."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.auth import current_principal
from kiosk.extensions import print_service, queue_service, tour_service
from kiosk.models import Device, DeviceKind, Stop
from kiosk.printing import fault_reason, print_issued, print_notice
from kiosk.services.errors import DomainError, NoOpenStop, UnknownTicket
from kiosk.urls import public_url

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

# A confirmation screen is shown for a fresh ticket only: the kiosk is no lookup terminal.
CONFIRMATION_WINDOW = timedelta(minutes=10)

# What the resident reads when a ticket is refused, by domain error code.
REFUSALS = {
    "stop_closed": lambda: _("Het loket is nu gesloten. U kunt geen nummer meer trekken."),
    "product_not_offered": lambda: _("Dit kunt u hier vandaag niet regelen."),
    "appointment_required": lambda: _("Hiervoor heeft u een afspraak nodig."),
    "unknown_product": lambda: _("Dit kunt u hier vandaag niet regelen."),
}


def _device() -> Device | None:
    device = current_principal().device
    return device if device is not None and device.kind == DeviceKind.KIOSK else None


def _stop(device: Device) -> Stop | None:
    if device.stop_id is not None:
        return queue_service().stop(device.stop_id)
    try:
        return tour_service().current_stop()
    except NoOpenStop:
        return None


def _unpaired() -> tuple[str, int]:
    return render_template("kiosk/unpaired.html"), 403


def _context(stop: Stop | None) -> dict[str, object]:
    tour = tour_service()
    upcoming = tour.next_opening(stop) if stop else next(iter(tour.next_stops(limit=1)), None)
    return {
        "stop": stop,
        "idle_seconds": current_app.config["KIOSK_IDLE_SECONDS"],
        "next_opening": upcoming,
    }


@bp.get("")
def home() -> str | tuple[str, int]:
    """Start screen: one large button per product this stop offers now."""
    device = _device()
    if device is None:
        return _unpaired()
    stop = _stop(device)
    tour = tour_service()
    if stop is None or not stop.accepts_walk_ins(tour.now()):
        return render_template("kiosk/closed.html", **_context(stop))
    walk_in = [p for p in stop.products if p.walk_in and not p.appointment_required]
    by_appointment = [p for p in stop.products if p not in walk_in]
    return render_template(
        "kiosk/home.html", walk_in=walk_in, by_appointment=by_appointment, **_context(stop)
    )


@bp.get("/elsewhere")
def elsewhere() -> str | tuple[str, int]:
    """ "Niet gevonden wat u zoekt?": where and when the other products are offered."""
    device = _device()
    if device is None:
        return _unpaired()
    stop = _stop(device)
    tour = tour_service()
    others = tour.products_elsewhere(stop) if stop else []
    offers = [(p, tour.next_stops_offering(p)) for p in others]
    return render_template("kiosk/elsewhere.html", offers=offers, **_context(stop))


@bp.post("/tickets")
def take_ticket() -> Response | str | tuple[str, int]:
    """A product button: issue the ticket and show it (post/redirect/get)."""
    device = _device()
    if device is None:
        return _unpaired()
    stop = _stop(device)
    product = request.form.get("product", "")
    if stop is None:
        return redirect(url_for("kiosk.home"))
    try:
        ticket, position = queue_service().issue_ticket_with_position(
            stop, product, actor=current_principal().actor
        )
    except DomainError as error:
        message = REFUSALS.get(error.code, lambda: _("Dat lukte niet. Probeer het opnieuw."))()
        return render_template("kiosk/refused.html", message=message, **_context(stop)), 409
    # After the commit: the slip prints in the background, the screen does not wait for it.
    print_issued(ticket, position)
    return redirect(url_for("kiosk.ticket", token=ticket.token))


@bp.get("/tickets/<token>")
def ticket(token: str) -> Response | str | tuple[str, int]:
    """The confirmation: the number very large, people ahead, expected wait and the QR code."""
    device = _device()
    if device is None:
        return _unpaired()
    queue = queue_service()
    try:
        issued = queue.ticket(token)
    except UnknownTicket:
        return redirect(url_for("kiosk.home"))
    stop = _stop(device)
    fresh = queue.now() - issued.issued_at < CONFIRMATION_WINDOW
    if stop is None or issued.stop_id != stop.id or not fresh:
        return redirect(url_for("kiosk.home"))
    notice = print_notice(print_service().latest_for_ticket(issued), device)
    return render_template(
        "kiosk/ticket.html",
        ticket=issued,
        position=queue.position(issued),
        status_url=public_url("display.ticket_status", token=token),
        notice=notice,
        fault_reasons={state: fault_reason(state) for state in ("paper_out", "offline", "fault")},
        **_context(stop),
    )
