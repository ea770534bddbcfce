"""Public booking pages for residents: choose a product, a place, a time, then confirm.

A phone-first flow in four steps under /afspraak. The booking itself is
`AppointmentService.book` (as for ``POST /api/v1/appointments``); each refusal of the domain
becomes a friendly page with a way back to the step before, never a stack trace.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError, validate
from werkzeug.wrappers import Response

from kiosk.auth import current_principal
from kiosk.extensions import book_limit, limiter, public_limit
from kiosk.factories import appointment_service, queue_service, setting
from kiosk.i18n import current_language
from kiosk.mail import after_booking
from kiosk.messaging import offered_channels
from kiosk.models import Channel, Product, Slot, Stop
from kiosk.services.appointments import (
    AppointmentService,
    NotBookable,
    SlotFull,
    SlotPast,
    UnknownSlot,
)
from kiosk.services.errors import DomainError, NotFound, UnknownProduct, UnknownStop
from kiosk.services.messages import InvalidAddress, normalise_phone
from kiosk.views.api.schemas import AppointmentRequest

bp = Blueprint("booking", __name__, url_prefix="/afspraak")

# How far ahead step 2 looks for free times (slots, soonest first) and how many places it lists.
SLOTS_AHEAD = 500
STOPS_SHOWN = 12
STEPS = 4


def _max_length(field: str) -> int:
    """The API's length limit of a field of `POST /api/v1/appointments`: one rule for both."""
    found = AppointmentRequest._declared_fields[field]
    return next(v.max for v in found.validators if isinstance(v, validate.Length) and v.max)


NAME_MAX = _max_length("name")
EMAIL_MAX = _max_length("email")


# -- looking things up ------------------------------------------------------------------------


@dataclass(frozen=True)
class StopChoice:
    """A stop with free times for the product: its first free slot and how many are free."""

    stop: Stop
    first: Slot
    times: int


def _bookable(product: Product) -> bool:
    return product.active and (product.bookable or product.appointment_required)


def _product(code: str) -> Product:
    product = appointment_service().product(code)
    if not _bookable(product):
        raise NotBookable(product=product.code)
    return product


def _stop_for(product: Product, stop_id: int) -> Stop:
    stop = queue_service().stop(stop_id)
    if product not in stop.products:
        raise UnknownStop()
    return stop


def _slot_for(product: Product, stop: Stop, slot_id: int) -> Slot:
    slot = appointment_service().slot(slot_id)
    if slot.stop_id != stop.id or slot.product_id != product.id:
        raise UnknownSlot()
    return slot


def _still_free(appointments: AppointmentService, slot: Slot) -> None:
    """Refuse a time that has passed or is taken, before the resident fills in the form."""
    if slot.starts_at <= appointments.now():
        raise SlotPast()
    if slot.free <= 0:
        raise SlotFull(slot=slot.id)


def _bookable_products() -> list[Product]:
    """Active bookable products that have a free time coming up, in the kiosk's order."""
    appointments = appointment_service()
    return [p for p in appointments.bookable_products() if appointments.free_slots(p, limit=1)]


def _stop_choices(product: Product) -> list[StopChoice]:
    """The coming stops with free times for this product, soonest first."""
    slots = appointment_service().free_slots(product, limit=SLOTS_AHEAD)
    by_stop: dict[int, list[Slot]] = {}
    for slot in slots:
        by_stop.setdefault(slot.stop_id, []).append(slot)
    choices = [StopChoice(found[0].stop, found[0], len(found)) for found in by_stop.values()]
    return choices[:STOPS_SHOWN]


@dataclass(frozen=True)
class DayPart:
    """Free times in one part of one local day: "morning", "afternoon" or "evening"."""

    part: str
    slots: list[Slot]


def _day_part(slot: Slot, tz: ZoneInfo) -> tuple[date, str]:
    local = slot.starts_at.astimezone(tz)
    return (
        local.date(),
        "morning" if local.hour < 12 else "afternoon" if local.hour < 18 else "evening",
    )


