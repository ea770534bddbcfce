"""Public screens that show the queue: the display board, and a ticket's status page (the QR
target of its slip) with its QR code. Read-only; kept live by display/events.py."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from kiosk.auth import current_principal
from kiosk.extensions import configured_limit, limiter, public_limit
from kiosk.factories import announcement_service, queue_service, tour_service
from kiosk.models import DeviceKind, Stop
from kiosk.payloads import ticket_status_payload
from kiosk.qrcodes import qr_svg
from kiosk.services.errors import DomainError, NoOpenStop, UnknownTicket
from kiosk.urls import requested_language, ticket_url

bp = Blueprint("display", __name__)


@bp.get("/t/<token>")
@limiter.limit(public_limit)
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
@limiter.limit(configured_limit("RATELIMIT_TICKET_LIVE"), key_func=_token_key)
def ticket_live(token: str) -> tuple[str, int] | str:
    """The changing part of the status page, asked for by its script when something moved.

    Limited per ticket, not per address: the phones on a bus's Wi-Fi share one address.
    """
    status = _ticket_status(token)
    if status is None:
        return render_template("display/ticket_unknown.html"), 404
    return render_template("display/_ticket_status.html", ticket=status)


@bp.get("/t/<token>/qr.svg")
@limiter.limit(public_limit)
def ticket_qr(token: str) -> Response | tuple[str, int]:
    """The QR code of a ticket's status page, as SVG (sharp at any size, no image library), in
    the language the kiosk shows (``?lang=``): the resident's phone opens the page in it."""
    try:
        queue_service().ticket(token)
    except UnknownTicket:
        return render_template("display/ticket_unknown.html"), 404
    return qr_svg(ticket_url(token, language=requested_language()))


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


def _second_announcement(stop: Stop | None) -> dict[str, str] | None:
    """The stop's second announcement language and its phrase, unless it is the page's own."""
    if stop is None:
        return None
    language = announcement_service().second_language(stop.id)
    if language is None or language == str(get_locale()):
        return None
    with force_locale(language):
        return {"lang": language, "say": _("Nummer {letter} {number}, {desk}")}


@bp.get("/board")
@limiter.limit(public_limit)
def board() -> str | tuple[str, int]:
    """The waiting-room screen: calls, waiting counts and the next stops, live."""
    try:
        stop, asked = _board_stop()
    except DomainError:
        message = _("Dit scherm hoort bij een loket dat niet bestaat. Vraag een medewerker.")
        return render_template("errors/error.html", status=404, message=message), 404
    config = current_app.config
    earlier = int(config["DISPLAY_EARLIER_CALLS"])
    return render_template(
        "display/board.html",
        stop=stop,
        also=_second_announcement(stop),
        # The socket subscribes to this stop only when the page asked for it; a paired or
        # following board lets the server choose again on every reconnect.
        live_stop=stop.id if stop is not None and asked else None,
        max_earlier=earlier,
        state=queue_service().board_state(stop, earlier=earlier) if stop else None,
        next_stops=_other_stops(stop, config["DISPLAY_NEXT_STOPS"]),
    )
