"""Public pages: the ticket status page that a printed QR code opens."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from kiosk.extensions import limiter, queue_service
from kiosk.payloads import ticket_status_payload
from kiosk.services.errors import UnknownTicket

bp = Blueprint("display", __name__)


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


@bp.get("/t/<token>")
@limiter.limit(_public_limit)
def ticket_status(token: str) -> tuple[str, int] | str:
    """A ticket's own page: number, place in the queue, and where to go when called."""
    queue = queue_service()
    try:
        ticket = queue.ticket(token)
    except UnknownTicket:
        return render_template("display/ticket_unknown.html"), 404
    status = ticket_status_payload(ticket, queue.position(ticket))
    return render_template("display/ticket.html", ticket=status, token=token)