def _day_parts(slots: list[Slot]) -> tuple[list[DayPart], bool]:
    """Free times grouped by part of the (local) day, in order; and whether they fall on more
    than one day (a stop past midnight), so that the headings must name the day too."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    groups = [(key, list(found)) for key, found in groupby(slots, key=lambda s: _day_part(s, tz))]
    days = {day for (day, _part), _found in groups}
    return [DayPart(part, found) for (_day, part), found in groups], len(days) > 1


def _contact_errors(name: str, email: str) -> dict[str, str]:
    """Field -> message for what the API would refuse too (its schema's own validators)."""
    errors: dict[str, str] = {}
    given = {key: value for key, value in (("name", name), ("email", email)) if value}
    try:
        AppointmentRequest().load(given, partial=True)
    except ValidationError as error:
        refused = error.messages if isinstance(error.messages, dict) else {}
        if "name" in refused:
            errors["name"] = _(
                "Uw naam is te lang. Gebruik hoogstens %(max)s tekens.", max=NAME_MAX
            )
        if "email" in refused:
            if len(email) > EMAIL_MAX:
                errors["email"] = _(
                    "Dit e-mailadres is te lang. Gebruik hoogstens %(max)s tekens.", max=EMAIL_MAX
                )
            else:
                errors["email"] = _(
                    "Vul een e-mailadres in zoals naam@voorbeeld.nl, of laat dit vak leeg."
                )
    if "name" not in errors and any(unicodedata.category(c) == "Cc" for c in name):
        errors["name"] = _("In uw naam staat een teken dat niet kan. Gebruik gewone letters.")
    return errors


# -- the steps --------------------------------------------------------------------------------


@bp.get("")
@limiter.limit(public_limit)
def products() -> str:
    """Step 1: what do you come for? Only products with a free time coming up."""
    return render_template("booking/products.html", products=_bookable_products(), step=1)


@bp.get("/<product_code>")
@limiter.limit(public_limit)
def stops(product_code: str) -> str:
    """Step 2: where and when: the coming stops with free times for this product."""
    product = _product(product_code)
    return render_template(
        "booking/stops.html", product=product, choices=_stop_choices(product), step=2
    )


@bp.get("/<product_code>/<int:stop_id>")
@limiter.limit(public_limit)
def slots(product_code: str, stop_id: int) -> str:
    """Step 3: the free times of one stop, grouped by part of the day."""
    product = _product(product_code)
    stop = _stop_for(product, stop_id)
    free = appointment_service().free_slots(product, stop=stop, limit=SLOTS_AHEAD)
    day_parts, several_days = _day_parts(free)
    return render_template(
        "booking/slots.html",
        product=product,
        stop=stop,
        day_parts=day_parts,
        several_days=several_days,
        step=3,
    )


@bp.route("/<product_code>/<int:stop_id>/<int:slot_id>", methods=["GET", "POST"])
@limiter.limit(public_limit, methods=["GET"])
@limiter.limit(book_limit, methods=["POST"])
def details(product_code: str, stop_id: int, slot_id: int) -> str | tuple[str, int] | Response:
    """Step 4: a summary of the chosen time, an optional name and e-mail, and confirm."""
    appointments = appointment_service()
    product = _product(product_code)
    stop = _stop_for(product, stop_id)
    slot = _slot_for(product, stop, slot_id)
    _still_free(appointments, slot)
    name = request.form.get("name", "").strip()
    email = request.form.get("email", "").strip()
    # A mobile number for a text message the day before: asked only when SMS can be sent.
    sms = Channel.SMS in offered_channels()
    phone = request.form.get("phone", "").strip() if sms else ""
    errors = _contact_errors(name, email) if request.method == "POST" else {}
    if request.method == "POST" and phone:
        try:
            phone = normalise_phone(phone)
        except InvalidAddress:
            errors["phone"] = _("Dit is geen mobiel nummer. Vul een nummer in zoals 06 12345678.")
    if request.method == "POST" and not errors:
        appointment = appointments.book(
            slot.id,
            product_code=product.code,
            name=name or None,
            email=email or None,
            phone=phone or None,
            language=current_language(),
            actor=current_principal().actor,
        )
        after_booking(appointment)
        flash(_("Uw afspraak is gemaakt."))
        if appointment.email and current_app.config.get("SMTP_HOST"):
            flash(_("We sturen een bevestiging naar %(email)s.", email=appointment.email))
        return redirect(url_for("appointment.show", token=appointment.token))
    page = render_template(
        "booking/details.html",
        product=product,
        stop=stop,
        slot=slot,
        name=name,
        email=email,
        phone=phone,
        sms=sms,
        errors=errors,
        name_max=NAME_MAX,
        retention_days=setting("RETENTION_DAYS"),
        step=4,
    )
    return (page, 422) if errors else page


# -- refusals: one friendly page each, with the way back --------------------------------------


def _way_back(error: Exception | None = None) -> tuple[str, str]:
    """The step before the one that failed: (url, link text)."""
    args: dict[str, Any] = request.view_args or {}
    if isinstance(error, UnknownProduct | NotBookable) or "product_code" not in args:
        return url_for("booking.products"), _("Kies waarvoor u komt")
    if isinstance(error, UnknownStop) or "stop_id" not in args:
        return url_for("booking.stops", product_code=args["product_code"]), _(
            "Kies een andere plek"
        )
    return (
        url_for("booking.slots", product_code=args["product_code"], stop_id=args["stop_id"]),
        _("Kies een andere tijd"),
    )


def _refusal(error: DomainError) -> tuple[str, str]:
    """Title and text for a resident, in plain words."""
    if isinstance(error, SlotFull):
        return _("Deze tijd is niet meer vrij"), _(
            "Iemand anders heeft deze tijd net gekozen. Kies een andere tijd."
        )
    if isinstance(error, SlotPast):
        return _("Deze tijd is voorbij"), _(
            "Deze tijd is al begonnen of voorbij. Kies een andere tijd."
        )
    if isinstance(error, UnknownProduct | NotBookable):
        return _("Geen afspraak mogelijk"), _(
            "Hiervoor kunt u hier geen afspraak maken. Kies iets anders uit de lijst."
        )
    if isinstance(error, UnknownStop):
        return _("Plek niet gevonden"), _(
            "Deze plek kennen we niet, of u kunt daar geen afspraak maken voor dit product."
        )
    if isinstance(error, UnknownSlot):
        return _("Tijd niet gevonden"), _("Deze tijd kennen we niet. Kies een tijd uit de lijst.")
    return _("Dat lukte niet"), _("Uw afspraak is niet gemaakt. Probeer het opnieuw.")


def _message(status: int, title: str, text: str, back: tuple[str, str]) -> tuple[str, int]:
    back_url, back_label = back
    page = render_template(
        "booking/message.html", title=title, text=text, back_url=back_url, back_label=back_label
    )
    return page, status


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> tuple[str, int]:
    title, text = _refusal(error)
    status = 404 if isinstance(error, NotFound | NotBookable) else error.status
    return _message(status, title, text, _way_back(error))


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(error: RateLimitExceeded) -> tuple[str, int]:
    text = _(
        "Er zijn in korte tijd veel afspraken gemaakt vanaf uw internetverbinding. "
        "Wacht een paar minuten en probeer het dan opnieuw."
    )
    return _message(429, _("Even geduld"), text, (request.path, _("Probeer het opnieuw")))


@bp.errorhandler(CSRFError)
def _form_expired(error: CSRFError) -> tuple[str, int]:
    text = _("Uw afspraak is nog niet gemaakt. Open het formulier opnieuw en probeer het nog eens.")
    return _message(
        400, _("Het formulier is verlopen"), text, (request.path, _("Open het formulier opnieuw"))
    )
