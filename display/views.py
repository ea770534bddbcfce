"""Public screens that show the queue: the display board, and a ticket's status page (the QR
target of its slip) with its QR code; kept live by display/events.py. The status page's holder
may also leave the queue ("Ik ga weg") and, once helped, answer the one-tap questions
(kiosk.services.feedback); everything else here only reads."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from kiosk.auth import current_principal
from kiosk.extensions import configured_limit, limiter, public_limit
from kiosk.factories import (
    announcement_service,
    feedback_service,
    queue_service,
    tour_service,
)
from kiosk.models import DeviceKind, Location, Role, Stop
from kiosk.payloads import ticket_status_payload
from kiosk.qrcodes import qr_svg
from kiosk.services.errors import DomainError, NoOpenStop, UnknownTicket
from kiosk.services.feedback import FeedbackService
from kiosk.services.join import join_code, seconds_left
from kiosk.services.queue import ALLOWED_FROM
from kiosk.urls import public_url, requested_language, ticket_url

bp = Blueprint("display", __name__)


@bp.get("/t/<token>")
@limiter.limit(public_limit)
def ticket_status(token: str) -> tuple[str, int] | str:
    """A ticket's own page: number, place in the queue, and where to go when called; "Ik ga
    weg" while it waits, and the one-tap questions once it is finished."""
    found = _status_and_actions(token)
    if found is None:
        return render_template("display/ticket_unknown.html"), 404
    status, actions = found
    return render_template("display/ticket.html", ticket=status, token=token, actions=actions)


