"""The kiosk touchscreen: take a number, see it on screen with its QR code, or learn where
and when a product is offered. Only a paired kiosk device may use these pages."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.auth import current_principal, request_key
from kiosk.factories import appointment_service, print_service, queue_service, tour_service
from kiosk.models import Device, Stop
from kiosk.printing.jobs import print_issued, slip_request
from kiosk.printing.notices import fault_reason, print_notice
from kiosk.services.errors import DomainError, UnknownTicket
from kiosk.views.kiosk_base import (
    CONFIRMATION_WINDOW,
    FAULT_REASONS,
    kiosk_language_url,
    kiosk_screen,
    long_wait_offer,
    screen_context,
)

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
bp.add_app_template_global(kiosk_language_url)

# What the resident reads when a ticket is refused, by domain error code.
REFUSALS = {
    "stop_closed": lambda: _("Het loket is nu gesloten. U kunt geen nummer meer trekken."),
    "product_not_offered": lambda: _("Dit kunt u hier vandaag niet regelen."),
    "appointment_required": lambda: _("Hiervoor heeft u een afspraak nodig."),
    "unknown_product": lambda: _("Dit kunt u hier vandaag niet regelen."),
}


@bp.get("")
@kiosk_screen
def home(device: Device, stop: Stop | None) -> str | tuple[str, int]:
    """Start screen: one large button per product this stop offers now, "I have an
    appointment", and a way to book a time for products offered by appointment only."""
    tour = tour_service()
    if stop is None or not stop.accepts_walk_ins(tour.now()):
        return render_template("kiosk/closed.html", **screen_context(stop))
    walk_in = [p for p in stop.products if p.walk_in and not p.appointment_required]
    by_appointment = [p for p in stop.products if p not in walk_in]
    return render_template(
        "kiosk/home.html", walk_in=walk_in, by_appointment=by_appointment, **screen_context(stop)
    )


@bp.get("/elsewhere")
@kiosk_screen
def elsewhere(device: Device, stop: Stop | None) -> str | tuple[str, int]:
    """ "Niet gevonden wat u zoekt?": where and when the other products are offered."""
    tour = tour_service()
    others = tour.products_elsewhere(stop) if stop else []
    offers = [(p, tour.next_stops_offering(p)) for p in others]
    return render_template("kiosk/elsewhere.html", offers=offers, **screen_context(stop))


@bp.post("/tickets")
@kiosk_screen
def take_ticket(device: Device, stop: Stop | None) -> Response | str | tuple[str, int]:
    """A product button: issue the ticket and show it (post/redirect/get). When the wait is
    long and the product can be booked, the resident first chooses: wait, or come back later."""
    product = request.form.get("product", "")
    if stop is None:
        return redirect(url_for("kiosk.home"))
    if not request.form.get("wait"):
        long_wait = long_wait_offer(stop, product)
        if long_wait is not None:
            return long_wait
    try:
        issued = queue_service().issue_ticket_with_position(
            stop,
            product,
            actor=current_principal().actor,
            key=request_key(),  # the kiosk's retry of the same tap gets the same ticket
            slip=slip_request(),
        )
    except DomainError as error:
        message = REFUSALS.get(error.code, lambda: _("Dat lukte niet. Probeer het opnieuw."))()
        return render_template("kiosk/refused.html", message=message, **screen_context(stop)), 409
    if not issued.replayed:
        # After the commit: the slip prints in the background, the screen does not wait for it.
        print_issued(issued.ticket, issued.print_job, issued.position)
    return redirect(url_for("kiosk.ticket", token=issued.ticket.token))


@bp.get("/tickets/<token>")
@kiosk_screen
def ticket(device: Device, stop: Stop | None, token: str) -> Response | str | tuple[str, int]:
    """The confirmation: the number very large, people ahead, expected wait and the QR code.
    For an appointment's ticket the QR code opens the appointment's page."""
    queue = queue_service()
    try:
        issued = queue.ticket(token)
    except UnknownTicket:
        return redirect(url_for("kiosk.home"))
    fresh = queue.now() - issued.issued_at < CONFIRMATION_WINDOW
    if stop is None or issued.stop_id != stop.id or not fresh:
        return redirect(url_for("kiosk.home"))
    return render_template(
        "kiosk/ticket.html",
        ticket=issued,
        appointment=appointment_service().of_ticket(issued),
        position=queue.position(issued),
        notice=print_notice(print_service().latest_for_ticket(issued), device),
        fault_reasons={state: fault_reason(state) for state in FAULT_REASONS},
        **screen_context(stop),
    )
