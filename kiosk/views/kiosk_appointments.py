"""Appointments at the kiosk: check in by scanning or typing the booking code, and book a time
for later when a product is offered by appointment only here or the wait is long.

Every refusal says what to do next in plain words: come back at a time (too early), take a
number or pick a new time (too late), or go to the place and day of the appointment. The place
and time only for a booking code or link; wrong codes are limited per kiosk and per code, then
the kiosk pauses and says until when (kiosk/check_in_limits.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from kiosk import check_in_limits
from kiosk.auth import current_principal, request_key
from kiosk.extensions import configured_limit, limiter
from kiosk.factories import appointment_service, print_service, queue_service
from kiosk.i18n import current_language
from kiosk.models import (
    AppointmentSource,
    AppointmentStatus,
    Device,
    Stop,
)
from kiosk.printing.jobs import print_booked, print_issued, slip_request
from kiosk.printing.notices import fault_reason, print_notice
from kiosk.services.appointments import (
    CODE_ALPHABET,
    AppointmentClosed,
    CheckInTooEarly,
    CheckInTooLate,
    UnknownAppointment,
    WrongStop,
)
from kiosk.services.errors import DomainError, NotFound
from kiosk.services.validation import parse_id
from kiosk.urls import public_url
from kiosk.views.kiosk_base import (
    CONFIRMATION_WINDOW,
    FAULT_REASONS,
    LaterOptions,
    kiosk_screen,
    later_options,
    per_kiosk,
    screen_context,
)

bp = Blueprint("kiosk_appointments", __name__, url_prefix="/kiosk")

# -- check-in ----------------------------------------------------------------------------------


@bp.get("/afspraak")
@kiosk_screen
def check_in_screen(device: Device, stop: Stop | None) -> str | tuple[str, int]:
    """ "Ik heb een afspraak": hold the QR code to the scanner, or type the code on the keypad."""
    if stop is None:
        return render_template("kiosk/closed.html", **screen_context(stop))
    return render_template(
        "kiosk/check_in.html", typed="", error=None, keys=CODE_ALPHABET, **screen_context(stop)
    )


@bp.post("/afspraak")
@kiosk_screen
def check_in(
    device: Device, stop: Stop | None
) -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Check in with the code (typed, or typed by the scanner): the ticket's confirmation, or a
    screen that says what to do instead."""
    if stop is None:
        return redirect(url_for("kiosk.home"))
    typed = request.form.get("code", "").strip()[:120]
    paused = check_in_limits.cooldown(typed)
    if paused is not None:
        return _paused(stop, paused)
    service = appointment_service()
    try:
        result = service.check_in(
            typed, stop, actor=current_principal().actor, key=request_key(), slip=slip_request()
        )
    except UnknownAppointment:
        check_in_limits.failed(typed, stop.id)
        return _check_in_again(stop, typed, "unknown")
    except DomainError as error:
        check_in_limits.failed(typed, stop.id)
        return _refused(stop, typed, error)
    ticket = result.ticket
    if result.again and queue_service().now() - ticket.issued_at >= CONFIRMATION_WINDOW:
        return render_template(
            "kiosk/check_in_refused.html",
            reason="again",
            tell=False,
            appointment=result.appointment,
            ticket=ticket,
            **screen_context(stop),
        )
    if not result.again and not result.replayed:
        print_issued(ticket, result.print_job, queue_service().position(ticket))
    return redirect(url_for("kiosk.ticket", token=ticket.token))


def _check_in_again(stop: Stop, typed: str, error: str) -> tuple[str, int]:
    page = render_template(
        "kiosk/check_in.html", typed=typed, error=error, keys=CODE_ALPHABET, **screen_context(stop)
    )
    return page, 404 if error == "unknown" else 422


def _paused(stop: Stop, paused: check_in_limits.Cooldown) -> tuple[str, int, dict[str, str]]:
    """Too many wrong codes at this kiosk (or with this code): try again after a pause."""
    page = render_template("kiosk/check_in_paused.html", until=paused.until, **screen_context(stop))
    return page, 429, {"Retry-After": str(paused.seconds), "Cache-Control": "no-store"}