def _status_and_actions(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The status payload of the ticket with this token and what its holder can do on the
    page (leave the queue, or answer the questions); None if there is no such ticket."""
    queue = queue_service()
    try:
        ticket = queue.ticket(token)
    except UnknownTicket:
        return None
    questions = FeedbackService.open_questions(ticket)
    actions = {
        "token": token,
        "leave": ticket.status in ALLOWED_FROM["cancel"],
        "rate": questions.rate,
        "wish": questions.wish,
        "products": feedback_service().wishable() if questions.wish else [],
    }
    return ticket_status_payload(ticket, queue.position(ticket)), actions


@bp.post("/t/<token>/leave")
@limiter.limit(public_limit)
def leave(token: str) -> ResponseReturnValue:
    """ "Ik ga weg" without a script: first the question "Weet u het zeker?", then the ticket
    leaves the queue and the page says so."""
    queue = queue_service()
    try:
        ticket = queue.ticket(token)
    except UnknownTicket:
        return render_template("display/ticket_unknown.html"), 404
    if ticket.status not in ALLOWED_FROM["cancel"]:
        flash(_("Dit nummer staat niet meer in de wachtrij."))
        return redirect(url_for("display.ticket_status", token=token), 303)
    if request.form.get("confirm") != "yes":
        status = ticket_status_payload(ticket, queue.position(ticket))
        return render_template("display/leave.html", ticket=status, token=token)
    try:
        queue.leave(ticket, actor=current_principal().actor)
    except DomainError:
        flash(_("Dit nummer staat niet meer in de wachtrij."))
        return redirect(url_for("display.ticket_status", token=token), 303)
    flash(_("U staat niet meer in de wachtrij. Uw nummer is vervallen."))
    return redirect(url_for("display.ticket_status", token=token), 303)


@bp.post("/t/<token>/feedback")
@limiter.limit(public_limit)
def feedback(token: str) -> ResponseReturnValue:
    """The one-tap questions without a script: a face, or a product (or skip); then the page."""
    try:
        ticket = queue_service().ticket(token)
    except UnknownTicket:
        return render_template("display/ticket_unknown.html"), 404
    service = feedback_service()
    try:
        if "rating" in request.form:
            service.rate(ticket, request.form.get("rating", "")[:2])
        elif "wish" in request.form:
            service.wish(ticket, request.form.get("wish", "")[:40] or None)
        flash(_("Bedankt voor uw antwoord."))
    except DomainError:
        flash(_("Dit antwoord hebben wij al, of het kan niet meer. Bedankt!"))
    return redirect(url_for("display.ticket_status", token=token, _anchor="feedback"), 303)


def _token_key() -> str:
    return f"ticket:{(request.view_args or {}).get('token', '')}"


@bp.get("/t/<token>/live")
@limiter.limit(configured_limit("RATELIMIT_TICKET_LIVE"), key_func=_token_key)
def ticket_live(token: str) -> tuple[str, int] | str:
    """The changing part of the status page, asked for by its script when something moved.

    Limited per ticket, not per address: the phones on a bus's Wi-Fi share one address.
    """
    found = _status_and_actions(token)
    if found is None:
        return render_template("display/ticket_unknown.html"), 404
    status, actions = found
    return render_template("display/_ticket_status.html", ticket=status, actions=actions)


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


# The most coming dates the board lists under one place's name.
DATES_PER_PLACE = 3


def _next_places(stop: Stop | None, places: int) -> list[tuple[Location, list[Stop]]]:
    """The coming stops of the tour without the one on the screen, grouped by place: each
    place once (soonest first) with its next dates, so one name is not repeated four times."""
    upcoming = tour_service().next_stops(limit=places * DATES_PER_PLACE + 1)
    grouped: dict[int, tuple[Location, list[Stop]]] = {}
    for coming in upcoming:
        if stop is not None and coming.id == stop.id:
            continue
        if coming.location_id not in grouped:
            if len(grouped) >= places:
                continue
            grouped[coming.location_id] = (coming.location, [])
        dates = grouped[coming.location_id][1]
        if len(dates) < DATES_PER_PLACE:
            dates.append(coming)
    return list(grouped.values())


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
        next_places=_next_places(stop, config["DISPLAY_NEXT_STOPS"]),
        join_qr=stop is not None and _may_show_join_code(),
        now=config["CLOCK"](),
    )


# -- the rotating join QR code ------------------------------------------------------------------


def _may_show_join_code() -> bool:
    """Only a paired board (or staff looking at one) gets join codes: a code is meant for those
    who see the board in the waiting room, so an anonymous page may not fetch them."""
    principal = current_principal()
    if principal.device is not None:
        return principal.device.kind == DeviceKind.BOARD
    return principal.user is not None and principal.user.has_role(Role.STAFF)


def _secret() -> bytes:
    key = current_app.config["SECRET_KEY"]
    return key if isinstance(key, bytes) else str(key).encode()


def _join_url(code: str) -> str:
    """The public address a join code opens (/join/<code>, the phone's page)."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule.startswith("/join/<") and len(rule.arguments) == 1:
            (name,) = rule.arguments
            return public_url(rule.endpoint, **{name: code})
    board = public_url("display.board")  # the phone's page is not registered (yet)
    return f"{board.removesuffix('/board')}/join/{code}"


def _json(body: dict[str, Any], status: int = 200) -> tuple[Response, int]:
    response = jsonify(body)
    # A code that is kept anywhere (the browser, the service worker, a proxy) goes stale.
    response.headers["Cache-Control"] = "no-store"
    return response, status


@bp.get("/board/join-qr")
@limiter.limit(public_limit)
def board_join_qr() -> tuple[Response, int]:
    """The QR code a paired board shows for taking a ticket on a phone: ``{"shown", "url",
    "svg", "seconds_left"}``; not shown while the stop is closed or its phone join is off.
    The board asks again when `seconds_left` has passed (a code is valid two minutes)."""
    try:
        allowed = _may_show_join_code()
        stop, _asked = _board_stop()
    except DomainError as error:
        return _json({"error": {"code": error.code, "message": error.message}}, error.status)
    if not allowed:
        message = "Only a paired board shows join codes."
        return _json({"error": {"code": "forbidden", "message": message}}, 403)
    now = current_app.config["CLOCK"]()
    body: dict[str, Any] = {
        "stop": stop.id if stop else None,
        "shown": False,
        "url": None,
        "svg": None,
        "seconds_left": round(seconds_left(now), 3),
    }
    if stop is not None and stop.phone_join and stop.accepts_walk_ins(now):
        url = _join_url(join_code(_secret(), stop.id, now))
        body.update(shown=True, url=url, svg=qr_svg(url).get_data(as_text=True))
    return _json(body)
