"""A booked appointment's private page, reached by its secret link (the QR code of the
confirmation, the booking slip and the e-mail): what, when, where and what to bring; the
calendar file; moving to another time; cancelling; and, after check-in, the turn live as on a
ticket's status page.

Moving and cancelling work without JavaScript, each with a step that asks first:

    /a/<token>/reschedule[?stop=]   free times here (or at another stop) -> choose one
    /a/<token>/reschedule/<slot>    old and new time side by side -> POST: moved, or the free
                                    times again with why (taken meanwhile: nothing changed)
    /a/<token>/cancel               "are you sure?" -> POST: cancelled

The page shows no name and no e-mail: whoever holds the link sees it, and the link is also a QR
code on the kiosk's screen and on a paper slip (seen over a shoulder, left on the bus). What the
resident needs (what, when, where, the code) identifies nobody; staff see the name at the desk.
"""

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

from kiosk.auth import current_principal
from kiosk.extensions import book_limit, limiter, public_limit
from kiosk.factories import appointment_service, queue_service, setting
from kiosk.mail import after_reschedule
from kiosk.models import Appointment, AppointmentStatus, Slot
from kiosk.payloads import ticket_status_payload
from kiosk.qrcodes import qr_svg
from kiosk.services.appointments import (
    AppointmentClosed,
    NotBookable,
    SlotFull,
    SlotPast,
    UnknownAppointment,
    UnknownSlot,
)
from kiosk.services.errors import DomainError
from kiosk.urls import appointment_url, requested_language

bp = Blueprint("appointment", __name__)


def _with_appointment(view: Callable[..., Any]) -> Callable[..., Any]:
    """Look the token up once: the view gets the appointment, an unknown token a friendly 404."""

    @wraps(view)
    def wrapped(token: str, **args: Any) -> Any:
        try:
            found = appointment_service().by_token(token)
        except UnknownAppointment:
            return render_template("appointment/unknown.html"), 404
        return view(found, token, **args)

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
        movable=_movable(found),
    )


@bp.get("/a/<token>/cancel")
@limiter.limit(public_limit)
@_with_appointment
def confirm_cancel(found: Appointment, token: str) -> str | BaseResponse:
    """Asks first: cancelling gives the place away, and a tap can slip."""
    if found.status is not AppointmentStatus.BOOKED:
        flash(_("Deze afspraak kunt u niet meer afzeggen."))
        return redirect(url_for("appointment.show", token=token))
    return render_template("appointment/cancel.html", appointment=found, token=token)


@bp.post("/a/<token>/cancel")
@limiter.limit(public_limit)
@_with_appointment
def cancel(found: Appointment, token: str) -> BaseResponse:
    """Cancel (the form of the step that asks first, with CSRF); the place is free again."""
    try:
        appointment_service().cancel(token, actor=current_principal().actor)
    except DomainError:
        flash(_("Deze afspraak kunt u niet meer afzeggen."))
    else:
        flash(_("Uw afspraak is afgezegd. De tijd is weer vrij voor iemand anders."))
    return redirect(url_for("appointment.show", token=token))


# -- moving to another time --------------------------------------------------------------------

# How many other stops the choice lists, and how far ahead it looks (free slots, soonest first).
OTHER_STOPS = 8
SLOTS_AHEAD = 500


def _movable(found: Appointment) -> bool:
    """Booked and its time still ahead: only then can it move (the service checks again)."""
    return (
        found.status is AppointmentStatus.BOOKED
        and found.slot.starts_at > appointment_service().now()
    )


def _not_movable(token: str) -> BaseResponse:
    flash(_("Deze afspraak kunt u niet meer verzetten."))
    return redirect(url_for("appointment.show", token=token))


def _times_page(found: Appointment, token: str, stop_id: int, problem: str | None = None) -> str:
    """The free times of the product at stop `stop_id` (the appointment's own stop by default)
    and the other stops with free times; `problem` says why a chosen time did not work."""
    appointments = appointment_service()
    by_stop = appointments.other_times(found.product, exclude=found.slot_id, limit=SLOTS_AHEAD)
    if stop_id not in by_stop:  # no free time left there (or no such stop): its own stop's
        stop_id = found.stop_id
    here = by_stop.get(stop_id, [])
    stop = here[0].stop if here else found.stop
    others = [(slots[0], len(slots)) for sid, slots in by_stop.items() if sid != stop_id]
    return render_template(
        "appointment/reschedule.html",
        appointment=found,
        token=token,
        stop=stop,
        groups=appointments.by_day_part(here),
        others=others[:OTHER_STOPS],
        problem=problem,
    )


