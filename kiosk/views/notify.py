"""A ticket's status page asks for "almost your turn" messages without script: the phone and
e-mail forms post here (CSRF) and come back to the page with a friendly line. The browser push
button needs script (static/js/notify.js, through the API) and the push worker served here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.auth import current_principal
from kiosk.extensions import configured_limit, limiter, public_limit
from kiosk.factories import message_service, queue_service
from kiosk.i18n import current_language
from kiosk.messaging import offered_channels, vapid_keys
from kiosk.models import Channel, TicketStatus
from kiosk.services.errors import DomainError, UnknownTicket
from kiosk.services.messages import ChannelNotOffered, InvalidAddress, TicketEnded

bp = Blueprint("notify", __name__)

_FIELDS = {Channel.SMS: "phone", Channel.EMAIL: "email"}


def _ticket_key() -> str:
    return f"notify:{(request.view_args or {}).get('token', '')}"


def _back(token: str) -> Response:
    return redirect(url_for("display.ticket_status", token=token, _anchor="notify"))


def _refusal(error: DomainError, channel: Channel) -> str:
    """The friendly line for a refused request."""
    if isinstance(error, InvalidAddress):
        if channel == Channel.SMS:
            return _("Dit is geen mobiel nummer. Vul een nummer in zoals 06 12345678.")
        return _("Dit is geen e-mailadres. Vul een adres in zoals naam@voorbeeld.nl.")
    if isinstance(error, ChannelNotOffered):
        return _("Berichten op deze manier zijn hier niet mogelijk.")
    if isinstance(error, TicketEnded):
        return _("Dit nummer wacht niet meer in de rij. Een bericht is niet meer nodig.")
    return _("Het lukte niet. Probeer het opnieuw.")


@bp.post("/t/<token>/notify")
@limiter.limit(public_limit)
@limiter.limit(configured_limit("RATELIMIT_NOTIFY"), key_func=_ticket_key)
def subscribe(token: str) -> Response:
    """The status page's phone or e-mail form (works without script)."""
    try:
        ticket = queue_service().ticket(token)
    except UnknownTicket:
        return redirect(url_for("display.ticket_status", token=token))
    try:
        channel = Channel(request.form.get("channel", ""))
    except ValueError:
        channel = Channel.SMS
    address = request.form.get(_FIELDS.get(channel, "phone"), "")
    try:
        if channel == Channel.PUSH:
            raise InvalidAddress()
        message_service().subscribe(
            ticket, channel, address, language=current_language(), actor=current_principal().actor
        )
    except DomainError as error:
        flash(_refusal(error, channel))
        return _back(token)
    flash(_("Gelukt. U krijgt een bericht als u bijna aan de beurt bent."))
    return _back(token)


@bp.post("/t/<token>/notify/stop")
@limiter.limit(public_limit)
@limiter.limit(configured_limit("RATELIMIT_NOTIFY"), key_func=_ticket_key)
def unsubscribe(token: str) -> Response:
    """Stop one channel's messages (or all, without a channel)."""
    try:
        ticket = queue_service().ticket(token)
    except UnknownTicket:
        return redirect(url_for("display.ticket_status", token=token))
    try:
        channel: Channel | None = Channel(request.form.get("channel", ""))
    except ValueError:
        channel = None
    message_service().unsubscribe(ticket, channel, actor=current_principal().actor)
    flash(_("U krijgt geen berichten meer over dit nummer."))
    return _back(token)


@bp.get("/t/push/worker.js")
@limiter.limit(public_limit)
def push_worker() -> Response:
    """The push worker: shows a message the server pushes. Its scope (/t/push/) holds no page,
    so it never takes the status page from the offline worker (/sw.js)."""
    script = Path(current_app.static_folder or "", "js", "push-worker.js").read_bytes()
    response = make_response(script)
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    return response


def notify_panel(token: str) -> dict[str, Any] | None:
    """What the status page's message panel shows; None when the ticket no longer waits."""
    try:
        ticket = queue_service().ticket(token)
    except UnknownTicket:
        return None
    if ticket.status != TicketStatus.WAITING:
        return None
    offered = offered_channels()
    keys = vapid_keys() if Channel.PUSH in offered else None
    return {
        "offered": [c.value for c in Channel if c in offered],
        "channels": [c.value for c in message_service().channels(ticket)],
        "push_key": keys.application_server_key if keys is not None else "",
        "api": url_for("api.notify_subscribe", token=token),
        "worker": url_for("notify.push_worker"),
    }


@bp.app_context_processor
def _panel() -> dict[str, Any]:
    return {"notify_panel": notify_panel}
