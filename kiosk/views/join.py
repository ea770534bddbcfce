"""Join the queue from a phone (/join/<code>): the board shows a QR code that changes every
minute; scanning it opens this page, where a resident picks a product and gets a ticket on the
phone (no slip), under the kiosk's rules, and lands on the ticket's status page.

- The code (kiosk.services.join) is valid for two minutes: only someone who sees the board can
  join. The product page carries a signed pass (stop and a random key, valid `PASS_SECONDS`),
  so a resident who takes a while to choose is not refused, and a double tap on that page
  sends the same key: one ticket (`QueueService.issue_on_phone`).
- A signed cookie remembers the phone's ticket at this stop: while it waits, scanning again
  shows that ticket instead of making a second one.
- Tickets made are limited per client address (`RATELIMIT_JOIN`); each stop can switch joining
  off (`Stop.phone_join`, admin and API).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from kiosk.extensions import limiter, public_limit
from kiosk.factories import queue_service
from kiosk.models import Stop, Ticket, TicketStatus
from kiosk.services.base import Actor
from kiosk.services.errors import DomainError, NotFound, UnknownTicket
from kiosk.services.join import check_join_code

bp = Blueprint("join", __name__, url_prefix="/join")

# How long the product page's pass lets a resident choose.
PASS_SECONDS = 15 * 60
# The phone's ticket at a stop, remembered for about a stop's day.
COOKIE = "loket_joined"
COOKIE_SECONDS = 14 * 3600
# The event log's actor: a resident on their phone. No address is kept with it.
PHONE = Actor("public", None, "phone")
LIVE = (TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING)

REFUSALS = {
    "stop_closed": lambda: _("Het loket is nu gesloten. U kunt geen nummer meer trekken."),
    "product_not_offered": lambda: _("Dit kunt u hier vandaag niet regelen."),
    "appointment_required": lambda: _("Hiervoor heeft u een afspraak nodig."),
    "unknown_product": lambda: _("Dit kunt u hier vandaag niet regelen."),
}


def _secret() -> bytes:
    key = current_app.secret_key or ""
    return key if isinstance(key, bytes) else str(key).encode()


def _signer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(), salt=salt)


def _join_limit() -> str:
    return str(current_app.config["RATELIMIT_JOIN"])


def _ticket_made(_response: Response) -> bool:
    """Only a ticket made counts against the phone's address (not a refusal, not a replay)."""
    return bool(g.get("join_ticket_made"))


def _message(title: str, text: str, status: int) -> tuple[str, int]:
    return render_template("join/message.html", title=title, message=text), status


def _expired() -> tuple[str, int]:
    return _message(
        _("De code is verlopen"),
        _("Deze code is verlopen. Scan de code op het scherm opnieuw."),
        410,
    )


def _stop_of(stop_id: int | None) -> Stop | None:
    if stop_id is None:
        return None
    try:
        return queue_service().stop(stop_id)
    except NotFound:
        return None


def _remembered(stop: Stop) -> Ticket | None:
    """The ticket this phone took at this stop, while it is still in the queue."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _signer("join-ticket").loads(raw, max_age=COOKIE_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("s") != stop.id:
        return None
    try:
        ticket = queue_service().ticket(str(data.get("t", "")))
    except UnknownTicket:
        return None
    return ticket if ticket.stop_id == stop.id and ticket.status in LIVE else None


def _refusal(stop: Stop) -> tuple[str, int] | None:
    """Why this stop takes no ticket from a phone now, as a page; None if it does."""
    if not stop.phone_join:
        return _message(
            _("Nummer trekken met uw telefoon kan hier niet"),
            _("Trek hier een nummer bij de kiosk. Vraag het gerust aan een medewerker."),
            403,
        )
    if not stop.accepts_walk_ins(queue_service().now()):
        return _message(
            _("Het loket is gesloten"),
            _("Het loket is nu gesloten. U kunt geen nummer meer trekken."),
            409,
        )
    return None


def _show_ticket(ticket: Ticket) -> Response:
    flash(_("U heeft al een nummer. U ziet het hieronder."))
    return redirect(url_for("display.ticket_status", token=ticket.token), 303)


@bp.get("/<code>")
@limiter.limit(public_limit)
def products(code: str) -> Response | tuple[str, int]:
    """The products offered here now, one large button each."""
    stop = _stop_of(check_join_code(_secret(), code, queue_service().now()))
    if stop is None:
        return _expired()
    if (ticket := _remembered(stop)) is not None:
        return _show_ticket(ticket)
    if (refused := _refusal(stop)) is not None:
        return refused
    walk_in = [p for p in stop.products if p.walk_in and not p.appointment_required]
    key = secrets.token_urlsafe(16)
    form_pass = _signer("join-pass").dumps({"s": stop.id, "k": key})
    page = render_template("join/products.html", stop=stop, products=walk_in, form_pass=form_pass)
    return page, 200


@bp.post("/<code>")
@limiter.limit(public_limit)
@limiter.limit(_join_limit, deduct_when=_ticket_made)
def take(code: str) -> Response | tuple[str, int]:
    """A product button: the ticket, then its status page (post/redirect/get)."""
    try:
        data: Any = _signer("join-pass").loads(request.form.get("pass", ""), max_age=PASS_SECONDS)
        stop_id, key = int(data["s"]), str(data["k"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return _expired()
    stop = _stop_of(stop_id)
    if stop is None:
        return _expired()
    if (ticket := _remembered(stop)) is not None:
        return _show_ticket(ticket)
    if (refused := _refusal(stop)) is not None:
        return refused
    product = request.form.get("product", "")[:40]
    try:
        issued = queue_service().issue_on_phone(stop, product, key=key, actor=PHONE)
    except DomainError as error:
        message = REFUSALS.get(error.code, lambda: _("Dat lukte niet. Probeer het opnieuw."))()
        return _message(_("Dat lukte niet"), message, 409)
    g.join_ticket_made = not issued.replayed
    response = redirect(url_for("display.ticket_status", token=issued.ticket.token), 303)
    response.set_cookie(
        COOKIE,
        _signer("join-ticket").dumps({"s": stop.id, "t": issued.ticket.token}),
        max_age=COOKIE_SECONDS,
        path=request.script_root + (bp.url_prefix or ""),
        secure=bool(current_app.config.get("HTTPS")),
        httponly=True,
        samesite="Lax",
    )
    return response