def _refused(stop: Stop, typed: str, error: DomainError) -> tuple[str, int]:
    """Too early, too late, another place or day, or no longer valid: what the resident can do.
    The place and time only when the code or link found it (never for a reference)."""
    reasons: dict[type[DomainError], str] = {
        CheckInTooEarly: "too_early",
        CheckInTooLate: "too_late",
        WrongStop: "wrong_stop",
        AppointmentClosed: "closed",
    }
    reason = reasons.get(type(error))
    if reason is None:
        return _check_in_again(stop, typed, "other")
    service = appointment_service()
    appointment = service.find(typed)
    tell = service.tells_where_and_when(typed, appointment)
    context: dict[str, Any] = {"reason": reason, "appointment": appointment, "tell": tell}
    if reason == "too_early":
        context["opens_at"] = appointment.slot.starts_at - service.window.early
        context["early_minutes"] = int(service.window.early.total_seconds() // 60)
    if reason in ("too_late", "closed") and tell:
        product = appointment.product
        context["walk_in"] = (
            product in stop.products
            and product.walk_in
            and not product.appointment_required
            and stop.accepts_walk_ins(queue_service().now())
        )
        context["options"] = later_options(stop, product) if product.bookable else None
    page = render_template("kiosk/check_in_refused.html", **context, **screen_context(stop))
    return page, 409


# -- book a time for later ---------------------------------------------------------------------


@bp.get("/later/<product_code>")
@kiosk_screen
def later(device: Device, stop: Stop | None, product_code: str) -> str | tuple[str, int]:
    """The next free times for a product: later today here, or at the next stops."""
    try:
        product = appointment_service().product(product_code)
    except NotFound:
        return redirect(url_for("kiosk.home"))  # type: ignore[return-value]
    options = later_options(stop, product) if product.bookable else LaterOptions(product, [], [])
    return render_template("kiosk/later.html", options=options, **_later_context(stop))


@bp.post("/later")
@limiter.limit(configured_limit("RATELIMIT_KIOSK_BOOK"), key_func=per_kiosk)
@kiosk_screen
def book_later(device: Device, stop: Stop | None) -> Response | str | tuple[str, int]:
    """One tap on a time books it, without any personal data; the slip carries it."""
    slot_id = parse_id(request.form.get("slot"))  # the one id rule: 1..MAX_ID
    if slot_id is None:
        return redirect(url_for("kiosk.home"))
    product_code = request.form.get("product", "")
    service = appointment_service()
    try:
        booked = service.book(
            slot_id,
            product_code=product_code or None,
            language=current_language(),
            source=AppointmentSource.KIOSK,
            actor=current_principal().actor,
        )
    except DomainError as error:
        return _booking_failed(stop, product_code, error)
    print_booked(booked)
    return redirect(url_for("kiosk_appointments.booked", token=booked.token))


def _booking_failed(stop: Stop | None, product_code: str, error: DomainError) -> tuple[str, int]:
    try:
        product = appointment_service().product(product_code)
    except NotFound:
        product = None
    options = later_options(stop, product) if product is not None else None
    page = render_template(
        "kiosk/later.html", options=options, error=error.code, **_later_context(stop)
    )
    return page, 409


def _later_context(stop: Stop | None) -> dict[str, object]:
    return {"public_booking_url": public_url("booking.products"), **screen_context(stop)}


@bp.get("/later/booked/<token>")
@kiosk_screen
def booked(device: Device, stop: Stop | None, token: str) -> Response | str:
    """The booked time, its code and a QR code to its page; and how the slip is doing."""
    service = appointment_service()
    try:
        appointment = service.by_token(token)
    except UnknownAppointment:
        return redirect(url_for("kiosk.home"))
    fresh = service.now() - appointment.created_at < CONFIRMATION_WINDOW
    if (
        appointment.source is not AppointmentSource.KIOSK
        or appointment.status is not AppointmentStatus.BOOKED
        or not fresh
    ):
        return redirect(url_for("kiosk.home"))
    return render_template(
        "kiosk/booked.html",
        appointment=appointment,
        notice=print_notice(print_service().latest_for_booking(appointment), device),
        fault_reasons={state: fault_reason(state) for state in FAULT_REASONS},
        **screen_context(stop),
    )
