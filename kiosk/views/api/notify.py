"""Messages for a ticket: "almost your turn" and "you are called" by SMS, e-mail or Web Push.
Public: the ticket's token is the key (as for its status page)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from kiosk.auth import current_principal
from kiosk.extensions import configured_limit, limiter, public_limit
from kiosk.factories import message_service, queue_service
from kiosk.i18n import current_language
from kiosk.messaging import offered_channels, vapid_keys
from kiosk.models import Channel
from kiosk.views.api.base import bp, doc_errors
from kiosk.views.api.schemas import NotifyRequest, NotifyStateSchema, NotifyStopRequest

_CHANNEL_OF = {"phone": Channel.SMS, "email": Channel.EMAIL, "push": Channel.PUSH}


def _ticket_key() -> str:
    """Per ticket, not per address: the phones on a bus's Wi-Fi share one address."""
    return f"notify:{(request.view_args or {}).get('token', '')}"


notify_limit = configured_limit("RATELIMIT_NOTIFY")


@bp.get("/tickets/<string:token>/notify")
@limiter.limit(public_limit)
@bp.response(200, NotifyStateSchema)
@doc_errors(404)
def notify_state(token: str) -> dict[str, Any]:
    """Which channels this ticket gets messages by, and which are offered."""
    ticket = queue_service().ticket(token)
    keys = vapid_keys()
    return {
        "channels": [c.value for c in message_service().channels(ticket)],
        "offered": [c.value for c in Channel if c in offered_channels()],
        "push_key": keys.application_server_key if keys is not None else None,
        "ahead": int(current_app.config["NOTIFY_AHEAD"]),
    }


@bp.post("/tickets/<string:token>/notify")
@limiter.limit(public_limit)
@limiter.limit(notify_limit, key_func=_ticket_key)
@bp.arguments(NotifyRequest)
@bp.response(204)
@doc_errors(404, 409, 422)
def notify_subscribe(body: dict[str, Any], token: str) -> None:
    """Send this ticket's messages to a phone, an e-mail address or a browser (push).

    409 ``channel_not_offered`` (no NotifyNL configured) or ``ticket_ended``; 422
    ``invalid_address``.
    """
    ticket = queue_service().ticket(token)
    field = next(key for key in ("phone", "email", "push") if key in body)
    message_service().subscribe(
        ticket,
        _CHANNEL_OF[field],
        body[field],
        language=body.get("language") or current_language(),
        actor=current_principal().actor,
    )


@bp.delete("/tickets/<string:token>/notify")
@limiter.limit(public_limit)
@limiter.limit(notify_limit, key_func=_ticket_key)
@bp.arguments(NotifyStopRequest, required=False)
@bp.response(204)
@doc_errors(404, 422)
def notify_unsubscribe(body: dict[str, Any] | None, token: str) -> None:
    """Stop this ticket's messages: one channel (``channel``, or the key sent to subscribe),
    or every channel without a body."""
    ticket = queue_service().ticket(token)
    body = body or {}
    channel = None
    if "channel" in body:
        channel = Channel(body["channel"])
    else:
        channel = next((_CHANNEL_OF[key] for key in _CHANNEL_OF if key in body), None)
    message_service().unsubscribe(ticket, channel, actor=current_principal().actor)