def _refusal(error: DomainError) -> str:
    """Why a chosen time did not work, in plain words; the appointment is unchanged."""
    if isinstance(error, SlotFull):
        return _(
            "Iemand anders heeft deze tijd net gekozen. Uw afspraak is niet veranderd. "
            "Kies een andere tijd."
        )
    if isinstance(error, SlotPast):
        return _("Deze tijd is al voorbij. Uw afspraak is niet veranderd. Kies een andere tijd.")
    return _("Deze tijd kunt u niet kiezen. Uw afspraak is niet veranderd. Kies een andere tijd.")


@bp.get("/a/<token>/reschedule")
@limiter.limit(public_limit)
@_with_appointment
def reschedule(found: Appointment, token: str) -> str | BaseResponse:
    """Step 1 of moving: the free times at the same stop (``?stop=``: another one), and the
    other stops with free times for the same product."""
    if not _movable(found):
        return _not_movable(token)
    stop_id = request.args.get("stop", type=int) or found.stop_id
    return _times_page(found, token, stop_id)


def _chosen_slot(found: Appointment, slot_id: int) -> Slot:
    """The slot a resident chose: one of this appointment's product, else `UnknownSlot`."""
    slot = appointment_service().slot(slot_id)
    if slot.product_id != found.product_id:
        raise UnknownSlot()
    return slot


@bp.route("/a/<token>/reschedule/<int:slot_id>", methods=["GET", "POST"])
@limiter.limit(public_limit, methods=["GET"])
@limiter.limit(book_limit, methods=["POST"])
@_with_appointment
def reschedule_to(found: Appointment, token: str, slot_id: int) -> str | tuple[str, int] | Any:
    """Step 2: the old and the new time side by side, then move (a form with CSRF). A time
    taken meanwhile shows the free times again with why; the appointment is then unchanged."""
    if not _movable(found):
        return _not_movable(token)
    appointments = appointment_service()
    try:
        slot = _chosen_slot(found, slot_id)
    except UnknownSlot:
        return render_template("appointment/unknown_time.html", token=token), 404
    if request.method == "GET":
        problem: DomainError | None = None
        if slot.id == found.slot_id:
            return redirect(url_for("appointment.show", token=token))
        if slot.starts_at <= appointments.now():
            problem = SlotPast()
        elif slot.free <= 0:
            problem = SlotFull(slot=slot.id)
        if problem is not None:
            return _times_page(found, token, slot.stop_id, _refusal(problem)), 409
        return render_template(
            "appointment/reschedule_confirm.html", appointment=found, token=token, slot=slot
        )
    try:
        result = appointments.reschedule(token, slot.id, actor=current_principal().actor)
    except AppointmentClosed:
        return _not_movable(token)
    except (SlotFull, SlotPast, NotBookable) as error:
        again = appointments.by_token(token)
        return _times_page(again, token, slot.stop_id, _refusal(error)), error.status
    moved = result.appointment
    if not result.moved:  # sent twice: the first one moved it
        return redirect(url_for("appointment.show", token=token))
    after_reschedule(moved, appointments.revision(moved))
    flash(_("Uw afspraak is verzet. Uw code en deze link blijven hetzelfde."))
    if moved.email and current_app.config.get("SMTP_HOST"):
        flash(_("We sturen een bevestiging naar %(email)s.", email=moved.email))
    return redirect(url_for("appointment.show", token=token))


# -- files and codes ---------------------------------------------------------------------------


@bp.get("/a/<token>.ics")
@limiter.limit(public_limit)
@_with_appointment
def ics_file(found: Appointment, token: str) -> Response:
    """The appointment for a calendar app: a moved appointment's file has a higher SEQUENCE,
    so the app moves its entry instead of adding a second one."""
    from kiosk.ical import appointment_ics  # icalendar (~3 MB) loads on first use

    url = appointment_url(token)
    appointments = appointment_service()
    text = appointment_ics(
        found, url, revision=appointments.revision(found), stamp=appointments.now()
    )
    response = Response(text, mimetype="text/calendar")
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
